"""The road: a centreline of straight and constant-radius pieces, with Frenet coordinates.

``s`` is the arc length along the centreline from the ego's start, ``d`` the lateral offset
(positive to the left). The odom frame starts at s = 0, d = 0, heading along the road.

The road curves with ``radius_m`` from ``curve_start_m`` to ``curve_end_m`` and is straight
before and after (the defaults: one arc from the start on, or straight); a second arc of
``reverse_radius_m`` may follow the first (an S-curve). Curvature is piecewise constant, so every
piece has a closed-form pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Road:
    radius_m: float = 0.0  # 0: straight; > 0: curving left; < 0: curving right
    lane_width_m: float = 3.5
    curve_start_m: float = 0.0  # straight before this arc length
    curve_end_m: float = math.inf  # straight (or the reverse arc) after it
    reverse_radius_m: float = 0.0  # an arc after curve_end_m (S-curve); 0: straight
    reverse_end_m: float = math.inf

    @property
    def curvature(self) -> float:
        """Curvature of the (first) arc."""
        return 0.0 if self.radius_m == 0 else 1.0 / self.radius_m

    @cached_property
    def _pieces(self) -> tuple[tuple[float, float, float, float, float], ...]:
        """(start s, curvature, x, y, yaw at the start) of each piece, in order."""
        k2 = 0.0 if self.reverse_radius_m == 0 else 1.0 / self.reverse_radius_m
        breaks = [(0.0, 0.0), (self.curve_start_m, self.curvature), (self.curve_end_m, k2), (self.reverse_end_m, 0.0)]
        pieces: list[tuple[float, float, float, float, float]] = []
        x = y = yaw = 0.0
        for start, k in breaks:
            if not math.isfinite(start):
                break
            if pieces:
                prev_start, prev_k, px, py, pyaw = pieces[-1]
                if start < prev_start:
                    raise ValueError("road pieces must be in order")
                x, y, yaw = _advance(px, py, pyaw, prev_k, start - prev_start, 0.0)
            pieces.append((start, k, x, y, yaw))
        return tuple(pieces)

    def curvature_at(self, s: float) -> float:
        return self._piece(s)[1]

    def _piece(self, s: float) -> tuple[float, float, float, float, float]:
        found = self._pieces[0]
        for piece in self._pieces[1:]:
            if s < piece[0]:
                break
            found = piece
        return found

    def centre_line(self, length_m: float, spacing_m: float = 2.0) -> list[tuple[float, float]]:
        """(x, y) odom points of the centreline from 20 m behind the start to ``length_m``."""
        return [self.pose(s)[:2] for s in np.arange(-20.0, length_m, spacing_m).tolist()]

    def pose(self, s: float, d: float = 0.0) -> tuple[float, float, float]:
        """(x, y, yaw) in odom of the point ``d`` left of the centreline at arc length ``s``."""
        start, k, x, y, yaw = self._piece(s)
        return _advance(x, y, yaw, k, s - start, d)


def _advance(x: float, y: float, yaw: float, k: float, length: float, d: float) -> tuple[float, float, float]:
    """Pose ``length`` along a piece of curvature ``k`` from (x, y, yaw), offset ``d`` to the left."""
    if k == 0.0:
        cx, cy = x + length * math.cos(yaw), y + length * math.sin(yaw)
        heading = yaw
    else:
        heading = yaw + length * k
        radius = 1.0 / k
        cx = x + radius * (math.sin(heading) - math.sin(yaw))
        cy = y - radius * (math.cos(heading) - math.cos(yaw))
    return cx - d * math.sin(heading), cy + d * math.cos(heading), heading
