"""Holding an in-path obstacle through a blind LiDAR sector.

A stopped car seen ahead does not vanish because mud lands on the LiDAR's window: while the place
where it was predicted to be lies in a blocked sector, the AEB keeps braking for it as last seen
(its gap along the path and its measured speed), for at most ``hold_s``. Only an obstacle whose
speed was measured is held (its motion is known); a live return nearer in the path always wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from av_edge.core.aeb.threat import Obstacle


@dataclass(frozen=True)
class Held:
    """The last measured in-path obstacle: its position along the ego's odometer, lateral, speed."""

    position_m: float
    lateral_m: float
    speed_mps: float
    stamp_ns: int


class BlindHold:
    def __init__(self, hold_s: float, margin_deg: float, sensor_xy: tuple[float, float], front_m: float) -> None:
        self.hold_s, self.margin_deg = hold_s, margin_deg
        self._sensor, self._front = sensor_xy, front_m
        self._odometer = 0.0
        self._last_ns: int | None = None
        self.held: Held | None = None
        self.holding = False  # the last scan's obstacle came from the hold

    def update(
        self,
        live: Obstacle | None,
        live_speed_mps: float | None,
        ego_speed_mps: float,
        stamp_ns: int,
        blocked: list[tuple[float, float]],
    ) -> tuple[Obstacle | None, float | None]:
        """The obstacle (and its speed) to brake for: the live one, or the held one while it is hidden."""
        dt = 0.0 if self._last_ns is None else max((stamp_ns - self._last_ns) / 1e9, 0.0)
        self._last_ns = stamp_ns
        self._odometer += ego_speed_mps * dt
        held = self.held
        gap = math.inf
        if held is not None:
            gap = held.position_m + held.speed_mps * (stamp_ns - held.stamp_ns) / 1e9 - self._odometer
        hidden = held is not None and self._hidden(gap, held.lateral_m, blocked)
        fresh = held is not None and (stamp_ns - held.stamp_ns) / 1e9 <= self.hold_s
        if hidden and fresh and held is not None and (live is None or live.gap_m > gap):
            self.holding = True
            return Obstacle(gap_m=gap, lateral_m=held.lateral_m, n_points=0), held.speed_mps
        self.holding = False
        if live is not None and live_speed_mps is not None:
            self.held = Held(self._odometer + live.gap_m, live.lateral_m, live_speed_mps, stamp_ns)
        elif live is None and not hidden:
            self.held = None  # its place is in view and empty: it has gone
        return live, live_speed_mps

    def _hidden(self, gap_m: float, lateral_m: float, blocked: list[tuple[float, float]]) -> bool:
        """Whether the held obstacle's place lies in (or within ``margin_deg`` of) a blocked sector."""
        if not blocked or gap_m <= 0:
            return False
        azimuth = math.degrees(math.atan2(lateral_m - self._sensor[1], self._front + gap_m - self._sensor[0]))
        sectors = np.array(blocked)
        return bool(np.any((azimuth >= sectors[:, 0] - self.margin_deg) & (azimuth <= sectors[:, 1] + self.margin_deg)))
