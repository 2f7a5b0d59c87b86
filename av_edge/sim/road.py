"""The road: a centreline (straight, or an arc of constant radius) with Frenet coordinates.

``s`` is the arc length along the centreline from the ego's start, ``d`` the lateral offset
(positive to the left). The odom frame starts at s = 0, d = 0, heading along the road.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Road:
    radius_m: float = 0.0  # 0: straight; > 0: curving left; < 0: curving right
    lane_width_m: float = 3.5

    @property
    def curvature(self) -> float:
        return 0.0 if self.radius_m == 0 else 1.0 / self.radius_m

    def pose(self, s: float, d: float = 0.0) -> tuple[float, float, float]:
        """(x, y, yaw) in odom of the point ``d`` left of the centreline at arc length ``s``."""
        k = self.curvature
        if k == 0.0:
            return s, d, 0.0
        heading = s * k
        radius = 1.0 / k
        x = (radius - d) * np.sin(heading)
        y = radius - (radius - d) * np.cos(heading)
        return float(x), float(y), float(heading)
