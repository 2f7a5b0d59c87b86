"""Ego pose from odometry, extrapolated to a sensor stamp (planar, constant speed and yaw rate)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from av_edge.core.config import bounded
from av_edge.core.errors import InvalidOdometryError

MAX_COORDINATE_M = 1e7  # odom frames drift, but not this far: beyond it a position is a bad value


@dataclass(frozen=True)
class OdometryLimits:
    """What the vehicle can do: odometry beyond it is a sensor fault, never a speed to act on."""

    max_speed_mps: float = bounded(1.0, 150.0, "|speed| above this is rejected (m/s)")
    max_yaw_rate_radps: float = bounded(0.1, 10.0, "|yaw rate| above this is rejected (rad/s)")


def check_motion(speed_mps: float, yaw_rate: float, limits: OdometryLimits) -> None:
    """Raise :class:`InvalidOdometryError` naming the value when speed or yaw rate is unusable.

    A wheel-speed glitch (NaN, inf, a spike) must not become the speed braking is decided at.
    """
    for name, value, limit in (
        ("speed", speed_mps, limits.max_speed_mps),
        ("yaw rate", yaw_rate, limits.max_yaw_rate_radps),
    ):
        if not math.isfinite(value):
            raise InvalidOdometryError(f"{name} {value}")
        if abs(value) > limit:
            raise InvalidOdometryError(f"{name} {value:.3g} beyond the vehicle's {limit:g}")


@dataclass(frozen=True)
class EgoPose:
    """Pose of base_link in odom at ``stamp_ns``, with its speed and yaw rate."""

    x: float
    y: float
    yaw: float
    speed_mps: float
    yaw_rate: float
    stamp_ns: int

    def check(self, limits: OdometryLimits) -> EgoPose:
        """This pose, when finite and within ``limits`` (else :class:`InvalidOdometryError`)."""
        if not (abs(self.x) <= MAX_COORDINATE_M and abs(self.y) <= MAX_COORDINATE_M and math.isfinite(self.yaw)):
            raise InvalidOdometryError(f"pose ({self.x}, {self.y}, yaw {self.yaw}) is not finite or out of range")
        check_motion(self.speed_mps, self.yaw_rate, limits)
        return self

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
        return self.rotate_to_odom(xy) + np.array([self.x, self.y])

    def rotate_to_odom(self, vectors: np.ndarray) -> np.ndarray:
        """base_link-axis vectors ``(N, 2)`` (directions) -> odom axes."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return vectors @ np.array([[c, s], [-s, c]])

    def rotate_to_base(self, vectors: np.ndarray) -> np.ndarray:
        """odom-axis vectors ``(N, 2)`` (velocities) -> base_link axes."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return vectors @ np.array([[c, -s], [s, c]])
