"""Longitudinal ego dynamics: constant speed until braked; brake actuator delay and build-up."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from av_edge.core.config import bounded


@dataclass(frozen=True)
class DynamicsConfig:
    actuator_delay_s: float = bounded(0.0, 1.0, "brake request to first pressure")
    brake_jerk_mps3: float = bounded(1.0, 1000.0, "deceleration build-up rate")
    max_decel_mps2: float = bounded(1.0, 15.0, "tyre/road limit")
    substep_s: float = bounded(1e-4, 0.05, "integration step")


class EgoDynamics:
    """Ego along the x axis of odom; ``command`` queues a deceleration request behind the actuator delay."""

    def __init__(self, config: DynamicsConfig, x: float, speed_mps: float, now_ns: int) -> None:
        self.config = config
        self.x = x
        self.speed = speed_mps
        self.decel = 0.0
        self.time_ns = now_ns
        self._target = 0.0
        self._pending: deque[tuple[int, float]] = deque()

    def command(self, decel_mps2: float, now_ns: int) -> None:
        """Request ``decel_mps2`` (>= 0) at ``now_ns``; it reaches the actuator after the delay."""
        effective = now_ns + int(self.config.actuator_delay_s * 1e9)
        self._pending.append((effective, min(max(decel_mps2, 0.0), self.config.max_decel_mps2)))

    def advance(self, now_ns: int) -> None:
        """Integrate up to ``now_ns`` in substeps (commands apply at their effective time)."""
        step_ns = int(self.config.substep_s * 1e9)
        while self.time_ns < now_ns:
            t = min(self.time_ns + step_ns, now_ns)
            while self._pending and self._pending[0][0] <= self.time_ns:
                self._target = self._pending.popleft()[1]
            dt = (t - self.time_ns) / 1e9
            limit = self.config.brake_jerk_mps3 * dt
            self.decel += min(max(self._target - self.decel, -limit), limit)
            new_speed = max(self.speed - self.decel * dt, 0.0)
            self.x += (self.speed + new_speed) / 2 * dt
            self.speed = new_speed
            self.time_ns = t
