"""Returns from rain, spray and dust: alone on their ray's neighbourhood, where a surface is not.

A LiDAR samples a surface on every neighbouring ray at about the same range: a car 10 m away
answers each of the ~20 rays of a 1 deg x 2 deg patch (5 columns per degree, 0.4 deg between
beams) within centimetres. A drop answers one ray, anywhere along it, and the rays beside it go on
to whatever is behind. So a return alone in its cell of azimuth x elevation x range is no surface.
Cells are fixed in angle, not in metres, so the test holds from 1 m to the sensor's range; a cell
boundary that splits a surface's returns is covered by a second grid shifted by half a cell each
way (a return is alone only if it is alone in both). Cells are packed into one integer key and counted
with ``np.unique``: no per-point loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from av_edge.core.config import bounded


@dataclass(frozen=True)
class ClutterConfig:
    """Cells in which a return alone is rain or spray, not a surface; how far out drops are looked for."""

    azimuth_deg: float = bounded(0.05, 10.0, "cell width: a surface returns on several rays across it")
    elevation_deg: float = bounded(0.05, 20.0, "cell height: a surface returns on more than one beam in it")
    range_m: float = bounded(0.05, 10.0, "cell depth: a surface's returns in a cell lie this close in range")
    max_range_m: float = bounded(1.0, 300.0, "m ahead: drops are looked for this close (they return from near by)")


def isolated(xyz_sensor: np.ndarray, cfg: ClutterConfig) -> np.ndarray:
    """Mask of the ``(N, 3)`` sensor-frame returns alone in their cell (drops, not surfaces)."""
    if xyz_sensor.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    x, y, z = (np.ascontiguousarray(xyz_sensor[:, i], dtype=np.float32) for i in range(3))
    horizontal, azimuth = cv2.cartToPolar(x, y, angleInDegrees=True)
    horizontal, azimuth = horizontal.ravel(), azimuth.ravel()
    ranges = np.hypot(horizontal, z)
    elevation = np.degrees(np.arctan2(z, horizontal))
    cells = (azimuth / cfg.azimuth_deg, (elevation + 90.0) / cfg.elevation_deg, ranges / cfg.range_m)
    around = max(round(360.0 / cfg.azimuth_deg), 1)  # azimuth cells in a turn: 359.9 deg and 0.1 deg are neighbours
    alone = np.ones(xyz_sensor.shape[0], dtype=bool)
    for shift in (0.0, 0.5):
        a, e, r = (np.floor(c + shift).astype(np.int64) for c in cells)
        a %= around
        _, inverse, counts = np.unique((a * 4096 + e) * (1 << 24) + r, return_inverse=True, return_counts=True)
        alone &= counts[inverse.ravel()] == 1
    return alone
