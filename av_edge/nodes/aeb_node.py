"""Emergency braking node: one brake command per LiDAR scan (logic in :class:`av_edge.ros.handlers.AebHandler`)."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2

from av_edge import topics
from av_edge.core.aeb import AebConfig
from av_edge.ros import node_setup
from av_edge.ros.handlers import AebHandler
from av_edge.ros.qos import qos_profile


class AebNode(Node):
    def __init__(self) -> None:
        super().__init__("aeb_node", automatically_declare_parameters_from_overrides=True)
        self.handler = AebHandler(node_setup.load_config(self, AebConfig), self.get_logger().warning)
        qos = qos_profile
        self._brake = self.create_publisher(AccelStamped, topics.BRAKE_COMMAND.name, qos(topics.BRAKE_COMMAND.qos))
        self._diagnostics = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS.name, qos(topics.DIAGNOSTICS.qos))
        now = self._now_ns
        self.create_subscription(PointCloud2, topics.LIDAR_POINTS.name, self._on_cloud, qos(topics.LIDAR_POINTS.qos))
        self.create_subscription(
            Odometry, topics.ODOMETRY.name, lambda m: self.handler.on_odometry(m, now()), qos(topics.ODOMETRY.qos)
        )
        self.create_subscription(
            PointCloud2, topics.OBJECTS.name, lambda m: self.handler.on_objects(m, now()), qos(topics.OBJECTS.qos)
        )
        self.create_timer(1.0, lambda: self._diagnostics.publish(self.handler.diagnostics(now())))

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_cloud(self, msg: PointCloud2) -> None:
        command = self.handler.on_cloud(msg, self._now_ns())
        if command is not None:
            self._brake.publish(command)
            self.handler.on_published(command, self._now_ns())


def main() -> int:
    return node_setup.run(AebNode)


if __name__ == "__main__":
    raise SystemExit(main())
