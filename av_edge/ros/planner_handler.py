"""Planning at message level: odometry, obstacle points, objects and an optional reference path in;
``nav_msgs/Path`` (odom, stamped with the scan it planned on), the speed profile and diagnostics out."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from geometry_msgs.msg import PoseStamped, Quaternion
from nav_msgs.msg import Odometry, Path
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Float32MultiArray, MultiArrayDimension

from av_edge.core.diagnostics import Level, Status, fmt
from av_edge.core.ego import EgoPose
from av_edge.core.errors import MessageError
from av_edge.core.health import NodeHealth
from av_edge.core.objects import decode_objects
from av_edge.core.planning.node_config import PlannerNodeConfig
from av_edge.core.planning.planner import LocalPlanner, Obstacles, Plan
from av_edge.core.planning.reference import ReferenceLine
from av_edge.core.pointcloud import xyz_from_cloud
from av_edge.ros.messages import ego_pose, header, path_points, stamp_to_ns

Log = Callable[[str], None]
SPEED_PROFILE_COLUMNS = ("t_s", "x_m", "y_m", "speed_mps", "accel_mps2")


class PlannerHandler:
    def __init__(self, config: PlannerNodeConfig, log: Log) -> None:
        self.config = config
        self.planner = LocalPlanner(config.planner)
        self.log = log
        self.health = NodeHealth(
            "planner",
            {"odometry": config.odometry_timeout_s, "objects": config.inputs_timeout_s},
            config.latency_budget_ms,
            1000,
        )
        self._ego: EgoPose | None = None
        self._reference: ReferenceLine | None = None
        self._points_base = np.zeros((0, 2))
        self.last: Plan | None = None
        self.planning_ms = 0.0
        self._last_plan_ns = -(1 << 62)

    def on_odometry(self, msg: Odometry, now_ns: int) -> None:
        try:
            self._ego = ego_pose(msg).check(self.config.odometry_limits)
        except MessageError as err:
            self.health.reject(err.reason, "odometry", err, now_ns, self.log)
            return
        self.health.on_input("odometry", now_ns)

    def on_reference(self, msg: Path, now_ns: int) -> None:
        xy = path_points(msg)
        try:
            self._reference = ReferenceLine.from_points(xy)
        except ValueError as err:
            self.health.reject(
                "bad_reference_path", "reference path (planning along the ego heading)", err, now_ns, self.log
            )
            self._reference = None

    def set_reference(self, reference: ReferenceLine | None) -> None:
        """The lane centreline to plan along (the suite passes the scenario's road)."""
        self._reference = reference

    def on_obstacle_points(self, msg: PointCloud2, now_ns: int) -> None:
        try:
            self._points_base = xyz_from_cloud(msg)[:, :2].astype(float)
        except MessageError as err:
            self.health.reject(f"points_{err.reason}", "obstacle points", err, now_ns, self.log)

    def on_objects(self, msg: PointCloud2, now_ns: int) -> tuple[Path, Float32MultiArray] | None:
        """Plan on each object list (its stamp is the scan's); None when inputs are missing or the last
        plan is less than 1/rate_hz old."""
        self.health.on_input("objects", now_ns)
        try:
            objects = decode_objects(msg)
        except MessageError as err:
            self.health.reject(f"objects_{err.reason}", "object list", err, now_ns, self.log)
            return None
        if self._ego is None or not self.health.fresh("odometry", now_ns):
            return None
        if now_ns - self._last_plan_ns < 0.9e9 / self.config.rate_hz:
            return None  # rate_hz caps planning below the object-list rate
        self._last_plan_ns = now_ns
        stamp = stamp_to_ns(msg.header.stamp)
        started = time.perf_counter()
        plan = self.plan(self._ego.at(stamp), self._points_base, objects)
        self.planning_ms = (time.perf_counter() - started) * 1e3
        self.last = plan
        return path_msg(plan, stamp), speed_profile_msg(plan)

    def plan(self, ego: EgoPose, points_base: np.ndarray, objects: np.ndarray) -> Plan:
        """One plan in odom from base_link inputs (also the suite's entry point)."""
        cfg = self.config
        reference = self._reference or ReferenceLine.straight(ego.x, ego.y, ego.yaw, 200.0)
        points = ego.to_odom(_nearest(points_base, cfg.max_points)) if len(points_base) else np.zeros((0, 2))
        if len(objects):
            centres = ego.to_odom(np.column_stack([objects["x"], objects["y"]]).astype(float))
            c, s = np.cos(ego.yaw), np.sin(ego.yaw)
            v_base = np.column_stack([objects["vx"], objects["vy"]]).astype(float)
            v_odom = v_base @ np.array([[c, s], [-s, c]])
            radius = np.hypot(objects["length"], objects["width"]).astype(float) / 2
            moving = np.hypot(*v_base.T) > 0.5  # static objects are in the points already
            obstacles = Obstacles(points, centres[moving], v_odom[moving], radius[moving])
        else:
            obstacles = Obstacles(points, np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))
        return self.planner.plan(reference, np.array([ego.x, ego.y]), ego.speed_mps, cfg.target_speed_mps, obstacles)

    def on_published(self, stamp_ns: int, now_ns: int) -> None:
        self.health.on_output(stamp_ns, now_ns)

    def status(self, now_ns: int) -> Status:
        problems = []
        values = {"planning_ms": fmt(self.planning_ms)}
        if self.last is not None:
            values.update(status=self.last.status, lateral_target_m=fmt(self.last.lateral_target_m))
            if self.last.status == "stop":
                problems.append((Level.WARN, "no feasible path: stop profile"))
        values["reference"] = (
            "~/reference_path" if self._reference is not None else "straight ahead (no reference path)"
        )
        return self.health.status(now_ns, problems, values)


def path_msg(plan: Plan, stamp_ns: int) -> Path:
    msg = Path(header=header(stamp_ns, "odom"))
    for (x, y), yaw in zip(plan.xy, plan.yaw, strict=True):
        pose = PoseStamped(header=msg.header)
        pose.pose.position.x, pose.pose.position.y = float(x), float(y)
        pose.pose.orientation = Quaternion(z=float(np.sin(yaw / 2)), w=float(np.cos(yaw / 2)))
        msg.poses.append(pose)
    return msg


def speed_profile_msg(plan: Plan) -> Float32MultiArray:
    """Rows (one per path pose) of t_s, x_m, y_m, speed_mps, accel_mps2 (layout labels say so)."""
    table = np.column_stack([plan.t, plan.xy, plan.speed, plan.accel]).astype(np.float32)
    msg = Float32MultiArray()
    msg.layout.dim = [
        MultiArrayDimension(label="pose", size=table.shape[0], stride=table.size),
        MultiArrayDimension(label=",".join(SPEED_PROFILE_COLUMNS), size=table.shape[1], stride=table.shape[1]),
    ]
    msg.data = table.ravel().tolist()
    return msg


def _nearest(points: np.ndarray, count: int) -> np.ndarray:
    if len(points) <= count:
        return points
    return points[np.argpartition(np.hypot(*points.T), count)[:count]]
