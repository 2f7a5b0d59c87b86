"""LiDAR perception node (logic in :class:`av_edge.ros.handlers.PerceptionHandler`).

Publishes obstacle points with cluster ids, the object list, RViz markers (only while someone
subscribes) and ``/diagnostics``. Camera detection (:class:`av_edge.ros.camera_handler.CameraDetectionHandler`)
runs in this process on a worker thread at its own rate, so a camera batch never delays a LiDAR scan.
"""

from __future__ import annotations

import os
import threading
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
from av_edge.core.diagnostics import ChangeOrPeriod, EventLimiter
from av_edge.core.errors import ConfigError
from av_edge.core.objects import encode_objects
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.sensor_health import CameraHealthConfig
from av_edge.core.update.gate import BusyGate
from av_edge.detection.updates import EVENT as PROMOTION_EVENT
from av_edge.ros import node_setup
from av_edge.ros.camera_handler import CameraDetectionHandler, debug_image
from av_edge.ros.fusion_handler import FusionHandler, ScanObjects
from av_edge.ros.handlers import PerceptionHandler
from av_edge.ros.messages import cloud_msg, diagnostic_array, object_markers, stamp_to_ns, statuses
from av_edge.ros.qos import qos_profile
from av_edge.runtime.worker import Worker


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
        self._setup_cameras(config.camera_detection, config.camera_health)

    def _setup_cameras(self, config: DetectionConfig, health: CameraHealthConfig) -> None:
        qos = qos_profile
        budget = self.handler.config.latency_budget_ms
        self.cameras = CameraDetectionHandler(config, budget, self.get_logger().error, health)
        vehicle = node_setup.node_vehicle(self)
        rig = {c.name: c for c in vehicle.cameras}
        unknown = sorted(set(config.cameras) - set(rig))
        if unknown:
            raise ConfigError(f"camera_detection.cameras {unknown} are not in {vehicle.path} ({sorted(rig)})")
        detector = self.cameras.detector
        classes = detector.package.manifest.class_names if detector is not None else ()
        fused_cameras = {name: rig[name] for name in config.cameras} if detector is not None else {}
        self.fusion = FusionHandler(
            self.handler.config.fusion, fused_cameras, classes, budget, self.get_logger().warning
        )
        self._events = self.create_publisher(DiagnosticArray, topics.EVENTS.name, qos(topics.EVENTS.qos))
        self._event_limiter = EventLimiter(self.handler.config.events_min_interval_s)
        if fused_cameras:  # object lists whose camera wait timed out go out within 10 ms of it
            self.create_timer(0.01, self._tick)
        self._debug_images = {}
        for camera in config.cameras:
            self.create_subscription(
                Image,
                topics.CAMERA_IMAGE.format(camera=camera),
                lambda m, c=camera: self._on_image(c, m),
                qos(topics.CAMERA_IMAGE.qos),
            )
            self.create_subscription(
                CameraInfo,
                topics.CAMERA_INFO.format(camera=camera),
                lambda m, c=camera: self.fusion.on_camera_info(c, m),
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
        if self.cameras.updates is not None:
            self._busy = BusyGate(brake_mps2=0.5, hold_s=config.shadow.calm_s)
            self.create_subscription(
                AccelStamped,
                topics.BRAKE_COMMAND.name,
                lambda m: self._busy.on_brake_request(m.accel.linear.x, self._now_ns()),
                qos(topics.BRAKE_COMMAND.qos),
            )
            self.create_subscription(DiagnosticArray, topics.EVENTS.name, self._on_events, qos(topics.EVENTS.qos))
            self.create_timer(1.0, self._poll_updates)
        self._worker = Worker(
            "camera_detection",
            lambda err: self.cameras.on_batch_failed(err, self._now_ns()),
            initializer=_nice_this_thread,
            initargs=(config.niceness,),
        )

    def _on_image(self, camera: str, msg: Image) -> None:
        self.cameras.on_image(camera, msg, self._now_ns())
        self._schedule_detection()

    def _tick(self) -> None:
        self._schedule_detection()
        self._release_objects()

    def _schedule_detection(self) -> None:
        """Start a batch as soon as the cameras' images of a moment are in (inference runs on the worker)."""
        if self._worker.busy:
            return  # the previous batch is still running: the next takes the newest images then
        if self.cameras.due(self._now_ns()):
            self._worker.submit(self._detect)

    def _detect(self) -> None:
        detector = self.cameras.detector
        results = self.cameras.detect(self._now_ns)
        now = self._now_ns()
        self.fusion.on_camera_batch(results, self.handler.ego_motion(now), now)
        for result in results:
            publisher = self._debug_images[result.frame.camera]
            if detector is not None and publisher.get_subscription_count() > 0:
                publisher.publish(debug_image(result, detector.package.manifest.class_names))

    def _publish_camera_health(self) -> None:
        """Each checked camera's health, for the AEB's telltale: on change (within 0.1 s) and every second."""
        now = self._now_ns()
        found = self.cameras.camera_statuses(now)
        if found and self._camera_health_due.due(tuple((s.name, s.message) for s in found), now):
            self._camera_health.publish(diagnostic_array(found, now))

    def _on_events(self, msg: DiagnosticArray) -> None:
        now = self._now_ns()
        for event in statuses(msg):
            if event.name != PROMOTION_EVENT:  # our own promotion events do not hold promotions
                self._busy.on_event(event, now)

    def _poll_updates(self) -> None:
        now = self._now_ns()
        events = self.cameras.poll_updates(now, self._busy.paused(now))
        node_setup.log_events(self.get_logger(), events)
        if events:
            self._events.publish(diagnostic_array(events, now))

    def _on_reload(self, request: Any, response: Any) -> Any:
        response.success, response.message = self.cameras.reload()
        return response

    def _publish_diagnostics(self) -> None:
        now = self._now_ns()
        statuses = [self.handler.status(now), self.cameras.status(now), self.fusion.status(now)]
        statuses += self.cameras.camera_statuses(now)
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
        self.fusion.on_scan(scan, self._now_ns())
        self._release_objects()  # at once unless a live camera's detections are still coming

    def _release_objects(self) -> None:
        now = self._now_ns()
        for fused in self.fusion.release(now):
            self._objects.publish(cloud_msg(encode_objects(fused.objects), fused.stamp_ns, "base_link"))
            if self._markers.get_subscription_count() > 0:
                self._markers.publish(object_markers(fused.objects, fused.stamp_ns, "base_link"))
            for event in fused.events:
                self._event_limiter.push(event)
        due = self._event_limiter.drain(now)  # held repeats go out with the next list after their interval
        if due:
            self._events.publish(diagnostic_array(due, now))

    def destroy_node(self) -> None:
        self._worker.shutdown()  # a batch still running finishes before its publishers go
        if self.cameras.updates is not None:
            self.cameras.updates.close()  # a candidate's shadow thread and sessions
        super().destroy_node()


def _nice_this_thread(niceness: int) -> None:
    """Camera detection yields the CPU to LiDAR perception and to the AEB process (Linux: per thread)."""
    if hasattr(os, "setpriority"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def main() -> int:
    return node_setup.run(PerceptionNode)


if __name__ == "__main__":
    raise SystemExit(main())
