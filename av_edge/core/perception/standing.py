"""Static evidence from the points themselves: how much of a cluster lies where returns lay a moment ago.

A track's velocity comes from its anchor, and an anchor slides with the view: a parked car's face
grows, shrinks and fragments as the ego passes (dropout, occlusion by the car in front, the side
coming into view), and its track "crosses" at 2-4 m/s. Its returns, though, keep lying where
returns lay 0.3 s before, in odom. Something moving at walking pace has left its place by then
(1.4 m/s: 0.4 m, most of a walker's width); a child stepping out from behind a car lies where
nothing was seen. So the share of a cluster's returns that have an older return within a cell or
two says "standing": ~1 for a parked car's fragment, ~0 for anything that moved (or came into view)
in that time. It counts only where it explains the returns at least as well as the track's own
velocity does (the returns moved back by velocity x elapsed time): a long car crossing slowly
still overlaps its old place, but better where its velocity puts it. Its cost: a walker who has
just started lies mostly where he stood, so his first scan of motion is not yet believed.

The older scans are kept as occupancy grids over their returns' bounding box, on one lattice of
cells in odom (one ``cv2.dilate`` each, so a lookup is one index per return), for the newest scan
at least ``baseline_s`` old.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from av_edge.core.config import bounded

DILATE = np.ones((3, 3), dtype=np.uint8)  # a return "lies where one lay" within one cell each way
SAMPLES = 64  # returns of a cluster looked up, at least (every k-th of a larger one)


@dataclass(frozen=True)
class StandingConfig:
    baseline_s: float = bounded(
        0.05, 5.0, "s; returns are compared with the newest scan at least this old (walkers move 0.4 m in 0.3 s)"
    )
    cell_m: float = bounded(
        0.02, 1.0, "m; a return lies where one lay when one lay in its cell or a neighbouring one (1-2 cells)"
    )
    range_m: float = bounded(5.0, 500.0, "m; returns farther from the ego (either axis) carry no evidence")


@dataclass(frozen=True)
class _Grid:
    stamp_ns: int
    origin: tuple[int, int]  # the lattice cell (x, y) of the grid's column 0, row 0
    occupied: np.ndarray  # (rows = y, columns = x) uint8, dilated by a cell


class StandingCheck:
    """Per cluster, the share of its returns that lie where returns lay ``baseline_s`` before (odom)."""

    def __init__(self, config: StandingConfig) -> None:
        self.config = config
        self._grids: deque[_Grid] = deque()

    def update(
        self,
        xy_odom: np.ndarray,
        labels: np.ndarray,
        velocity: np.ndarray,
        centre: tuple[float, float],
        stamp_ns: int,
    ) -> np.ndarray:
        """``xy_odom`` (2, M) obstacle returns of the scan at ``stamp_ns`` (rows x, y), their cluster
        ``labels`` (-1 = none), each cluster's tracked odom ``velocity`` (K, 2) and the ego's odom
        position ``centre``: per cluster, the share (0..1) of its returns found where returns lay in
        the reference scan, where that explains them at least as well as its velocity does (returns
        found where they were, moved back by velocity x elapsed time); else 0, as while no scan is
        old enough.
        """
        while self._grids and self._grids[-1].stamp_ns >= stamp_ns:  # time went back (a replay restarted)
            self._grids.clear()
        n_clusters = velocity.shape[0]
        standing = np.zeros(n_clusters, dtype=np.float32)
        r = self.config.range_m
        x, y = xy_odom
        near = np.flatnonzero((np.abs(x - centre[0]) < r) & (np.abs(y - centre[1]) < r))
        cells = self._cells(x[near], y[near])  # one lattice in odom for every scan: cells compare as integers
        reference = self._reference(stamp_ns)
        if reference is not None and n_clusters > 0:
            near_labels = labels[near]
            mine = np.flatnonzero(near_labels >= 0)
            label = near_labels[mine]
            # A share needs no more than ~SAMPLES returns of a cluster: a near car's thousands are thinned.
            stride = np.maximum(np.bincount(label, minlength=n_clusters) // SAMPLES, 1)
            mine = mine[np.arange(mine.size) % stride[label] == 0]
            label, points = near_labels[mine], near[mine]
            elapsed = (stamp_ns - reference.stamp_ns) / 1e9
            counts = np.maximum(np.bincount(label, minlength=n_clusters), 1)
            found = self._found(reference, cells[0][mine], cells[1][mine])
            still = np.bincount(label, weights=found, minlength=n_clusters) / counts
            back = self._cells(x[points] - velocity[label, 0] * elapsed, y[points] - velocity[label, 1] * elapsed)
            moving = np.bincount(label, weights=self._found(reference, *back), minlength=n_clusters) / counts
            # Within a cell the two hypotheses are one: a velocity that small claims no motion.
            alike = np.hypot(velocity[:, 0], velocity[:, 1]) * elapsed < self.config.cell_m
            standing = np.where((still >= moving) | alike, still, 0.0).astype(np.float32)
        self._grids.append(self._grid(cells, stamp_ns))
        return standing

    def reset(self) -> None:
        """Forget the older scans (no odometry: returns cannot be placed in odom)."""
        self._grids.clear()

    def _reference(self, stamp_ns: int) -> _Grid | None:
        """The newest kept scan at least ``baseline_s`` old; older ones are let go."""
        oldest = stamp_ns - int(self.config.baseline_s * 1e9)
        while len(self._grids) > 1 and self._grids[1].stamp_ns <= oldest:
            self._grids.popleft()
        if self._grids and self._grids[0].stamp_ns <= oldest:
            return self._grids[0]
        return None

    def _cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scale = 1.0 / self.config.cell_m
        return np.floor(x * scale).astype(np.int64), np.floor(y * scale).astype(np.int64)

    @staticmethod
    def _found(reference: _Grid, cell_x: np.ndarray, cell_y: np.ndarray) -> np.ndarray:
        """Mask of the returns in lattice cells (``cell_x``, ``cell_y``) whose cell (or a neighbour)
        held one in ``reference``."""
        column, row = cell_x - reference.origin[0], cell_y - reference.origin[1]
        rows, columns = reference.occupied.shape
        inside = np.flatnonzero((column >= 0) & (column < columns) & (row >= 0) & (row < rows))
        found = np.zeros(cell_x.shape[0], dtype=bool)
        found[inside] = reference.occupied[row[inside], column[inside]] > 0
        return found

    @staticmethod
    def _grid(cells: tuple[np.ndarray, np.ndarray], stamp_ns: int) -> _Grid:
        """The occupancy of ``cells`` over their bounding box and a cell of margin, dilated by a cell."""
        cell_x, cell_y = cells
        if cell_x.shape[0] == 0:
            return _Grid(stamp_ns, (0, 0), np.zeros((0, 0), dtype=np.uint8))
        origin = (int(cell_x.min()) - 1, int(cell_y.min()) - 1)
        column, row = cell_x - origin[0], cell_y - origin[1]
        occupied = np.zeros((int(row.max()) + 2, int(column.max()) + 2), dtype=np.uint8)
        occupied[row, column] = 1
        return _Grid(stamp_ns, origin, cv2.dilate(occupied, DILATE))
