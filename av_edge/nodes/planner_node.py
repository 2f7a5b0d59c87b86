"""Local path planner node (logic in :class:`av_edge.ros.planner_handler.PlannerHandler`).

Plans on each perception object list (with the latest obstacle points and odometry) and publishes
the path (odom, stamped with the scan it planned on), the speed profile, candidate markers (only while
someone subscribes) and ``/diagnostics``.
"""

from __future__ import annotations

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import ColorRGBA, Float32MultiArray
from visualization_msgs.msg import Marker, MarkerArray

from av_edge import topics
from av_edge.core.planning.node_config import PlannerNodeConfig
from av_edge.core.planning.planner import Plan
from av_edge.ros import node_setup
from av_edge.ros.messages import diagnostic_array, header, stamp_to_ns
from av_edge.ros.planner_handler import PlannerHandler
from av_edge.ros.qos import qos_profile


class PlannerNode(Node):
    def __init__(self) -> None:
        super().__init__("planner_node", automatically_declare_parameters_from_overrides=True)
        self.handler = PlannerHandler(node_setup.load_config(self, PlannerNodeConfig), self.get_logger().warning)
        qos = qos_profile
        self._path = self.create_publisher(Path, topics.PLANNED_PATH.name, qos(topics.PLANNED_PATH.qos))
        self._speed = self.create_publisher(Float32MultiArray, topics.SPEED_PROFILE.name, qos(topics.SPEED_PROFILE.qos))
        self._markers = self.create_publisher(MarkerArray, topics.PLANNER_MARKERS.name, qos(topics.PLANNER_MARKERS.qos))
        self._diagnostics = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS.name, qos(topics.DIAGNOSTICS.qos))
        now = self._now_ns
        h = self.handler
        self.create_subscription(
            Odometry, topics.ODOMETRY.name, lambda m: h.on_odometry(m, now()), qos(topics.ODOMETRY.qos)
        )
        self.create_subscription(
            PointCloud2,
            topics.OBSTACLE_POINTS.name,
            lambda m: h.on_obstacle_points(m, now()),
            qos(topics.OBSTACLE_POINTS.qos),
        )
        self.create_subscription(
            Path, topics.REFERENCE_PATH.name, lambda m: h.on_reference(m, now()), qos(topics.REFERENCE_PATH.qos)
        )
        self.create_subscription(PointCloud2, topics.OBJECTS.name, self._on_objects, qos(topics.OBJECTS.qos))
        self.create_timer(1.0, lambda: self._diagnostics.publish(diagnostic_array([h.status(now())], now())))

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_objects(self, msg: PointCloud2) -> None:
        out = self.handler.on_objects(msg, self._now_ns())
        if out is None:
            return
        path, speed = out
        self._path.publish(path)
        self._speed.publish(speed)
        stamp_ns = stamp_to_ns(path.header.stamp)
        self.handler.on_published(stamp_ns, self._now_ns())
        if self._markers.get_subscription_count() > 0 and self.handler.last is not None:
            self._markers.publish(candidate_markers(self.handler.last, stamp_ns))


def candidate_markers(plan: Plan, stamp_ns: int) -> MarkerArray:
    markers = MarkerArray(markers=[Marker(action=Marker.DELETEALL)])
    for i, (candidate, ok) in enumerate(zip(plan.candidates, plan.feasible, strict=True)):
        colour = ColorRGBA(r=0.2, g=0.8, b=0.2, a=0.4) if ok else ColorRGBA(r=0.5, g=0.5, b=0.5, a=0.2)
        markers.markers.append(_line(i + 1, candidate, colour, 0.05, stamp_ns))
    markers.markers.append(_line(0, plan.xy, ColorRGBA(r=0.1, g=0.4, b=1.0, a=1.0), 0.2, stamp_ns))
    return markers


def _line(marker_id: int, xy: np.ndarray, colour: ColorRGBA, width: float, stamp_ns: int) -> Marker:
    marker = Marker(header=header(stamp_ns, "odom"), ns="planner", id=marker_id, type=Marker.LINE_STRIP)
    marker.scale.x = width
    marker.color = colour
    marker.pose.orientation.w = 1.0
    marker.points = [Point(x=float(x), y=float(y), z=0.1) for x, y in xy]
    return marker


def main() -> int:
    return node_setup.run(PlannerNode)


if __name__ == "__main__":
    raise SystemExit(main())
