"""The predicted ego path: a constant-turn-rate arc from base_link, and Frenet coordinates along it."""

from __future__ import annotations

import numpy as np


def path_curvature(speed_mps: float, yaw_rate: float, max_curvature: float) -> float:
    """Curvature (1/m, left positive) of the path the ego is on; straight when (nearly) stopped."""
    if speed_mps < 1.0:
        return 0.0
    return float(np.clip(yaw_rate / speed_mps, -max_curvature, max_curvature))


def path_coordinates(xy: np.ndarray, curvature: float) -> tuple[np.ndarray, np.ndarray]:
    """(arc length s, lateral offset d, left positive) of base_link ``(N, 2)`` points along the arc."""
    x, y = xy[:, 0], xy[:, 1]
    if abs(curvature) < 1e-6:
        return x, y
    radius = 1.0 / curvature
    sign = np.sign(radius)
    angle = np.arctan2(x, sign * (radius - y))
    s = np.where(angle >= 0, abs(radius) * angle, -np.inf)  # behind the turn centre: not on the path ahead
    d = sign * (abs(radius) - np.hypot(x, y - radius))
    return s, d
