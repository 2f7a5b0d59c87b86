"""AebCore: one decision per scan from points, odometry and (when fresh) tracked objects, and an
escalation when an object list predicts a crossing before the next scan.

It keeps the little state a decision needs (stage, speed, last object list, watchdog) and reports
events (stage changes, watchdog faults) for the shared ``/av_edge/events`` channel.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from av_edge.core.aeb.availability import Fault, Telltale
from av_edge.core.aeb.blind import BlindHold
from av_edge.core.aeb.camera import camera_threats, gated
from av_edge.core.aeb.config import AebConfig
from av_edge.core.aeb.motion import InPathMotion
from av_edge.core.aeb.path import EgoPath, lane_path, path_curvature
from av_edge.core.aeb.sparse import SparseObstacle
from av_edge.core.aeb.staging import AebState, next_state, requested_decel, threat_level
from av_edge.core.aeb.threat import (
    NO_THREAT,
    Obstacle,
    Threat,
    beyond_threats,
    clutter_mask,
    corridor_half_width,
    corridor_mask,
    crossing_threats,
    lead_motion,
    nearest_in,
    threat,
)
from av_edge.core.aeb.watchdog import Watchdog, cut_by_blind_sectors
from av_edge.core.diagnostics import Level, Status, fmt
from av_edge.core.ego import EgoPose, check_motion
from av_edge.core.errors import InvalidOdometryError
from av_edge.core.geometry import transform_points
from av_edge.core.health import NodeHealth
from av_edge.core.objects import OBJECT_DTYPE, SOURCE_CAMERA

CLOSING_AT_REST_MPS = 0.3  # below this the ego is not closing on the obstacle (tracking noise)
CAMERA_HEALTH_TIMEOUT_NS = 3_000_000_000  # perception reports camera health at 1 Hz: older reports lapse


@dataclass(frozen=True)
class Decision:
    stamp_ns: int
    accel_mps2: float  # requested longitudinal acceleration: 0 or negative
    state: AebState
    speed_mps: float
    threat: Threat
    faults: tuple[str, ...]

    @property
    def gap_m(self) -> float:
        return self.threat.gap_m

    @property
    def ttc_s(self) -> float:
        return self.threat.ttc_s

    @property
    def lead_speed_mps(self) -> float:
        return self.threat.lead_speed_mps


class AebCore:
    def __init__(self, config: AebConfig) -> None:
        self.config = config
        self.state = AebState.CRUISE
        self._lidar_to_base = config.lidar_extrinsic.matrix()
        self._clear_frames = 0
        self._speed = 0.0
        self._yaw_rate = 0.0
        self._pose: EgoPose | None = None  # odom, at the last odometry
        self._lane: np.ndarray | None = None  # lane centre line (M, 2), odom
        self._objects = np.zeros(0, dtype=OBJECT_DTYPE)  # LiDAR objects of the last list
        self._camera_objects = np.zeros(0, dtype=OBJECT_DTYPE)  # its camera-only objects
        self._camera_counts: dict[int, int] = {}  # camera-only track id -> lists in a row it was in the path
        self._camera_stamp_ns = -1
        self._camera_faults: dict[str, tuple[str, ...]] = {}  # camera -> faults (empty: healthy), from perception
        self._camera_health_ns = -CAMERA_HEALTH_TIMEOUT_NS
        self._objects_stamp_ns = 0
        self._motion = InPathMotion(config.motion)
        self._sparse = SparseObstacle(config.sparse, config.motion)
        sensor = (float(self._lidar_to_base[0, 3]), float(self._lidar_to_base[1, 3]))
        watchdog = config.watchdog
        self._blind = BlindHold(
            watchdog.blind_hold_s, watchdog.blockage_sector_deg, sensor, config.vehicle.front_overhang_m
        )
        self._crossing_counts: dict[int, int] = {}  # track id -> object lists in a row predicting a crossing
        self._crossing_stamp_ns = -1
        self.health = NodeHealth(
            "aeb",
            {
                "point cloud": config.watchdog.lidar_timeout_s,
                "odometry": config.odometry_timeout_s,
                "objects": config.objects.timeout_s,
            },
            config.latency_budget_ms,
            config.latency_window,
            optional=["objects"],
        )
        self.watchdog = Watchdog(config.watchdog, self.health)
        self.last: Decision | None = None
        self._fault_key = Telltale.of([]).key()  # the faults last reported as an event
        self.events: list[Status] = []  # drained by the node

    def on_odometry(self, speed_mps: float, yaw_rate: float, now_ns: int, pose: EgoPose | None = None) -> None:
        """Ego speed, yaw rate and odom ``pose`` (it places the lane); :class:`InvalidOdometryError` when unusable.

        A rejected value changes nothing: the last valid speed holds until ``odometry_timeout_s``,
        then the watchdog's "odometry invalid" fault and degraded action take over.
        """
        try:
            check_motion(speed_mps, yaw_rate, self.config.odometry_limits)
        except InvalidOdometryError as err:
            self.watchdog.odometry_error = str(err)
            raise
        self._speed, self._yaw_rate, self._pose = speed_mps, yaw_rate, None
        self.watchdog.odometry_error = None
        self.health.on_input("odometry", now_ns)
        if pose is not None:  # a bad pose only loses the lane (raised after the speed is taken)
            self._pose = pose.check(self.config.odometry_limits)

    def on_lane(self, centre_line_odom: np.ndarray | None) -> None:
        """The ego lane's centre line, ``(M, 2)`` finite odom points at least 2 apart (None: no lane known)."""
        if centre_line_odom is not None:
            ok = centre_line_odom.ndim == 2 and centre_line_odom.shape[0] >= 2 and centre_line_odom.shape[1] == 2
            if not ok or not np.isfinite(centre_line_odom).all():
                shape = centre_line_odom.shape
                raise ValueError(f"a lane centre line needs >= 2 finite (x, y) points, got shape {shape}")
        self._lane = centre_line_odom

    def path(self, stamp_ns: int) -> EgoPath | float:
        """The predicted path at ``stamp_ns``: along the lane while the ego follows it, else the yaw-rate arc."""
        cfg = self.config
        curvature = path_curvature(self._speed, self._yaw_rate, cfg.corridor.max_curvature)
        if self._lane is None or self._pose is None:
            return curvature
        pose = self._pose.at(stamp_ns)
        reach = cfg.vehicle.front_overhang_m + cfg.corridor.max_range_m
        lane = lane_path(self._lane, (pose.x, pose.y, pose.yaw), curvature, reach, cfg.lane)
        return curvature if lane is None else lane

    def on_objects(self, objects: np.ndarray, stamp_ns: int, now_ns: int) -> Decision | None:
        """A perception object list (OBJECT_DTYPE, base_link) for the scan stamped ``stamp_ns``.

        The list arrives after the scan it came from was decided on. When its crossing threats ask
        for a higher stage than the current one, the AEB escalates now (a Decision stamped with the
        list's scan) rather than one scan later; it never releases or lowers a stage here: the next
        scan decides on everything. None when nothing changes.
        """
        camera = objects["source"] == SOURCE_CAMERA
        self._objects, self._camera_objects = objects[~camera], objects[camera]
        self._objects_stamp_ns = stamp_ns
        self.health.on_input("objects", now_ns)
        if self.last is not None and stamp_ns < self.last.stamp_ns:
            return None
        if self._lidar_silent(now_ns):  # no scans: the list decides alone, as a scan without points would
            path = self.path(stamp_ns)
            threats = [NO_THREAT, *self._crossing(self._speed, path, stamp_ns, now_ns)]
            threats += self._camera(self._speed, path, stamp_ns, now_ns)
            return self._step(threats, self._speed, stamp_ns, now_ns, holding=False)
        if self.last is None or self.state is AebState.HOLD:
            return None
        speed = self._speed
        path = self.path(stamp_ns)
        crossing = self._crossing(speed, path, stamp_ns, now_ns) + self._camera(speed, path, stamp_ns, now_ns)
        if not crossing:
            return None
        worst = max(crossing, key=lambda t: t.required_decel_mps2)
        level = max(threat_level(t, self.config.brake) for t in crossing)
        previous = self.state
        self.state = next_state(previous, level, stopped=False, released=False)
        if self.state is previous:
            return None
        self._clear_frames = 0
        self.last = self._decision(stamp_ns, speed, worst, now_ns)
        self.events.append(self._state_event(previous, self.last))
        return self.last

    def on_cloud(self, xyz_lidar: np.ndarray, stamp_ns: int, now_ns: int) -> Decision:
        """Decide on one scan of finite ``(N, 3)`` lidar-frame points captured at ``stamp_ns``."""
        self.health.on_input("point cloud", now_ns)
        cfg, speed = self.config, self._speed
        path = self.path(stamp_ns)
        points = transform_points(self._lidar_to_base, xyz_lidar)
        # Drops (rain, spray) are never an obstacle: looked for in the corridor and a band beside it
        # (a corridor return's cell-mates lie within a cell's width), near enough to return from one.
        band, s, d = corridor_mask(points, path, cfg.vehicle, cfg.corridor, cfg.clutter.band_m)
        near = band & (s < cfg.vehicle.front_overhang_m + cfg.clutter.max_range_m)
        drops = clutter_mask(near, xyz_lidar, cfg.clutter)
        self.watchdog.on_cloud(xyz_lidar, int(np.count_nonzero(drops)), stamp_ns, now_ns)
        corridor = band & (d < corridor_half_width(cfg.vehicle, cfg.corridor)) & ~drops
        obstacle = nearest_in(points, corridor, s, cfg.vehicle, cfg.corridor)
        measured = self._motion.update(None if obstacle is None else obstacle.gap_m, speed, stamp_ns)
        nearest_gap = math.inf if obstacle is None else obstacle.gap_m
        front = cfg.vehicle.front_overhang_m
        low = self._sparse.update(points, corridor, s, d, nearest_gap, front, speed, stamp_ns)
        if low is not None:  # a standing obstacle too sparse for one scan, in front of it (debris)
            obstacle, measured = low
        blocked = self.watchdog.blocked_sectors
        obstacle, measured = self._blind.update(obstacle, measured, speed, stamp_ns, blocked)
        in_path = self._points_threat(obstacle, measured, speed, stamp_ns, now_ns)
        crossing = self._crossing(speed, path, stamp_ns, now_ns) + self._camera(speed, path, stamp_ns, now_ns)
        if obstacle is not None and self.health.fresh("objects", now_ns):
            dt = (stamp_ns - self._objects_stamp_ns) / 1e9
            crossing += beyond_threats(self._objects, speed, path, obstacle.gap_m, dt, cfg)
        # No release while still closing on an in-path obstacle (the required deceleration fades as
        # braking works, and letting go would roll the car on), nor while one stands this close.
        holding = obstacle is not None and (
            obstacle.gap_m <= cfg.brake.hold_distance_m or in_path.closing_mps > CLOSING_AT_REST_MPS
        )
        return self._step([in_path, *crossing], speed, stamp_ns, now_ns, holding)

    def _step(self, threats: list[Threat], speed: float, stamp_ns: int, now_ns: int, holding: bool) -> Decision:
        """One decision on ``threats`` (a scan's, or a list's while no scan comes): the stage moves."""
        cfg = self.config
        worst = max(threats, key=lambda t: t.required_decel_mps2)
        level = max(threat_level(t, cfg.brake) for t in threats)
        stopped = speed <= cfg.brake.standstill_speed_mps
        self._clear_frames = self._clear_frames + 1 if level == 0 and not holding else 0
        previous = self.state
        self.state = next_state(self.state, level, stopped, self._clear_frames >= cfg.brake.release_clear_frames)
        self.last = self._decision(stamp_ns, speed, worst, now_ns)
        if self.state is not previous:
            self.events.append(self._state_event(previous, self.last))
        return self.last

    def _lidar_silent(self, now_ns: int) -> bool:
        """No scan for the LiDAR timeout (dead or stale), while the camera fallback could stand in."""
        return (
            self.config.camera.enabled
            and self.health.age_s("point cloud", now_ns) > self.config.watchdog.lidar_timeout_s
        )

    def _decision(self, stamp_ns: int, speed: float, worst: Threat, now_ns: int) -> Decision:
        """The command of the current stage (full braking on a fault when the degraded action is to brake)."""
        faults = self._note_faults(now_ns)
        decel = requested_decel(self.state, self.config.brake)
        if faults and self.config.watchdog.degraded_action == "brake":
            decel = max(decel, self.config.brake.full_decel_mps2)
        return Decision(stamp_ns, -decel, self.state, speed, worst, faults)

    def _crossing(self, speed: float, path: EgoPath | float, stamp_ns: int, now_ns: int) -> list[Threat]:
        """Crossing threats of tracks predicted to cross on ``crossing_lists`` object lists in a row."""
        if not self.health.fresh("objects", now_ns):
            self._crossing_counts = {}
            return []
        dt = (stamp_ns - self._objects_stamp_ns) / 1e9
        objects = self._objects
        if self.watchdog.blocked_sectors:  # a blind edge fakes motion: nothing cut by one is predicted
            sensor = self._lidar_to_base[np.ix_([0, 1, 3], [0, 1, 3])]
            margin = self.config.watchdog.blockage_sector_deg  # the blockage may reach into the next sector
            objects = objects[~cut_by_blind_sectors(objects, self.watchdog.blocked_sectors, sensor, margin)]
        found = crossing_threats(objects, speed, path, dt, self.config)
        if self._objects_stamp_ns != self._crossing_stamp_ns:  # a new list: count it once
            self._crossing_counts = {t.track_id: self._crossing_counts.get(t.track_id, 0) + 1 for t in found}
            self._crossing_stamp_ns = self._objects_stamp_ns
        return [t for t in found if self._crossing_counts.get(t.track_id, 0) >= self.config.objects.crossing_lists]

    def _camera(self, speed: float, path: EgoPath | float, stamp_ns: int, now_ns: int) -> list[Threat]:
        """Camera-only objects in the path, while the LiDAR is degraded (the camera fallback)."""
        degraded = any(f.sensor == "lidar" for f in self.watchdog.sensor_faults(now_ns))
        if not (self.config.camera.enabled and degraded and self.health.fresh("objects", now_ns)):
            self._camera_counts = {}  # lists in a row start again when the fallback does
            return []
        dt = (stamp_ns - self._objects_stamp_ns) / 1e9
        found = camera_threats(self._camera_objects, speed, path, dt, self.config)
        if self._objects_stamp_ns != self._camera_stamp_ns:  # a new list: count it once
            self._camera_counts = {t.track_id: self._camera_counts.get(t.track_id, 0) + 1 for t in found}
            self._camera_stamp_ns = self._objects_stamp_ns
        return gated(found, self._camera_counts, self.config)

    def _points_threat(
        self, obstacle: Obstacle | None, measured: float | None, speed: float, stamp_ns: int, now_ns: int
    ) -> Threat:
        if obstacle is None:
            return NO_THREAT
        gap = obstacle.gap_m
        if self._blind.holding:  # hidden in a blind sector: as last measured
            return dataclasses.replace(threat("points", gap, speed, measured or 0.0, 0.0, self.config), source="held")
        # The range rate measures the obstacle's speed (``measured``) once ``motion.min_samples`` scans
        # agree; a mature track behind it gives its speed and deceleration. Until either does, its
        # motion is unknown: no threat yet (never "stationary until proven otherwise").
        lead_speed, lead_decel = measured, 0.0
        if self.health.fresh("objects", now_ns) and self._objects.size:
            dt = (stamp_ns - self._objects_stamp_ns) / 1e9
            x = gap + self.config.vehicle.front_overhang_m
            motion = lead_motion(self._objects, x, obstacle.lateral_m, speed, dt, self.config)
            if motion is not None:
                lead_speed, lead_decel = motion
        if lead_speed is None:
            return Threat("points", gap, 0.0, 0.0, 0.0, 0.0, math.inf)
        return threat("points", gap, speed, lead_speed, lead_decel, self.config)

    def check(self, now_ns: int) -> tuple[str, ...]:
        """Watchdog poll between scans: the current faults (events are raised when they change)."""
        return self._note_faults(now_ns)

    def on_camera_health(self, faults: dict[str, tuple[str, ...]], now_ns: int) -> None:
        """Perception's report on each camera it checks: its faults (blank, frozen, ...; empty: healthy)."""
        self._camera_faults, self._camera_health_ns = dict(faults), now_ns

    def telltale(self, now_ns: int) -> Telltale:
        """Availability for the driver and downstream consumers (FMVSS No. 127's malfunction telltale).

        A faulty camera degrades it (the camera fallback loses that view). A silent LiDAR leaves it
        degraded, not unavailable, while object lists come and some camera is healthy."""
        faults = self.watchdog.sensor_faults(now_ns)
        cameras = self._camera_faults if now_ns - self._camera_health_ns <= CAMERA_HEALTH_TIMEOUT_NS else {}
        blind = [Fault("camera", name, f"{name}: {'; '.join(why)}", False) for name, why in cameras.items() if why]
        seeing = not cameras or len(blind) < len(cameras)
        if self._lidar_silent(now_ns) and self.health.fresh("objects", now_ns) and seeing:
            faults = [dataclasses.replace(f, disabling=False) if f.sensor == "lidar" else f for f in faults]
        return Telltale.of([*faults, *blind])

    def degraded_command(self, now_ns: int) -> float | None:
        """Deceleration the watchdog demands while scans are missing (None: nothing to add)."""
        faults = self.check(now_ns)
        if faults and self.config.watchdog.degraded_action == "brake":
            return self.config.brake.full_decel_mps2
        return None

    def _note_faults(self, now_ns: int) -> tuple[str, ...]:
        """The watchdog's faults now; an event when their set (input and kind) changes. A stale input's
        growing age or a dropout share moving is not a change: 20 events a second would bury it."""
        found = Telltale.of(self.watchdog.sensor_faults(now_ns))
        faults = tuple(f.reason for f in found.faults)
        if found.key() != self._fault_key:
            action = self.config.watchdog.degraded_action
            message = f"{'; '.join(faults)} (degraded: {action})" if faults else "recovered"
            values = {"availability": found.availability.value, "faults": "; ".join(faults)}
            self.events.append(Status(found.level, "aeb/watchdog", message, "aeb", values))
            self._fault_key = found.key()
        return faults

    def _state_event(self, previous: AebState, decision: Decision) -> Status:
        kind = {AebState.WARNING: "forward_collision_warning", AebState.CRUISE: "released"}.get(
            decision.state, "emergency_braking"
        )
        t = decision.threat
        return Status(
            Level.OK,  # the AEB doing its job is no fault: a monitor must not page on every stop
            f"aeb/{kind}",
            f"{previous.value} -> {decision.state.value} ({t.source})",
            "aeb",
            {
                "state": decision.state.value,
                "gap_m": fmt(t.gap_m),
                "ttc_s": fmt(t.ttc_s),
                "speed_mps": fmt(decision.speed_mps),
                "lead_speed_mps": fmt(t.lead_speed_mps),
                "required_decel_mps2": fmt(t.required_decel_mps2),
            },
        )

    def diagnostics(self, now_ns: int) -> Status:
        """State, threat and input health. Braking is the AEB working, not a fault: the state is in the
        values and the level stays OK (unlike Autoware's AEB, whose ERROR on every stop pages a
        monitor); WARN while degraded, ERROR while unavailable or an input is missing."""
        problems = []
        faults = self.check(now_ns)
        if faults:
            level = self.telltale(now_ns).level
            problems.append(
                (level, f"watchdog: {'; '.join(faults)} (degraded: {self.config.watchdog.degraded_action})")
            )
        last = self.last
        t = last.threat if last else NO_THREAT
        values = {
            "state": self.state.value,
            "threat": t.source,
            "gap_m": fmt(t.gap_m),
            "ttc_s": fmt(t.ttc_s),
            "relative_speed_mps": fmt(t.closing_mps),
            "required_decel_mps2": fmt(t.required_decel_mps2),
            "speed_mps": fmt(last.speed_mps) if last else "nan",
            "lead_speed_mps": fmt(t.lead_speed_mps),
        }
        return self.health.status(now_ns, problems, values)
