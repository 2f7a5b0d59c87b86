"""Message-level node logic: ROS messages in, ROS messages out, no rclpy node, no DDS.

Each node is a thin wrapper that feeds its subscriptions into a handler and publishes what comes
back; the suite's lock-step runner and the regression replay drive the same handlers in-process
(as openpilot's process_replay drives its processes), so what is tested is what runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry, Path
from sensor_msgs.msg import PointCloud2

from av_edge.core.aeb import AebConfig, AebCore, Decision, TelltalePublisher
from av_edge.core.diagnostics import EventLimiter, Status, fmt
from av_edge.core.ego import EgoPose
from av_edge.core.errors import MessageError
from av_edge.core.fusion.associate import EgoMotion
from av_edge.core.geometry import require_frame
from av_edge.core.health import NodeHealth
from av_edge.core.objects import decode_objects, encode_objects
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.perception.pipeline import LidarPipeline, PerceptionFrame
from av_edge.core.pointcloud import array_to_cloud, xyz_from_cloud
from av_edge.core.sensor_health import CAMERA_STATUS_PREFIX
from av_edge.ros.messages import (
    cloud_msg,
    diagnostic_array,
    diagnostic_status,
    ego_pose,
    header,
    path_points,
    stamp_to_ns,
    statuses,
)

Log = Callable[[str], None]
OBSTACLE_DTYPE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("cluster_id", "<i4")])


def _lidar_points(msg: PointCloud2, frame: str, health: NodeHealth, now_ns: int, log: Log) -> np.ndarray | None:
    """Finite xyz of a scan in ``frame``, or None after counting (and maybe logging) the rejection."""
    try:
        require_frame(msg.header.frame_id, frame)
        return xyz_from_cloud(msg)
    except MessageError as err:
        health.reject(err.reason, "point cloud", err, now_ns, log)
        return None


class AebHandler:
    def __init__(self, config: AebConfig, log: Log) -> None:
        self.core = AebCore(config)
        self._log = log
        self._telltale = TelltalePublisher()
        self._events = EventLimiter(config.events_min_interval_s)

    def on_odometry(self, msg: Odometry, now_ns: int) -> None:
        twist = msg.twist.twist
        try:
            self.core.on_odometry(twist.linear.x, twist.angular.z, now_ns, ego_pose(msg))
        except MessageError as err:
            self.core.health.reject(err.reason, "odometry", err, now_ns, self._log)

    def on_lane(self, msg: Path, now_ns: int) -> None:
        """The lane centre line (``~/reference_path``, odom); an empty Path clears it."""
        try:
            require_frame(msg.header.frame_id, "odom")
            xy = path_points(msg)
            self.core.on_lane(xy if xy.shape[0] else None)
        except (MessageError, ValueError) as err:
            self.core.on_lane(None)
            self.core.health.reject("bad_lane", "lane centre line (yaw-rate path only)", err, now_ns, self._log)

    def on_objects(self, msg: PointCloud2, now_ns: int, publish: Callable[[AccelStamped], None]) -> None:
        """Hand ``publish`` a brake command when the list's crossing threats escalate the stage."""
        health = self.core.health
        try:
            objects = decode_objects(msg)
        except MessageError as err:
            health.reject(f"objects_{err.reason}", "object list", err, now_ns, self._log)
            return
        previous = self.core.state
        decision = self.core.on_objects(objects, stamp_to_ns(msg.header.stamp), now_ns)
        if decision is not None:
            publish(brake_command(decision.accel_mps2, decision.stamp_ns))
            self._log(_transition(previous.value, decision))

    def on_cloud(self, msg: PointCloud2, now_ns: int, publish: Callable[[AccelStamped], None]) -> None:
        """Hand ``publish`` the brake command answering this scan (none when the scan was rejected).

        A stage change is logged after publishing: rclpy's logger takes ~1 ms a line (~30 ms the
        first), which the brake command must not wait for.
        """
        xyz = _lidar_points(msg, self.core.config.lidar_frame, self.core.health, now_ns, self._log)
        if xyz is None:
            return
        previous = self.core.state
        decision = self.core.on_cloud(xyz, stamp_to_ns(msg.header.stamp), now_ns)
        publish(brake_command(decision.accel_mps2, decision.stamp_ns))
        if decision.state is not previous:
            self._log(_transition(previous.value, decision))

    def on_camera_health(self, msg: DiagnosticArray, now_ns: int) -> None:
        """Perception's camera health (``CAMERA_HEALTH``): each camera's faults into the telltale."""
        faults = {}
        for status in statuses(msg):
            if status.name.startswith(CAMERA_STATUS_PREFIX):
                reasons = status.values.get("faults", "")
                faults[status.name.removeprefix(CAMERA_STATUS_PREFIX)] = tuple(r for r in reasons.split("; ") if r)
        self.core.on_camera_health(faults, now_ns)

    def watchdog(self, now_ns: int) -> AccelStamped | None:
        """Between scans: a braking command when the watchdog's degraded action demands one."""
        decel = self.core.degraded_command(now_ns)
        return None if decel is None else brake_command(-decel, now_ns)

    def events(self, now_ns: int) -> DiagnosticArray | None:
        """Events due (stage changes, watchdog faults; rate-limited per cause), or None."""
        for event in self.core.events:
            self._events.push(event)
        self.core.events.clear()
        due = self._events.drain(now_ns)
        return diagnostic_array(due, now_ns) if due else None

    def on_published(self, command: AccelStamped, now_ns: int) -> None:
        self.core.health.on_output(stamp_to_ns(command.header.stamp), now_ns)

    def diagnostics(self, now_ns: int) -> DiagnosticArray:
        """The AEB's status and its availability telltale."""
        telltale = self.core.telltale(now_ns).status(self.core.config.watchdog.degraded_action)
        return diagnostic_array([self.core.diagnostics(now_ns), telltale], now_ns)

    def telltale(self, now_ns: int) -> DiagnosticStatus | None:
        """The availability telltale when it changed or is due again (latched topic), else None."""
        telltale = self.core.telltale(now_ns)
        if not self._telltale.due(telltale, now_ns):
            return None
        return diagnostic_status(telltale.status(self.core.config.watchdog.degraded_action))


