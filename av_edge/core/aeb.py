"""Autonomous emergency braking v0: corridor crop, nearest in-path obstacle, stopping-distance decision.

Everything here is a pure function of its inputs except :class:`AebCore`, which keeps the little
state a decision needs (state machine, last speed, last object list, statistics). The obstacle and
its gap always come from the raw points (diverse redundancy); a fresh tracked object behind it
only refines the closing speed, and without one the obstacle is treated as stationary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from av_edge.core.config import bounded
from av_edge.core.diagnostics import Level, Status, fmt
from av_edge.core.geometry import Extrinsic, transform_points
from av_edge.core.health import NodeHealth
from av_edge.core.perception.objects import OBJECT_DTYPE


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
class ObjectsConfig:
    """Tracked objects from perception refine the closing speed; braking never depends on them."""

    timeout_s: float = bounded(0.0, 2.0, "older object lists are ignored (obstacles assumed stationary)")
    min_score: float = bounded(0.0, 1.0, "only tracks at least this confident (confirmed) give velocities")
    association_m: float = bounded(0.1, 10.0, "object near edge to in-path obstacle, after prediction")


@dataclass(frozen=True)
class AebConfig:
    vehicle: VehicleConfig
    corridor: CorridorConfig
    brake: BrakeConfig
    lidar_frame: str
    lidar_extrinsic: Extrinsic
    objects: ObjectsConfig
    latency_budget_ms: float = bounded(1.0, 1000.0, "sensor stamp to brake command")
    latency_window: int = bounded(10, 100000, "samples kept for latency percentiles")
    odometry_timeout_s: float = bounded(0.01, 5.0, "odometry older than this is stale")


CLOUD_TIMEOUT_S = 1.0


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
    lead_speed_mps: float  # over ground along base_link x, from a tracked object; 0 when assumed stationary
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


def stopping_distance(closing_speed_mps: float, brake: BrakeConfig) -> float:
    """Gap needed to shed ``closing_speed_mps`` (ego minus a constant-speed lead), response time and
    standstill margin included."""
    closing = max(closing_speed_mps, 0.0)
    return closing * brake.response_time_s + closing**2 / (2 * brake.planning_decel_mps2) + brake.stop_margin_m


def lead_speed(
    objects: np.ndarray, obstacle_x: float, ego_speed_mps: float, dt_s: float, config: AebConfig
) -> float | None:
    """Ground speed (base_link x) of the tracked object behind the in-path obstacle at ``obstacle_x``.

    ``objects`` (OBJECT_DTYPE, base_link) are ``dt_s`` older than the scan: their near edges are
    predicted forwards with their relative speed before matching. None when nothing matches.
    """
    cfg, half_width = config.objects, config.vehicle.width_m / 2 + config.corridor.lateral_margin_m
    c, s = np.abs(np.cos(objects["yaw"])), np.abs(np.sin(objects["yaw"]))
    reach_x = c * objects["length"] / 2 + s * objects["width"] / 2
    reach_y = s * objects["length"] / 2 + c * objects["width"] / 2
    near_x = objects["x"] - reach_x + (objects["vx"] - ego_speed_mps) * dt_s
    candidate = (objects["score"] >= cfg.min_score) & (np.abs(objects["y"]) - reach_y < half_width)
    candidate &= np.abs(near_x - obstacle_x) < cfg.association_m
    if not candidate.any():
        return None
    best = np.flatnonzero(candidate)[np.argmin(np.abs(near_x[candidate] - obstacle_x))]
    return float(objects["vx"][best])


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
        self._objects = np.zeros(0, dtype=OBJECT_DTYPE)
        self._objects_stamp_ns = 0
        self.health = NodeHealth(
            "aeb",
            {
                "point cloud": CLOUD_TIMEOUT_S,
                "odometry": config.odometry_timeout_s,
                "objects": config.objects.timeout_s,
            },
            config.latency_budget_ms,
            config.latency_window,
            optional=["objects"],
        )
        self.last: Decision | None = None

    def on_odometry(self, speed_mps: float, now_ns: int) -> None:
        self._speed_mps = speed_mps
        self.health.on_input("odometry", now_ns)

    def on_objects(self, objects: np.ndarray, stamp_ns: int, now_ns: int) -> None:
        """A perception object list (OBJECT_DTYPE, base_link) for the scan stamped ``stamp_ns``."""
        self._objects, self._objects_stamp_ns = objects, stamp_ns
        self.health.on_input("objects", now_ns)

    def _lead_speed(self, gap_m: float, speed: float, stamp_ns: int, now_ns: int) -> float:
        """Tracked lead speed when a fresh object list explains the obstacle, else 0 (stationary)."""
        if not math.isfinite(gap_m) or not self.health.fresh("objects", now_ns) or self._objects.size == 0:
            return 0.0
        dt = (stamp_ns - self._objects_stamp_ns) / 1e9
        obstacle_x = gap_m + self.config.vehicle.front_overhang_m
        found = lead_speed(self._objects, obstacle_x, speed, dt, self.config)
        return 0.0 if found is None else found

    def on_cloud(self, xyz_lidar: np.ndarray, stamp_ns: int, now_ns: int) -> Decision:
        """Decide on one cloud of finite ``(N, 3)`` lidar-frame points captured at ``stamp_ns``."""
        self.health.on_input("point cloud", now_ns)
        cfg = self.config
        points = transform_points(self._lidar_to_base, xyz_lidar)
        obstacle = nearest_obstacle(points, cfg.vehicle, cfg.corridor)
        speed = self._speed_mps if self._speed_mps is not None else 0.0
        gap = obstacle.gap_m if obstacle else math.inf
        lead = self._lead_speed(gap, speed, stamp_ns, now_ns)
        needed = stopping_distance(speed - lead, cfg.brake)
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
            lead_speed_mps=lead,
            gap_m=gap,
            ttc_s=time_to_collision(gap, speed - lead),
            stopping_distance_m=needed,
        )
        return self.last

    def diagnostics(self, now_ns: int) -> Status:
        """State, gap, TTC and input health (ERROR while braking, as Autoware's AEB)."""
        problems = []
        if self.state is not AebState.CRUISE:
            problems.append((Level.ERROR, f"emergency braking ({self.state.value})"))
        last = self.last
        values = {
            "state": self.state.value,
            "gap_m": fmt(last.gap_m) if last else "nan",
            "ttc_s": fmt(last.ttc_s) if last else "nan",
            "speed_mps": fmt(last.speed_mps) if last else "nan",
            "lead_speed_mps": fmt(last.lead_speed_mps) if last else "nan",
        }
        return self.health.status(now_ns, problems, values)
