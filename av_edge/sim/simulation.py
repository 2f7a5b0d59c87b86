"""One closed-loop scenario: ego dynamics, LiDAR captures, brake commands in, outcome out.

Time is passed in (``now_ns``); the ROS node drives it from the clock, tests drive it by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from av_edge.core.aeb import VehicleConfig
from av_edge.core.config import bounded
from av_edge.core.latency import LatencyTracker
from av_edge.sim.dynamics import DynamicsConfig, EgoDynamics
from av_edge.sim.lidar import LidarConfig, LidarModel
from av_edge.sim.world import Box, StalledCarScenario


@dataclass(frozen=True)
class SimConfig:
    scenario: StalledCarScenario
    vehicle: VehicleConfig
    dynamics: DynamicsConfig
    lidar: LidarConfig
    seed: int = bounded(0, 2**31 - 1)
    standstill_hold_s: float = bounded(0.0, 10.0, "stopped this long ends the run")
    latency_budget_ms: float = bounded(1.0, 1000.0, "sensor stamp to brake command received")


@dataclass(frozen=True)
class EgoState:
    x: float
    y: float
    yaw: float
    speed_mps: float
    decel_mps2: float


class Simulation:
    def __init__(self, config: SimConfig, start_ns: int) -> None:
        self.config = config
        speed = config.scenario.ego_speed_kmh / 3.6
        self.ego = EgoDynamics(config.dynamics, x=0.0, speed_mps=speed, now_ns=start_ns)
        self.lidar = LidarModel(config.lidar, seed=config.seed)
        self.boxes: tuple[Box, ...] = config.scenario.obstacles(ego_front_x=config.vehicle.front_overhang_m)
        self.start_ns = start_ns
        self.latency = LatencyTracker(window=100000, budget_ms=config.latency_budget_ms)
        self.brake_onset_ttc_s = math.nan
        self.brake_onset_s = math.nan
        self.min_gap_m = math.inf
        self.max_decel_mps2 = 0.0
        self.contact_speed_mps: float | None = None
        self._stopped_since_ns: int | None = None
        self.commands = 0

    def state(self) -> EgoState:
        return EgoState(self.ego.x, 0.0, 0.0, self.ego.speed, self.ego.decel)

    def gap_m(self) -> float:
        """Smallest gap from the ego front bumper to a box that overlaps the ego laterally."""
        half = self.config.vehicle.width_m / 2
        front = self.ego.x + self.config.vehicle.front_overhang_m
        gaps = [b.rear_x - front for b in self.boxes if abs(b.y) < half + b.width / 2 and b.x + b.length / 2 > front]
        return min(gaps, default=math.inf)

    def advance(self, now_ns: int) -> None:
        self.ego.advance(now_ns)
        gap = self.gap_m()
        self.min_gap_m = min(self.min_gap_m, gap)
        self.max_decel_mps2 = max(self.max_decel_mps2, self.ego.decel)
        if gap <= 0 and self.contact_speed_mps is None:
            self.contact_speed_mps = self.ego.speed
        stopped = self.ego.speed <= 1e-3
        if not stopped:
            self._stopped_since_ns = None
        elif self._stopped_since_ns is None:
            self._stopped_since_ns = now_ns

    def capture(self) -> np.ndarray:
        """A LiDAR scan at the current ego pose, in the sensor frame."""
        return self.lidar.scan(self.ego.x, 0.0, 0.0, self.boxes)

    def on_brake_command(self, accel_mps2: float, stamp_ns: int, now_ns: int) -> None:
        """A brake command (negative acceleration) stamped with its sensor time arrives at ``now_ns``."""
        self.commands += 1
        self.latency.add(stamp_ns, now_ns)
        if accel_mps2 < 0 and math.isnan(self.brake_onset_s):
            self.brake_onset_s = (now_ns - self.start_ns) / 1e9
            speed = self.ego.speed
            self.brake_onset_ttc_s = self.gap_m() / speed if speed > 0 else math.inf
        self.ego.command(-accel_mps2, now_ns)

    def finished(self, now_ns: int) -> bool:
        if self.contact_speed_mps is not None:
            return True
        stopped_ns = self._stopped_since_ns
        if stopped_ns is not None and (now_ns - stopped_ns) / 1e9 >= self.config.standstill_hold_s:
            return True
        return (now_ns - self.start_ns) / 1e9 >= self.config.scenario.duration_s

    def result(self) -> dict[str, Any]:
        """The run's outcome as a JSON-ready record."""
        latency = self.latency.summary()
        contact_speed = self.contact_speed_mps
        contact = contact_speed is not None
        return {
            "scenario": self.config.scenario.name,
            "ego_kmh": self.config.scenario.ego_speed_kmh,
            "outcome": "contact" if contact else "no_contact",
            "passed": not contact,
            "stop_gap_m": None if contact else _rounded(self.gap_m()),
            "min_gap_m": _rounded(max(self.min_gap_m, 0.0)),
            "impact_kmh": 0.0 if contact_speed is None else _rounded(contact_speed * 3.6),
            "final_speed_kmh": _rounded(self.ego.speed * 3.6),
            "max_decel_mps2": _rounded(self.max_decel_mps2),
            "brake_onset_s": _rounded(self.brake_onset_s),
            "brake_onset_ttc_s": _rounded(self.brake_onset_ttc_s),
            "brake_commands": self.commands,
            "latency_p50_ms": _rounded(latency.p50_ms),
            "latency_p99_ms": _rounded(latency.p99_ms),
            "latency_max_ms": _rounded(latency.max_ms),
            "deadline_misses": latency.deadline_misses,
        }


def _rounded(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 3)