def brake_command(accel_mps2: float, stamp_ns: int) -> AccelStamped:
    command = AccelStamped(header=header(stamp_ns, "base_link"))
    command.accel.linear.x = accel_mps2
    return command


def _transition(previous: str, decision: Decision) -> str:
    return (
        f"{previous} -> {decision.state.value}: gap {decision.gap_m:.2f} m, speed {decision.speed_mps:.2f} m/s, "
        f"lead {decision.lead_speed_mps:.2f} m/s, TTC {decision.ttc_s:.2f} s"
    )


@dataclass(frozen=True)
class PerceptionOutput:
    objects: PointCloud2
    obstacle_points: PointCloud2
    frame: PerceptionFrame


class PerceptionHandler:
    def __init__(self, config: PerceptionNodeConfig, log: Log) -> None:
        self.config = config
        self.pipeline = LidarPipeline(config.pipeline)
        self.health = NodeHealth(
            "perception",
            {"point cloud": 1.0, "odometry": config.odometry_timeout_s},
            config.latency_budget_ms,
            config.latency_window,
        )
        self._log = log
        self._ego: EgoPose | None = None
        self.last: PerceptionFrame | None = None
        self.processing_ms = 0.0

    def on_odometry(self, msg: Odometry, now_ns: int) -> None:
        try:
            self._ego = ego_pose(msg).check(self.config.odometry_limits)
        except MessageError as err:
            self.health.reject(err.reason, "odometry", err, now_ns, self._log)
            return
        self.health.on_input("odometry", now_ns)

    def on_cloud(self, msg: PointCloud2, now_ns: int) -> PerceptionOutput | None:
        self.health.on_input("point cloud", now_ns)
        xyz = _lidar_points(msg, self.config.pipeline.lidar_frame, self.health, now_ns, self._log)
        if xyz is None:
            return None
        stamp_ns = stamp_to_ns(msg.header.stamp)
        ego = self._ego.at(stamp_ns) if self._ego is not None and self.health.fresh("odometry", now_ns) else None
        frame = self.pipeline.process(xyz, stamp_ns, ego)
        obstacle = np.zeros(frame.obstacle_points.shape[0], OBSTACLE_DTYPE)
        obstacle["x"], obstacle["y"], obstacle["z"] = frame.obstacle_points.T
        obstacle["cluster_id"] = frame.cluster_ids
        self.last = frame
        return PerceptionOutput(
            objects=cloud_msg(encode_objects(frame.objects), stamp_ns, "base_link"),
            obstacle_points=cloud_msg(array_to_cloud(obstacle), stamp_ns, "base_link"),
            frame=frame,
        )

    def on_published(self, stamp_ns: int, started_ns: int, now_ns: int) -> None:
        self.health.on_output(stamp_ns, now_ns)
        self.processing_ms = (now_ns - started_ns) / 1e6

    def ego_motion(self, now_ns: int) -> EgoMotion:
        """Ego speed and yaw rate for fusion's motion compensation (at rest without fresh odometry)."""
        if self._ego is None or not self.health.fresh("odometry", now_ns):
            return EgoMotion(0.0, 0.0)
        return EgoMotion(self._ego.speed_mps, self._ego.yaw_rate)

    def diagnostics(self, now_ns: int) -> DiagnosticArray:
        return diagnostic_array([self.status(now_ns)], now_ns)

    def status(self, now_ns: int) -> Status:
        last = self.last
        values = {"processing_ms": fmt(self.processing_ms)}
        if last is not None:
            values.update(
                points_in=str(last.n_input),
                points_used=str(last.n_used),
                ground_points=str(last.n_ground),
                obstacle_points=str(last.obstacle_points.shape[0]),
                objects=str(last.objects.size),
                tracks=str(self.pipeline.tracker.ids.size),
            )
            if last.n_used < last.n_input:
                values["strided"] = f"{last.n_input} points strided to {last.n_used}"
        return self.health.status(now_ns, values=values)
