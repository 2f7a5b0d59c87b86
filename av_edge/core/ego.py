"""Ego pose from odometry, extrapolated to a sensor stamp (planar, constant speed and yaw rate)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EgoPose:
    """Pose of base_link in odom at ``stamp_ns``, with its speed and yaw rate."""

    x: float
    y: float
    yaw: float
    speed_mps: float
    yaw_rate: float
    stamp_ns: int

    def at(self, stamp_ns: int) -> EgoPose:
        """This pose moved to ``stamp_ns`` (forwards or backwards) along a constant-turn-rate arc."""
        dt = (stamp_ns - self.stamp_ns) / 1e9
        yaw = self.yaw + self.yaw_rate * dt
        if abs(self.yaw_rate) < 1e-6:
            dx, dy = self.speed_mps * dt * np.cos(self.yaw), self.speed_mps * dt * np.sin(self.yaw)
        else:
            radius = self.speed_mps / self.yaw_rate
            dx = radius * (np.sin(yaw) - np.sin(self.yaw))
            dy = radius * (np.cos(self.yaw) - np.cos(yaw))
        return EgoPose(self.x + float(dx), self.y + float(dy), yaw, self.speed_mps, self.yaw_rate, stamp_ns)

    def to_odom(self, xy: np.ndarray) -> np.ndarray:
        """base_link ``(N, 2)`` -> odom."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return xy @ np.array([[c, s], [-s, c]]) + (self.x, self.y)

    def rotate_to_base(self, vectors: np.ndarray) -> np.ndarray:
        """odom-axis vectors ``(N, 2)`` (velocities) -> base_link axes."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return vectors @ np.array([[c, -s], [s, c]])
