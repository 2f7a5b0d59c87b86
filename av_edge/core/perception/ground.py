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

import cv2
import numpy as np

from av_edge.core.config import bounded


@dataclass(frozen=True)
class GroundConfig:
    sector_deg: float = bounded(0.1, 10.0, "azimuth width of a sector")
    bin_m: float = bounded(0.1, 5.0, "range width of a bin")
    max_range_m: float = bounded(1.0, 300.0)
    max_slope: float = bounded(0.0, 1.0, "rise over run the ground may change between bins")
    height_threshold_m: float = bounded(0.01, 1.0, "points this far above the local ground are obstacles")
    max_occluded_rise_m: float = bounded(0.0, 5.0, "cap on the ground rise assumed across bins with no ground seen")


def height_above_ground(points: np.ndarray, config: GroundConfig) -> np.ndarray:
    """Height of each base_link ``(N, 3)`` point above the local ground (inf beyond ``max_range_m``).

    A point is ground when its height is below ``height_threshold_m`` (see :func:`segment_ground`).
    """
    n_sectors = int(np.ceil(360.0 / config.sector_deg))
    n_bins = int(np.ceil(config.max_range_m / config.bin_m))
    outside_cell = n_sectors * n_bins  # one spare cell collects out-of-range points: no masking
    z = np.ascontiguousarray(points[:, 2], dtype=np.float32)
    rng, azimuth_deg = polar(points)
    sector = np.minimum((azimuth_deg * np.float32(n_sectors / 360.0)).astype(np.intp), n_sectors - 1)
    cell = sector * n_bins + (rng * np.float32(1.0 / config.bin_m)).astype(np.intp)
    cell[rng >= config.max_range_m] = outside_cell
    lowest = np.full(outside_cell + 1, np.inf, dtype=np.float32)
    np.minimum.at(lowest, cell, z)
    ground = np.empty_like(lowest)
    ground[:outside_cell] = _propagate_ground(lowest[:outside_cell].reshape(n_sectors, n_bins), config).reshape(-1)
    ground[outside_cell] = -np.inf
    return z - ground[cell]


def segment_ground(points: np.ndarray, config: GroundConfig) -> np.ndarray:
    """Boolean mask of ground points among base_link points (base_link on the road, z up)."""
    return height_above_ground(points, config) < config.height_threshold_m


def polar(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Planar range and azimuth in degrees [0, 360) of ``(N, 3)`` points (OpenCV, ~15x faster than arctan2)."""
    if points.shape[0] == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    x = np.ascontiguousarray(points[:, 0], dtype=np.float32)
    y = np.ascontiguousarray(points[:, 1], dtype=np.float32)
    rng, azimuth = cv2.cartToPolar(x, y, angleInDegrees=True)
    return rng.reshape(-1), azimuth.reshape(-1)


def _propagate_ground(lowest: np.ndarray, config: GroundConfig) -> np.ndarray:
    """Ground height per (sector, bin), walking outwards from the vehicle (ground 0 at base_link)."""
    n_sectors, n_bins = lowest.shape
    columns = np.ascontiguousarray(lowest.T)  # one contiguous row per range bin
    ground = np.empty_like(columns)
    level = np.zeros(n_sectors, dtype=np.float32)
    rise = np.zeros(n_sectors, dtype=np.float32)  # allowed change since the last bin that held ground
    step = np.float32(config.max_slope * config.bin_m)
    threshold = np.float32(config.height_threshold_m)
    cap = np.float32(config.max_occluded_rise_m)
    for b in range(n_bins):
        np.minimum(rise + step, cap, out=rise)
        candidate = columns[b]
        is_ground = candidate <= level + rise + threshold
        np.copyto(level, np.maximum(candidate, level - rise), where=is_ground)
        rise[is_ground] = 0.0
        ground[b] = level
    return ground.T
