"""Emergency braking node: one brake command per LiDAR scan, decided by :class:`av_edge.core.aeb.AebCore`."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2

from av_edge import topics
from av_edge.core.aeb import AebConfig, AebCore
from av_edge.core.errors import MessageError
from av_edge.core.geometry import require_frame
from av_edge.core.perception.objects import decode_objects
from av_edge.core.pointcloud import xyz_from_cloud
from av_edge.ros import node_setup
from av_edge.ros.messages import diagnostic_array, header, stamp_to_ns
from av_edge.ros.qos import qos_profile


class AebNode(Node):
    def __init__(self) -> None:
        super().__init__("aeb_node", automatically_declare_parameters_from_overrides=True)
        self.core = AebCore(node_setup.load_config(self, AebConfig))
        self._brake = self.create_publisher(
            AccelStamped, topics.BRAKE_COMMAND.name, qos_profile(topics.BRAKE_COMMAND.qos)
        )
        self._diagnostics = self.create_publisher(
            DiagnosticArray, topics.DIAGNOSTICS.name, qos_profile(topics.DIAGNOSTICS.qos)
        )
        self.create_subscription(
            PointCloud2, topics.LIDAR_POINTS.name, self._on_cloud, qos_profile(topics.LIDAR_POINTS.qos)
        )
        self.create_subscription(Odometry, topics.ODOMETRY.name, self._on_odometry, qos_profile(topics.ODOMETRY.qos))
        self.create_subscription(PointCloud2, topics.OBJECTS.name, self._on_objects, qos_profile(topics.OBJECTS.qos))
        self.create_timer(1.0, self._publish_diagnostics)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_odometry(self, msg: Odometry) -> None:
        self.core.on_odometry(msg.twist.twist.linear.x, self._now_ns())

    def _on_objects(self, msg: PointCloud2) -> None:
        now_ns = self._now_ns()
        try:
            objects = decode_objects(msg)
        except MessageError as err:
            if self.core.health.on_rejected(f"objects_{err.reason}", now_ns):
                self.get_logger().error(f"rejected object list ({err.reason}): {err}")
            return
        self.core.on_objects(objects, stamp_to_ns(msg.header.stamp), now_ns)

    def _on_cloud(self, msg: PointCloud2) -> None:
        now_ns = self._now_ns()
        try:
            require_frame(msg.header.frame_id, self.core.config.lidar_frame)
            xyz = xyz_from_cloud(msg)
        except MessageError as err:
            if self.core.health.on_rejected(err.reason, now_ns):
                count = self.core.health.rejected[err.reason]
                self.get_logger().error(f"rejected point cloud ({err.reason}, {count} so far): {err}")
            return
        previous = self.core.state
        decision = self.core.on_cloud(xyz, stamp_to_ns(msg.header.stamp), now_ns)
        command = AccelStamped(header=header(decision.stamp_ns, "base_link"))
        command.accel.linear.x = decision.accel_mps2
        self._brake.publish(command)
        self.core.health.on_output(decision.stamp_ns, self._now_ns())
        if decision.state is not previous:
            self.get_logger().warning(
                f"{previous.value} -> {decision.state.value}: gap {decision.gap_m:.2f} m, "
                f"speed {decision.speed_mps:.2f} m/s, TTC {decision.ttc_s:.2f} s"
            )

    def _publish_diagnostics(self) -> None:
        now_ns = self._now_ns()
        self._diagnostics.publish(diagnostic_array([self.core.diagnostics(now_ns)], now_ns))


def main() -> int:
    return node_setup.run(AebNode)


if __name__ == "__main__":
    raise SystemExit(main())
