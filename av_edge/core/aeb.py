"""Autonomous emergency braking v0: corridor crop, nearest in-path obstacle, stopping-distance decision.

Everything here is a pure function of its inputs except :class:`AebCore`, which keeps the little
state a decision needs (state machine, last speed, statistics). Speeds are the ego's; obstacles are
treated as stationary (tracked velocities arrive with LiDAR perception).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from av_edge.core.config import bounded
from av_edge.core.diagnostics import Level, Status, fmt, worst
from av_edge.core.geometry import Extrinsic, transform_points
from av_edge.core.latency import LatencyTracker, RateTracker


@dataclass(frozen=True)
class VehicleConfig:
    width_m: float = bounded(0.5, 4.0, "body width")
    front_overhang_m: float = bounded(0.0, 20.0, "base_link (rear axle) to front bumper")
    height_m: float = bounded(0.5, 5.0, "roof height above ground")


@dataclass(frozen=True)
class CorridorConfig:
    lateral_margin_m: float = bounded(0.0, 3.0, "added to each side of the body")
    min_height_m: float = bounded(0.0, 2.0, "ignore returns below this height (ground, debris)")
    max_range_m: float = bounded(5.0, 300.0, "look-ahead from the front bumper")
    min_points: int = bounded(1, 1000, "returns needed before an obstacle counts (noise, spray)")


@dataclass(frozen=True)
class BrakeConfig:
    decel_mps2: float = bounded(1.0, 12.0, "deceleration requested when braking")
    planning_decel_mps2: float = bounded(1.0, 12.0, "deceleration assumed achievable when deciding")
    response_time_s: float = bounded(0.0, 2.0, "latency budget + actuator delay + brake build-up")
    stop_margin_m: float = bounded(0.0, 10.0, "gap to keep to the obstacle at standstill")
    release_clear_frames: int = bounded(1, 100, "consecutive clear frames before releasing")
    standstill_speed_mps: float = bounded(0.0, 2.0, "below this the vehicle is stopped")


@dataclass(frozen=True)
class AebConfig:
    vehicle: VehicleConfig
    corridor: CorridorConfig
    brake: BrakeConfig
    lidar_frame: str
    lidar_extrinsic: Extrinsic
    latency_budget_ms: float = bounded(1.0, 1000.0, "sensor stamp to brake command")
    latency_window: int = bounded(10, 100000, "samples kept for latency percentiles")
    odometry_timeout_s: float = bounded(0.01, 5.0, "odometry older than this is stale")


class AebState(Enum):
    CRUISE = "cruise"
    BRAKING = "braking"
    HOLD = "hold"


@dataclass(frozen=True)
class Obstacle:
    """Closest in-corridor obstacle: gap from the front bumper and how many returns support it."""

    gap_m: float
    lateral_m: float
    n_points: int


@dataclass(frozen=True)
class Decision:
    stamp_ns: int
    accel_mps2: float
    state: AebState
    speed_mps: float
    gap_m: float
    ttc_s: float
    stopping_distance_m: float


def corridor_mask(points: np.ndarray, vehicle: VehicleConfig, corridor: CorridorConfig) -> np.ndarray:
    """Boolean mask of base_link points inside the straight corridor ahead of the front bumper."""
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    half_width = vehicle.width_m / 2 + corridor.lateral_margin_m
    front = vehicle.front_overhang_m
    return (
        (x > front)
        & (x < front + corridor.max_range_m)
        & (np.abs(y) < half_width)
        & (z > corridor.min_height_m)
        & (z < vehicle.height_m)
    )


def nearest_obstacle(points: np.ndarray, vehicle: VehicleConfig, corridor: CorridorConfig) -> Obstacle | None:
    """Closest obstacle in the corridor, or None when fewer than ``min_points`` returns fall in it.

    The gap is the ``min_points``-th closest return, so a few stray returns cannot set it.
    """
    inside = points[corridor_mask(points, vehicle, corridor)]
    k = corridor.min_points
    if inside.shape[0] < k:
        return None
    nearest = np.argpartition(inside[:, 0], k - 1)[:k]
    kth = nearest[np.argmax(inside[nearest, 0])]
    return Obstacle(
        gap_m=float(inside[kth, 0] - vehicle.front_overhang_m),
        lateral_m=float(inside[kth, 1]),
        n_points=int(inside.shape[0]),
    )


def stopping_distance(speed_mps: float, brake: BrakeConfig) -> float:
    """Distance needed to stop from ``speed_mps``, response time and standstill margin included."""
    speed = max(speed_mps, 0.0)
    return speed * brake.response_time_s + speed**2 / (2 * brake.planning_decel_mps2) + brake.stop_margin_m


def time_to_collision(gap_m: float, closing_speed_mps: float) -> float:
    """Seconds until contact at constant closing speed (inf when not closing)."""
    return gap_m / closing_speed_mps if closing_speed_mps > 0 else math.inf


def next_state(state: AebState, threat: bool, clear_frames: int, speed_mps: float, brake: BrakeConfig) -> AebState:
    """One transition of the braking state machine (CRUISE -> BRAKING -> HOLD -> CRUISE)."""
    released = clear_frames >= brake.release_clear_frames
    if state is AebState.CRUISE:
        return AebState.BRAKING if threat else AebState.CRUISE
    if released:
        return AebState.CRUISE
    if state is AebState.BRAKING and speed_mps <= brake.standstill_speed_mps:
        return AebState.HOLD
    return state


class AebCore:
    """Braking decisions for a stream of clouds and odometry; the node only converts and publishes."""

    def __init__(self, config: AebConfig) -> None:
        self.config = config
        self.state = AebState.CRUISE
        self._lidar_to_base = config.lidar_extrinsic.matrix()
        self._clear_frames = 0
        self._speed_mps: float | None = None
        self._odometry = RateTracker()
        self._clouds = RateTracker()
        self.latency = LatencyTracker(config.latency_window, config.latency_budget_ms)
        self.rejected: dict[str, int] = {}
        self._rejection_logged_ns: dict[str, int] = {}
        self.last: Decision | None = None

    def on_odometry(self, speed_mps: float, now_ns: int) -> None:
        self._speed_mps = speed_mps
        self._odometry.add(now_ns)

    def on_rejected(self, reason: str, now_ns: int) -> bool:
        """Count an input the node could not convert; True when this reason should be logged now.

        Each reason is logged at most once a second, so a flood of one kind cannot hide another.
        """
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        last = self._rejection_logged_ns.get(reason)
        if last is not None and now_ns - last < 1_000_000_000:
            return False
        self._rejection_logged_ns[reason] = now_ns
        return True

    def on_cloud(self, xyz_lidar: np.ndarray, stamp_ns: int, now_ns: int) -> Decision:
        """Decide on one cloud of finite ``(N, 3)`` lidar-frame points captured at ``stamp_ns``."""
        self._clouds.add(now_ns)
        cfg = self.config
        points = transform_points(self._lidar_to_base, xyz_lidar)
        obstacle = nearest_obstacle(points, cfg.vehicle, cfg.corridor)
        speed = self._speed_mps if self._speed_mps is not None else 0.0
        needed = stopping_distance(speed, cfg.brake)
        gap = obstacle.gap_m if obstacle else math.inf
        threat = gap <= needed
        # Braking latches while anything stays in the corridor: the stopping distance shrinks faster
        # than the gap under braking, so "gap > stopping distance" would release and re-trigger.
        self._clear_frames = self._clear_frames + 1 if obstacle is None else 0
        self.state = next_state(self.state, threat, self._clear_frames, speed, cfg.brake)
        braking = self.state is not AebState.CRUISE
        self.last = Decision(
            stamp_ns=stamp_ns,
            accel_mps2=-cfg.brake.decel_mps2 if braking else 0.0,
            state=self.state,
            speed_mps=speed,
            gap_m=gap,
            ttc_s=time_to_collision(gap, speed),
            stopping_distance_m=needed,
        )
        return self.last

    def on_published(self, stamp_ns: int, now_ns: int) -> float:
        """Record sensor-stamp -> brake-command latency once the command is out; returns ms."""
        return self.latency.add(stamp_ns, now_ns)

    def diagnostics(self, now_ns: int) -> Status:
        """One status summarising state, inputs and latency (ERROR while braking, as Autoware's AEB)."""
        cfg, latency = self.config, self.latency.summary()
        cloud_age, odom_age = self._clouds.age_s(now_ns), self._odometry.age_s(now_ns)
        levels, problems = [Level.OK], []
        if self.state is not AebState.CRUISE:
            levels.append(Level.ERROR)
            problems.append(f"emergency braking ({self.state.value})")
        if cloud_age > 1.0:
            levels.append(Level.ERROR)
            problems.append("no point cloud" if self._clouds.count == 0 else f"point cloud stale {cloud_age:.1f}s")
        if odom_age > cfg.odometry_timeout_s:
            levels.append(Level.ERROR)
            problems.append("no odometry" if self._odometry.count == 0 else f"odometry stale {odom_age:.1f}s")
        if self.rejected:
            levels.append(Level.WARN)
            problems.append(f"{sum(self.rejected.values())} input messages rejected")
        if latency.deadline_misses:
            levels.append(Level.WARN)
            problems.append(f"{latency.deadline_misses} decisions over the {cfg.latency_budget_ms:.0f} ms budget")
        last = self.last
        values = {
            "state": self.state.value,
            "gap_m": fmt(last.gap_m) if last else "nan",
            "ttc_s": fmt(last.ttc_s) if last else "nan",
            "speed_mps": fmt(last.speed_mps) if last else "nan",
            "cloud_rate_hz": fmt(self._clouds.rate_hz()),
            "cloud_age_s": fmt(cloud_age),
            "odometry_age_s": fmt(odom_age),
            "latency_p50_ms": fmt(latency.p50_ms),
            "latency_p99_ms": fmt(latency.p99_ms),
            "latency_max_ms": fmt(latency.max_ms),
            "deadline_misses": str(latency.deadline_misses),
            "decisions": str(latency.count),
        }
        values.update({f"rejected.{reason}": str(count) for reason, count in sorted(self.rejected.items())})
        return Status(worst(*levels), "av_edge: aeb", "; ".join(problems) or "ok", "aeb", values)
