"""One closed-loop scenario: the ego follows the road, actors move on script, brake commands act.

Time is passed in (``now_ns``); the ROS node drives it from the clock (real time), the suite's
lock-step runner by hand. Everything reported is computed here, so both modes grade alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from av_edge.core.camera import CameraConfig
from av_edge.core.config import bounded
from av_edge.core.latency import LatencyTracker
from av_edge.core.vehicle import VehicleConfig
from av_edge.sim.actors import PEOPLE, Actor, ground_truth
from av_edge.sim.detection_data import MIN_HEIGHT_PX, labelled
from av_edge.sim.dynamics import DynamicsConfig, EgoDynamics
from av_edge.sim.geometry2d import polygon_distance
from av_edge.sim.lidar import LidarConfig, LidarModel
from av_edge.sim.oracle import OracleConfig, OracleResult, judge
from av_edge.sim.render import CameraRenderer
from av_edge.sim.road import Road
from av_edge.sim.scenario import Scenario
from av_edge.sim.world import Box

ACTIVATION_DECEL_MPS2 = 0.1 * 9.81  # FMVSS 127 false-activation threshold (we hold ourselves to 0.1 g)
ORACLE_MIN_POINTS = 5  # returns on an actor from which the ideal system knows it
ORACLE_MIN_HEIGHT_PX = 20  # ... or its height in a camera image by day (full-stack runs)


@dataclass(frozen=True)
class SimConfig:
    vehicle: VehicleConfig
    dynamics: DynamicsConfig
    lidar: LidarConfig
    rear_overhang_m: float = bounded(0.0, 5.0, "base_link (rear axle) to rear bumper")
    seed: int = bounded(0, 2**31 - 1)
    standstill_hold_s: float = bounded(0.0, 10.0, "stopped this long ends the run")
    latency_budget_ms: float = bounded(1.0, 1000.0, "sensor stamp to brake command received")
    objects_delay_ms: float = bounded(0.0, 1000.0, "lock-step: scan stamp to the LiDAR object list at the AEB")
    fused_objects_delay_ms: float = bounded(
        0.0, 1000.0, "lock-step, full stack: scan stamp to the fused object list at the AEB (cost profile)"
    )


@dataclass(frozen=True)
class EgoState:
    x: float
    y: float
    yaw: float
    speed_mps: float
    yaw_rate: float
    decel_mps2: float


class Simulation:
    def __init__(
        self, config: SimConfig, scenario: Scenario, start_ns: int, cameras: Sequence[CameraConfig] = ()
    ) -> None:
        self.config = config
        self.scenario = scenario
        self.road = scenario.road
        self.ego = EgoDynamics(config.dynamics, x=0.0, speed_mps=scenario.ego_speed_mps, now_ns=start_ns)
        self.lidar = LidarModel(
            config.lidar,
            config.seed if scenario.seed is None else scenario.seed,
            scenario.lidar_dropout,
            scenario.lidar_blockage_deg,
            scenario.lidar_clutter,
            scenario.lidar_noise_m,
        )
        self.seen_s = [math.inf] * len(scenario.actors)  # first scan with enough returns on each actor
        self._fault_applied = False
        self._camera_sight = False  # the stack sees through cameras by day (full stack): the oracle too
        self._last_frames: dict[str, np.ndarray] = {}  # each camera's last frame before a camera fault
        self.cameras = [CameraRenderer(camera, config.seed + i) for i, camera in enumerate(cameras)]
        self.start_ns = start_ns
        self.latency = LatencyTracker(window=100000, budget_ms=config.latency_budget_ms)
        self.brake_onset_ttc_s = math.nan
        self.brake_onset_s = math.nan
        self.min_gap_m = math.inf
        self.max_decel_mps2 = 0.0
        self.contact_speed_mps: float | None = None
        self.commands = 0
        self.series: dict[str, list[float]] = {"t": [], "speed": [], "decel": [], "request": [], "gap": []}
        self._request = 0.0
        self._stopped_since_ns: int | None = None

    def t(self, now_ns: int) -> float:
        return (now_ns - self.start_ns) / 1e9

    def state(self) -> EgoState:
        x, y, yaw = self.road.pose(self.ego.x, self.scenario.ego_d)
        return EgoState(x, y, yaw, self.ego.speed, self.ego.speed * self.road.curvature_at(self.ego.x), self.ego.decel)

    def boxes(self, now_ns: int) -> list[Box]:
        t = self.t(now_ns)
        return [box for actor in self.scenario.actors for box in actor.boxes(self.road, t)]

    def ground_truth(self, now_ns: int) -> np.ndarray:
        return ground_truth(list(self.scenario.actors), self.road, self.t(now_ns))

    def ego_footprint(self) -> np.ndarray:
        state, v = self.state(), self.config.vehicle
        front, rear, half = v.front_overhang_m, self.config.rear_overhang_m, v.width_m / 2
        corners = np.array([[front, half], [-rear, half], [-rear, -half], [front, -half]])
        c, s = math.cos(state.yaw), math.sin(state.yaw)
        return corners @ np.array([[c, s], [-s, c]]) + (state.x, state.y)

    def nearest(self, now_ns: int) -> tuple[float, float]:
        """Footprint distance to the nearest solid actor and the closing speed towards it."""
        t, ego, state = self.t(now_ns), self.ego_footprint(), self.state()
        best, closing = math.inf, 0.0
        for actor in self.scenario.actors:
            if not actor.solid:
                continue
            footprint = (
                actor.boxes(self.road, t)[0].footprint()
                if actor.kind not in PEOPLE
                else _person_footprint(actor, self.road, t)
            )
            gap = polygon_distance(ego, footprint)
            if gap < best:
                vx, vy = actor.velocity(self.road, t)
                best = gap
                closing = state.speed_mps - (vx * math.cos(state.yaw) + vy * math.sin(state.yaw))
        return best, closing

    def advance(self, now_ns: int) -> None:
        self.ego.advance(now_ns)
        gap, closing = self.nearest(now_ns)
        self.min_gap_m = min(self.min_gap_m, gap)
        self.max_decel_mps2 = max(self.max_decel_mps2, self.ego.decel)
        if gap <= 0.0 and self.contact_speed_mps is None:
            self.contact_speed_mps = max(closing, 0.0)
        stopped = self.ego.speed <= 1e-3
        if not stopped:
            self._stopped_since_ns = None
        elif self._stopped_since_ns is None:
            self._stopped_since_ns = now_ns
        for key, value in zip(
            self.series, (self.t(now_ns), self.ego.speed, self.ego.decel, self._request, gap), strict=True
        ):
            self.series[key].append(value)

    def lidar_alive(self, now_ns: int) -> bool:
        """False once a ``dead`` LiDAR fault has begun: no scan is to be published."""
        fault = self.scenario.lidar_fault
        return fault is None or fault.kind != "dead" or self.t(now_ns) < fault.from_s

    def fault_onset_s(self, cameras: bool = True) -> float | None:
        """When the scenario's first sensor fault begins (None: it has none); a camera fault counts only
        with ``cameras`` (a run whose stack looks at them)."""
        faults = (self.scenario.lidar_fault, self.scenario.camera_fault if cameras else None)
        return min((f.from_s for f in faults if f is not None), default=None)

    def capture(self, now_ns: int) -> np.ndarray:
        """A LiDAR scan at the current ego pose, actors where they are at ``now_ns``, in the sensor frame
        (with the scenario's LiDAR fault once it has begun)."""
        state, t = self.state(), self.t(now_ns)
        fault = self.scenario.lidar_fault
        if fault is not None and not self._fault_applied and t >= fault.from_s:
            if fault.kind == "blocked":
                self.lidar.block(fault.sector_deg)
            elif fault.kind == "dropout":
                self.lidar.lose(fault.dropout)
            elif fault.kind == "rain":
                self.lidar.rain(fault.clutter)
            self._fault_applied = True
        per_actor = [actor.boxes(self.road, t) for actor in self.scenario.actors]
        points = self.lidar.scan(state.x, state.y, state.yaw, [box for group in per_actor for box in group])
        owner = np.repeat(np.arange(len(per_actor)), [len(group) for group in per_actor])
        returns = np.bincount(owner, weights=self.lidar.hits, minlength=len(per_actor))
        for i in np.flatnonzero(returns >= ORACLE_MIN_POINTS):
            self.seen_s[i] = min(self.seen_s[i], t)
        return points

    def render(self, now_ns: int, see: bool = False) -> dict[str, np.ndarray]:
        """A BGR image per camera of the rig, of the scene at ``now_ns`` (as the scenario's camera fault
        leaves it). With ``see`` (a run whose stack detects on them), by day an actor a working camera
        shows ``ORACLE_MIN_HEIGHT_PX`` tall is known to the oracle from then on, as one with enough
        LiDAR returns."""
        t = self.t(now_ns)
        if see and self.scenario.lighting == "day":
            self._camera_sight = True
            images, shown = self.render_visible(now_ns, ORACLE_MIN_HEIGHT_PX)
            working = [seen for name, seen in shown.items() if not self._camera_failed(name, t)]
            for i in np.flatnonzero(np.any(working, axis=0)) if working else ():
                self.seen_s[i] = min(self.seen_s[i], t)
            return self._camera_faults(images, t)
        state, boxes = self.state(), self.boxes(now_ns)
        night = self.scenario.lighting == "night"
        images = {
            r.camera.name: r.render((state.x, state.y, state.yaw), boxes, self.road, self.ego.x, night)
            for r in self.cameras
        }
        return self._camera_faults(images, t)

    def _camera_failed(self, camera: str, t: float) -> bool:
        fault = self.scenario.camera_fault
        return fault is not None and fault.covers(camera, t)

    def _camera_faults(self, images: dict[str, np.ndarray], t: float) -> dict[str, np.ndarray]:
        """``images`` as failed cameras send them: a covered lens, or the last good frame again."""
        fault = self.scenario.camera_fault
        for renderer in self.cameras:
            name = renderer.camera.name
            if fault is None or not fault.covers(name, t):
                self._last_frames[name] = images[name]
            elif fault.kind == "blind":
                images[name] = renderer.covered()
            else:  # frozen: the frame before the fault, resent (the first one if it failed from the start)
                images[name] = self._last_frames.setdefault(name, images[name]).copy()
        return images

    def render_visible(
        self, now_ns: int, min_height_px: int = MIN_HEIGHT_PX
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """As :meth:`render`, plus per camera which actors it shows as the detector's training labels
        require (:func:`~av_edge.sim.detection_data.labelled`; actor order), ``min_height_px`` tall."""
        state, t = self.state(), self.t(now_ns)
        per_actor = [actor.boxes(self.road, t) for actor in self.scenario.actors]
        boxes = [box for group in per_actor for box in group]
        owner = np.repeat(np.arange(len(per_actor)), [len(group) for group in per_actor])
        night = self.scenario.lighting == "night"
        images, visible = {}, {}
        for r in self.cameras:
            instances = np.zeros((r.camera.height, r.camera.width), np.uint16)
            pose = (state.x, state.y, state.yaw)
            images[r.camera.name] = r.render(pose, boxes, self.road, self.ego.x, night, instances=instances)
            visible[r.camera.name] = labelled(instances, owner, len(per_actor), min_height_px)
        return images, visible

    def on_brake_command(
        self, accel_mps2: float, stamp_ns: int, apply_ns: int, latency_ms: float | None = None
    ) -> None:
        """A brake command answering the scan stamped ``stamp_ns`` acts from ``apply_ns``.

        ``latency_ms`` is the measured sensor -> command latency when it differs from
        ``apply_ns - stamp_ns`` (lock-step mode applies commands after the fixed budget).
        """
        self.commands += 1
        if latency_ms is None:
            self.latency.add(stamp_ns, apply_ns)
        else:
            self.latency.add(0, int(latency_ms * 1e6))
        self._request = -accel_mps2
        if accel_mps2 < 0 and math.isnan(self.brake_onset_s):
            self.brake_onset_s = self.t(apply_ns)
            gap, closing = self.nearest(apply_ns)
            self.brake_onset_ttc_s = gap / closing if closing > 0 else math.inf
        self.ego.command(-accel_mps2, apply_ns)

    def finished(self, now_ns: int) -> bool:
        if self.contact_speed_mps is not None:
            return True
        stopped_ns = self._stopped_since_ns
        if stopped_ns is not None and (now_ns - stopped_ns) / 1e9 >= self.config.standstill_hold_s:
            return True
        return self.t(now_ns) >= self.scenario.duration_s

    def oracle(self) -> OracleResult:
        """What an ideal system would have achieved here (:mod:`av_edge.sim.oracle`)."""
        cfg, dynamics = self.config, self.config.dynamics
        oracle_config = OracleConfig(
            scan_period_s=1.0 / cfg.lidar.rate_hz,
            latency_s=cfg.latency_budget_ms / 1000,
            actuator_delay_s=dynamics.actuator_delay_s,
            brake_jerk_mps3=dynamics.brake_jerk_mps3,
            max_decel_mps2=dynamics.max_decel_mps2,
            front_m=cfg.vehicle.front_overhang_m,
            rear_m=cfg.rear_overhang_m,
            width_m=cfg.vehicle.width_m,
            min_points=ORACLE_MIN_POINTS,
        )
        s = self.scenario
        # With a dead LiDAR the ideal system, too, gets no scan to brake on from the fault's onset
        # (unless it sees through cameras: a full-stack run by day).
        fault = s.lidar_fault
        dead = fault is not None and fault.kind == "dead" and not self._camera_sight
        blind = fault.from_s if dead and fault is not None else math.inf
        return judge(s.actors, s.road, s.ego_speed_mps, s.ego_d, s.duration_s, self.seen_s, oracle_config, blind)

    def result(self) -> dict[str, Any]:
        """The run's outcome as a JSON-ready record."""
        latency = self.latency.summary()
        contact_speed = self.contact_speed_mps
        activated = self.max_decel_mps2 > ACTIVATION_DECEL_MPS2
        if contact_speed is not None:
            outcome = "contact"
        elif self.scenario.expected == "not_activated":
            outcome = "activated" if activated else "not_activated"
        else:
            outcome = "no_contact"
        gap_now = self.series["gap"][-1] if self.series["gap"] else math.inf
        oracle = self.oracle()
        return {
            "scenario": self.scenario.name,
            "category": self.scenario.category,
            "lighting": self.scenario.lighting,
            "ego_kmh": self.scenario.ego_speed_kmh,
            "expected": self.scenario.expected,
            "outcome": outcome,
            "passed": outcome == self.scenario.expected,
            "min_gap_m": _rounded(max(self.min_gap_m, 0.0)),
            "stop_gap_m": _rounded(gap_now) if self.ego.speed <= 1e-3 and contact_speed is None else None,
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
            "avoidable": oracle.avoidable,
            "oracle_impact_kmh": _rounded(oracle.impact_kmh),
            "oracle_brake_onset_s": _rounded(oracle.brake_onset_s),
            "unbraked_impact_kmh": _rounded(oracle.unbraked_impact_kmh),
        }


def _person_footprint(actor: Actor, road: Road, t: float) -> np.ndarray:
    """A pedestrian's contact footprint: the torso's box (legs swing inside it)."""
    torso = actor.boxes(road, t)[2]
    return torso.footprint()


def _rounded(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 3)
