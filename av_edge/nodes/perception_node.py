"""Perception node: LiDAR (:class:`av_edge.ros.handlers.PerceptionHandler`) and the cameras'
detection and fusion (:class:`av_edge.ros.camera_pipeline.CameraPipeline`, on a worker thread at its own
rate, so a camera batch never delays a LiDAR scan).

Publishes obstacle points with cluster ids, the fused object list, RViz markers (only while someone
subscribes), events, camera health and ``/diagnostics``.
"""

from __future__ import annotations

from typing import Any

import cv2
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from av_edge import topics
from av_edge.core.detection.config import DetectionConfig
from av_edge.core.diagnostics import ChangeOrPeriod
from av_edge.core.objects import encode_objects
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.update.gate import BusyGate
from av_edge.detection.updates import EVENT as PROMOTION_EVENT
from av_edge.ros import node_setup
from av_edge.ros.camera_handler import CameraDetections, debug_image
from av_edge.ros.camera_pipeline import CameraPipeline, Released
from av_edge.ros.fusion_handler import ScanObjects
from av_edge.ros.handlers import PerceptionHandler
from av_edge.ros.messages import cloud_msg, diagnostic_array, object_markers, stamp_to_ns, statuses
from av_edge.ros.qos import qos_profile


class PerceptionNode(Node):
    def __init__(self) -> None:
        super().__init__("perception_node", automatically_declare_parameters_from_overrides=True)
        cv2.setNumThreads(1)  # predictable on a shared 2-core computer; measured no slower
        config = node_setup.load_config(self, PerceptionNodeConfig)
        self.handler = PerceptionHandler(config, self.get_logger().error)
        qos = qos_profile
        self._points = self.create_publisher(PointCloud2, topics.OBSTACLE_POINTS.name, qos(topics.OBSTACLE_POINTS.qos))
        self._objects = self.create_publisher(PointCloud2, topics.OBJECTS.name, qos(topics.OBJECTS.qos))
        self._markers = self.create_publisher(MarkerArray, topics.MARKERS.name, qos(topics.MARKERS.qos))
        self._diagnostics = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS.name, qos(topics.DIAGNOSTICS.qos))
        now = self._now_ns
        node_setup.subscribe_lidar(self, self._on_cloud, self.handler.health, now)
        self.create_subscription(
            Odometry, topics.ODOMETRY.name, lambda m: self.handler.on_odometry(m, now()), qos(topics.ODOMETRY.qos)
        )
        self.create_timer(1.0, self._publish_diagnostics)
        self._setup_cameras(config.camera_detection)

    def _setup_cameras(self, config: DetectionConfig) -> None:
        qos = qos_profile
        vehicle = node_setup.node_vehicle(self)
        log = self.get_logger()
        self.pipeline = CameraPipeline(
            self.handler.config,
            vehicle.cameras,
            str(vehicle.path),
            self._now_ns,
            self.handler.ego_motion,
            self._publish_debug_images,
            log.error,
            log.warning,
        )
        self._events = self.create_publisher(DiagnosticArray, topics.EVENTS.name, qos(topics.EVENTS.qos))
        if self.pipeline.waits_for_cameras:  # object lists whose camera wait timed out go out within 10 ms of it
            self.create_timer(0.01, lambda: self._publish_objects(self.pipeline.tick()))
        self._debug_images = {}
        for camera in config.cameras:
            self.create_subscription(
                Image,
                topics.CAMERA_IMAGE.format(camera=camera),
                lambda m, c=camera: self.pipeline.on_image(c, m),
                qos(topics.CAMERA_IMAGE.qos),
            )
            self.create_subscription(
                CameraInfo,
                topics.CAMERA_INFO.format(camera=camera),
                lambda m, c=camera: self.pipeline.fusion.on_camera_info(c, m),
                qos(topics.CAMERA_INFO.qos),
            )
            self._debug_images[camera] = self.create_publisher(
                Image, topics.DETECTION_IMAGE.format(camera=camera), qos(topics.DETECTION_IMAGE.qos)
            )
        self._camera_health = self.create_publisher(
            DiagnosticArray, topics.CAMERA_HEALTH.name, qos(topics.CAMERA_HEALTH.qos)
        )
        self._camera_health_due = ChangeOrPeriod(1.0)
        self.create_timer(0.1, self._publish_camera_health)
        self.create_service(Trigger, "~/reload_model", self._on_reload)
        # over-the-air models (camera_detection.update_directory): promotions wait while the vehicle
        # brakes or an event is on
        if self.pipeline.detection.updates is not None:
            self._busy = BusyGate(brake_mps2=0.5, hold_s=config.shadow.calm_s)
            self.create_subscription(
                AccelStamped,
                topics.BRAKE_COMMAND.name,
                lambda m: self._busy.on_brake_request(m.accel.linear.x, self._now_ns()),
                qos(topics.BRAKE_COMMAND.qos),
            )
            self.create_subscription(DiagnosticArray, topics.EVENTS.name, self._on_events, qos(topics.EVENTS.qos))
            self.create_timer(1.0, self._poll_updates)

    def _publish_debug_images(self, results: list[CameraDetections]) -> None:
        """A batch's detections drawn on its images, for whoever watches (worker thread)."""
        detector = self.pipeline.detection.detector
        for result in results:
            publisher = self._debug_images[result.frame.camera]
            if detector is not None and publisher.get_subscription_count() > 0:
                publisher.publish(debug_image(result, detector.package.manifest.class_names))

    def _publish_camera_health(self) -> None:
        """Each checked camera's health, for the AEB's telltale: on change (within 0.1 s) and every second."""
        now = self._now_ns()
        found = self.pipeline.detection.camera_statuses(now)
        if found and self._camera_health_due.due(tuple((s.name, s.message) for s in found), now):
            self._camera_health.publish(diagnostic_array(found, now))

    def _on_events(self, msg: DiagnosticArray) -> None:
        now = self._now_ns()
        for event in statuses(msg):
            if event.name != PROMOTION_EVENT:  # our own promotion events do not hold promotions
                self._busy.on_event(event, now)

    def _poll_updates(self) -> None:
        now = self._now_ns()
        events = self.pipeline.detection.poll_updates(now, self._busy.paused(now))
        node_setup.log_events(self.get_logger(), events)
        if events:
            self._events.publish(diagnostic_array(events, now))

    def _on_reload(self, request: Any, response: Any) -> Any:
        response.success, response.message = self.pipeline.detection.reload()
        return response

    def _publish_diagnostics(self) -> None:
        now = self._now_ns()
        statuses = [self.handler.status(now), self.pipeline.detection.status(now), self.pipeline.fusion.status(now)]
        statuses += self.pipeline.detection.camera_statuses(now)
        self._diagnostics.publish(diagnostic_array(statuses, now))

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_cloud(self, msg: PointCloud2) -> None:
        started = self._now_ns()
        output = self.handler.on_cloud(msg, started)
        if output is None:
            return
        self._points.publish(output.obstacle_points)
        stamp_ns = stamp_to_ns(msg.header.stamp)
        self.handler.on_published(stamp_ns, started, self._now_ns())
        scan = ScanObjects(stamp_ns, output.frame.objects, self.handler.ego_motion(started))
        self._publish_objects(self.pipeline.on_scan(scan))

    def _publish_objects(self, released: Released) -> None:
        for fused in released.lists:
            self._objects.publish(cloud_msg(encode_objects(fused.objects), fused.stamp_ns, "base_link"))
            if self._markers.get_subscription_count() > 0:
                self._markers.publish(object_markers(fused.objects, fused.stamp_ns, "base_link"))
        if released.events:
            self._events.publish(diagnostic_array(released.events, self._now_ns()))

    def destroy_node(self) -> None:
        self.pipeline.shutdown()  # a batch still running finishes before its publishers go
        if self.pipeline.detection.updates is not None:
            self.pipeline.detection.updates.close()  # a candidate's shadow thread and sessions
        super().destroy_node()


def main() -> int:
    return node_setup.run(PerceptionNode)


if __name__ == "__main__":
    raise SystemExit(main())
