"""LiDAR perception node (logic in :class:`av_edge.ros.handlers.PerceptionHandler`).

Publishes obstacle points with cluster ids, the object list, RViz markers (only while someone
subscribes) and ``/diagnostics``. The detector and fusion join this process later (no extra hop).
"""

from __future__ import annotations

import cv2
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2
from visualization_msgs.msg import MarkerArray

from av_edge import topics
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.ros import node_setup
from av_edge.ros.handlers import PerceptionHandler
from av_edge.ros.messages import object_markers, stamp_to_ns
from av_edge.ros.qos import qos_profile


class PerceptionNode(Node):
    def __init__(self) -> None:
        super().__init__("perception_node", automatically_declare_parameters_from_overrides=True)
        cv2.setNumThreads(1)  # predictable on a shared 2-core computer; measured no slower
        self.handler = PerceptionHandler(node_setup.load_config(self, PerceptionNodeConfig), self.get_logger().error)
        qos = qos_profile
        self._points = self.create_publisher(PointCloud2, topics.OBSTACLE_POINTS.name, qos(topics.OBSTACLE_POINTS.qos))
        self._objects = self.create_publisher(PointCloud2, topics.OBJECTS.name, qos(topics.OBJECTS.qos))
        self._markers = self.create_publisher(MarkerArray, topics.MARKERS.name, qos(topics.MARKERS.qos))
        self._diagnostics = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS.name, qos(topics.DIAGNOSTICS.qos))
        now = self._now_ns
        self.create_subscription(PointCloud2, topics.LIDAR_POINTS.name, self._on_cloud, qos(topics.LIDAR_POINTS.qos))
        self.create_subscription(
            Odometry, topics.ODOMETRY.name, lambda m: self.handler.on_odometry(m, now()), qos(topics.ODOMETRY.qos)
        )
        self.create_timer(1.0, lambda: self._diagnostics.publish(self.handler.diagnostics(now())))

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_cloud(self, msg: PointCloud2) -> None:
        started = self._now_ns()
        output = self.handler.on_cloud(msg, started)
        if output is None:
            return
        self._objects.publish(output.objects)
        self._points.publish(output.obstacle_points)
        stamp_ns = stamp_to_ns(msg.header.stamp)
        if self._markers.get_subscription_count() > 0:
            self._markers.publish(object_markers(output.frame.objects, stamp_ns, "base_link"))
        self.handler.on_published(stamp_ns, started, self._now_ns())


def main() -> int:
    return node_setup.run(PerceptionNode)


if __name__ == "__main__":
    raise SystemExit(main())
