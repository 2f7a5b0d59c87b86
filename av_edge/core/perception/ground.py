"""Ground segmentation on a polar grid, in the spirit of Autoware's scan_ground_filter.

Points fall into (azimuth sector, range bin) cells. Walking outwards along every sector at once,
a cell's lowest point continues the ground when it stays within the allowed slope of the ground
behind it; otherwise the cell holds an obstacle and the ground is carried over. The slope allowance
grows with the distance since ground was last seen, up to a cap, so the top of a car seen over a
nearer car is not taken for a hill. This follows
slopes, crowned roads and curbs, which a single global plane does not. The loop runs over range
bins (about a hundred), never over points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from av_edge.core.config import bounded
from av_edge.core.geometry import polar


@dataclass(frozen=True)
class GroundConfig:
    sector_deg: float = bounded(0.1, 10.0, "azimuth width of a sector")
    bin_m: float = bounded(0.1, 5.0, "range width of a bin")
    max_range_m: float = bounded(1.0, 300.0, "m; farther points get no ground estimate and are ignored")
    max_slope: float = bounded(0.0, 1.0, "rise over run the ground may change between bins")
    height_threshold_m: float = bounded(0.01, 1.0, "points this far above the local ground are obstacles")
    max_occluded_rise_m: float = bounded(0.0, 5.0, "cap on the ground rise assumed across bins with no ground seen")


def height_above_ground(xyz: np.ndarray, config: GroundConfig) -> np.ndarray:
    """Height of each base_link point (``xyz``: rows x, y, z) above the local ground (inf beyond ``max_range_m``).

    A point is ground when its height is below ``height_threshold_m`` (see :func:`segment_ground`).
    """
    n_sectors = int(np.ceil(360.0 / config.sector_deg))
    n_bins = int(np.ceil(config.max_range_m / config.bin_m))
    # One row per range bin, as the walk outwards visits them, one column per sector. A spare bin
    # collects the points beyond range, a spare sector the azimuths that round up to 360: no
    # masking pass. Indices stay int32 (numpy converts them ~4x faster).
    shape = (n_bins + 1, n_sectors + 1)
    x, y, z = np.ascontiguousarray(xyz, dtype=np.float32)
    rng, azimuth_deg = polar(x, y)
    per_metre = np.float32(n_bins / config.max_range_m)  # 1 / bin_m, stretched so that max_range_m ends a bin
    # Products truncate into int32 directly (one pass each); the cell is built in place.
    sector = np.multiply(azimuth_deg, np.float32(n_sectors / 360.0), out=np.empty(rng.size, np.int32), casting="unsafe")
    if rng.max(initial=0.0) < config.max_range_m:  # the usual case
        cell = np.multiply(rng, per_metre, out=np.empty(rng.size, np.int32), casting="unsafe")
    else:  # capped before the cast (a far outlier would overflow int32)
        cell = np.minimum(rng * per_metre, np.float32(n_bins)).astype(np.int32)
    cell *= np.int32(shape[1])
    cell += sector
    cell = cell.astype(np.intp)  # intp: ufunc.at's fast path
    lowest = np.full(shape, np.inf, dtype=np.float32)
    np.minimum.at(lowest.reshape(-1), cell, z)
    np.minimum(lowest[:, 0], lowest[:, n_sectors], out=lowest[:, 0])
    ground = np.full(shape, -np.inf, dtype=np.float32)
    _propagate_ground(lowest[:n_bins, :n_sectors], ground[:n_bins, :n_sectors], config)
    ground[:, n_sectors] = ground[:, 0]
    return z - np.take(ground.reshape(-1), cell)


def segment_ground(xyz: np.ndarray, config: GroundConfig) -> np.ndarray:
    """Boolean mask of ground points among base_link points (rows x, y, z; base_link on the road, z up)."""
    return height_above_ground(xyz, config) < config.height_threshold_m


def _propagate_ground(lowest: np.ndarray, ground: np.ndarray, config: GroundConfig) -> None:
    """Fill ``ground`` (range bin, sector) with the ground height, walking outwards from the
    vehicle (ground 0 at base_link) over the rows of ``lowest``, the lowest point per cell.

    The walk stops at the farthest bin holding a point; a bin with no point in any sector (a
    quarter of them, between the far rings) only grows the allowed change; every step works in
    place on contiguous rows (per-call overhead, not arithmetic, is what this loop costs).
    """
    n_sectors = lowest.shape[1]
    occupied = np.flatnonzero(lowest.min(axis=1) < np.inf).tolist()
    if not occupied:
        ground[:] = 0.0
        return
    limits = lowest - np.float32(config.height_threshold_m)  # ground when limit <= level + rise
    rise = np.zeros(n_sectors, dtype=np.float32)  # allowed change since the last bin that held ground
    scratch = np.empty(n_sectors, dtype=np.float32)
    not_ground = np.empty(n_sectors, dtype=bool)
    # Array operands, not scalars: numpy converts a scalar on every call, twice the cost of the op.
    step = np.full(n_sectors, config.max_slope * config.bin_m, dtype=np.float32)
    cap = np.full(n_sectors, config.max_occluded_rise_m, dtype=np.float32)
    level = np.zeros(n_sectors, dtype=np.float32)  # the ground level so far: the last row written
    previous = -1
    for k in occupied:
        if k > previous + 1:  # empty bins: no ground seen, the level carries over
            ground[previous + 1 : k] = level
        for _ in range(k - previous):
            np.add(rise, step, out=rise)
            np.minimum(rise, cap, out=rise)
        limit, lowest_here, ground_here = limits[k], lowest[k], ground[k]
        np.add(level, rise, out=scratch)
        np.greater(limit, scratch, out=not_ground)
        np.subtract(level, rise, out=ground_here)  # ground here: the level follows the lowest point,
        np.maximum(lowest_here, ground_here, out=ground_here)  # dropping at most the allowed change
        np.putmask(ground_here, not_ground, level)  # an obstacle here: the level carries over
        np.multiply(rise, not_ground, out=rise)  # ground resets the allowed change
        level, previous = ground_here, k
    ground[previous + 1 :] = level
