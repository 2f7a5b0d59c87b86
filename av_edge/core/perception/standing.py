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

The older scans are kept as occupancy grids in odom around the ego (one ``cv2.dilate`` each, so a
lookup is one index per return), for the newest scan at least ``baseline_s`` old.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from av_edge.core.config import bounded

DILATE = np.ones((3, 3), dtype=np.uint8)  # a return "lies where one lay" within one cell each way


@dataclass(frozen=True)
class StandingConfig:
    baseline_s: float = bounded(
        0.05, 5.0, "s; returns are compared with the newest scan at least this old (walkers move 0.4 m in 0.3 s)"
    )
    cell_m: float = bounded(
        0.02, 1.0, "m; a return lies where one lay when one lay in its cell or a neighbouring one (1-2 cells)"
    )
    range_m: float = bounded(5.0, 500.0, "m; the grids reach this far from the ego each way (farther: no evidence)")


@dataclass(frozen=True)
class _Grid:
    stamp_ns: int
    origin: tuple[float, float]  # odom x, y of cell (0, 0)'s corner
    occupied: np.ndarray  # (n, n) uint8, dilated by a cell


class StandingCheck:
    """Per cluster, the share of its returns that lie where returns lay ``baseline_s`` before (odom)."""

    def __init__(self, config: StandingConfig) -> None:
        self.config = config
        self._grids: deque[_Grid] = deque()
        self._cells = int(np.ceil(2 * config.range_m / config.cell_m))

    def update(
        self,
        xy_odom: np.ndarray,
        labels: np.ndarray,
        velocity: np.ndarray,
        centre: tuple[float, float],
        stamp_ns: int,
    ) -> np.ndarray:
        """``xy_odom`` (M, 2) obstacle returns of the scan at ``stamp_ns``, their cluster ``labels``
        (-1 = none), each cluster's tracked odom ``velocity`` (K, 2) and the ego's odom position
        ``centre``: per cluster, the share (0..1) of its returns found where returns lay in the
        reference scan, where that explains them at least as well as its velocity does (returns found
        where they were, moved back by velocity x elapsed time); else 0, as while no scan is old enough.
        """
        while self._grids and self._grids[-1].stamp_ns >= stamp_ns:  # time went back (a replay restarted)
            self._grids.clear()
        n_clusters = velocity.shape[0]
        standing = np.zeros(n_clusters, dtype=np.float32)
        reference = self._reference(stamp_ns)
        if reference is not None and n_clusters > 0:
            clustered = np.flatnonzero(labels >= 0)
            label, xy = labels[clustered], xy_odom[clustered]
            elapsed = (stamp_ns - reference.stamp_ns) / 1e9
            counts = np.maximum(np.bincount(label, minlength=n_clusters), 1)
            still = np.bincount(label, weights=self._found(reference, xy), minlength=n_clusters) / counts
            moved = self._found(reference, xy - velocity[label] * elapsed)
            moving = np.bincount(label, weights=moved, minlength=n_clusters) / counts
            # Within a cell the two hypotheses are one: a velocity that small claims no motion.
            alike = np.hypot(velocity[:, 0], velocity[:, 1]) * elapsed < self.config.cell_m
            standing = np.where((still >= moving) | alike, still, 0.0).astype(np.float32)
        self._grids.append(self._grid(xy_odom, centre, stamp_ns))
        return standing

    def _found(self, reference: _Grid, xy: np.ndarray) -> np.ndarray:
        """Mask of ``xy`` whose cell (or a neighbour) held a return in ``reference``."""
        rows, cols, inside = self._index(xy, reference.origin)
        found = np.zeros(xy.shape[0], dtype=bool)
        found[inside] = reference.occupied[rows, cols] > 0
        return found

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

    def _index(self, xy: np.ndarray, origin: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row (y) and column (x) cells of ``xy`` in a grid at ``origin``, for the returns ``inside`` it."""
        cell = np.floor((xy - np.asarray(origin)) / self.config.cell_m).astype(np.intp)
        inside = np.flatnonzero(((cell >= 0) & (cell < self._cells)).all(axis=1))
        return cell[inside, 1], cell[inside, 0], inside

    def _grid(self, xy: np.ndarray, centre: tuple[float, float], stamp_ns: int) -> _Grid:
        r = self.config.range_m
        origin = (centre[0] - r, centre[1] - r)
        occupied = np.zeros((self._cells, self._cells), dtype=np.uint8)
        rows, cols, _ = self._index(xy, origin)
        occupied[rows, cols] = 1
        return _Grid(stamp_ns, origin, cv2.dilate(occupied, DILATE))
