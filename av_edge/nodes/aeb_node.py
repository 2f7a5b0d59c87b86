"""Emergency braking node: one brake command per LiDAR scan (logic in :class:`av_edge.ros.handlers.AebHandler`).

Decisions are event-driven on each scan. A 20 Hz watchdog timer notices a silent sensor without
waiting for the message that never comes: it publishes the ERROR diagnostics and the availability
telltale (latched, on change and every second) at once and, when the degraded action is "brake",
braking commands.
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2
from visualization_msgs.msg import MarkerArray

from av_edge import topics
from av_edge.core.aeb import AebConfig
from av_edge.ros import node_setup
from av_edge.ros.aeb_markers import aeb_markers
from av_edge.ros.handlers import AebHandler
from av_edge.ros.qos import qos_profile

WATCHDOG_PERIOD_S = 0.05


class AebNode(Node):
    def __init__(self) -> None:
        super().__init__("aeb_node", automatically_declare_parameters_from_overrides=True)
        self.handler = AebHandler(node_setup.load_config(self, AebConfig), self.get_logger().warning)
        qos = qos_profile
        self._brake = self.create_publisher(AccelStamped, topics.BRAKE_COMMAND.name, qos(topics.BRAKE_COMMAND.qos))
        self._diagnostics = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS.name, qos(topics.DIAGNOSTICS.qos))
        self._events = self.create_publisher(DiagnosticArray, topics.EVENTS.name, qos(topics.EVENTS.qos))
        self._telltale = self.create_publisher(
            DiagnosticStatus, topics.AEB_AVAILABILITY.name, qos(topics.AEB_AVAILABILITY.qos)
        )
        self._markers = self.create_publisher(MarkerArray, topics.AEB_MARKERS.name, qos(topics.AEB_MARKERS.qos))
        now = self._now_ns
        node_setup.subscribe_lidar(self, self._on_cloud, self.handler.core.health, now)
        self.create_subscription(
            Odometry, topics.ODOMETRY.name, lambda m: self.handler.on_odometry(m, now()), qos(topics.ODOMETRY.qos)
        )
        self.create_subscription(PointCloud2, topics.OBJECTS.name, self._on_objects, qos(topics.OBJECTS.qos))
        self.create_subscription(
            Path, topics.REFERENCE_PATH.name, lambda m: self.handler.on_lane(m, now()), qos(topics.REFERENCE_PATH.qos)
        )
        self.create_subscription(
            DiagnosticArray,
            topics.CAMERA_HEALTH.name,
            lambda m: self.handler.on_camera_health(m, now()),
            qos(topics.CAMERA_HEALTH.qos),
        )
        self.create_timer(1.0, lambda: self._diagnostics.publish(self.handler.diagnostics(now())))
        self.create_timer(WATCHDOG_PERIOD_S, self._watchdog)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_cloud(self, msg: PointCloud2) -> None:
        self.handler.on_cloud(msg, self._now_ns(), self._publish_brake)
        self._publish_events()
        last = self.handler.core.last
        if last is not None and self._markers.get_subscription_count() > 0:  # after the brake command
            self._markers.publish(aeb_markers(self.handler.core, last))

    def _on_objects(self, msg: PointCloud2) -> None:
        self.handler.on_objects(msg, self._now_ns(), self._publish_brake)
        self._publish_events()

    def _publish_brake(self, command: AccelStamped) -> None:
        self._brake.publish(command)
        self.handler.on_published(command, self._now_ns())

    def _watchdog(self) -> None:
        now = self._now_ns()
        command = self.handler.watchdog(now)
        if command is not None:
            self._brake.publish(command)
        if self._publish_events():
            self._diagnostics.publish(self.handler.diagnostics(now))  # a new fault: say so now, not in 1 s
        telltale = self.handler.telltale(now)
        if telltale is not None:
            self._telltale.publish(telltale)

    def _publish_events(self) -> bool:
        events = self.handler.events(self._now_ns())
        if events is not None:
            self._events.publish(events)
        return events is not None


def main() -> int:
    return node_setup.run(AebNode)


if __name__ == "__main__":
    raise SystemExit(main())
