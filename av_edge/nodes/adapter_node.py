"""Standard-message adapter: the object list and the brake request as vision_msgs and Autoware's
messages (conversions in :mod:`av_edge.core.standard_objects`, messages in :mod:`av_edge.ros.adapters`).

A separate process, off the braking path: it subscribes to what av_edge publishes and republishes
it; an output whose package is missing stops the node at start-up, naming the package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Path
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Float32MultiArray

from av_edge import topics
from av_edge.core.errors import MessageError
from av_edge.core.objects import decode_objects
from av_edge.core.standard_objects import (
    AdapterConfig,
    TrackUuids,
    longitudinal_request,
    standard_objects,
    trajectory_values,
)
from av_edge.ros import adapters, node_setup
from av_edge.ros.messages import stamp_to_ns
from av_edge.ros.qos import qos_profile

OUTPUTS = {
    "vision_msgs": (topics.DETECTIONS_3D, "Detection3DArray"),
    "autoware_detected": (topics.AUTOWARE_DETECTED, "DetectedObjects"),
    "autoware_tracked": (topics.AUTOWARE_TRACKED, "TrackedObjects"),
    "autoware_predicted": (topics.AUTOWARE_PREDICTED, "PredictedObjects"),
    "autoware_longitudinal": (topics.AEB_LONGITUDINAL, "Longitudinal"),
    "autoware_trajectory": (topics.AUTOWARE_TRAJECTORY, "Trajectory"),
}


class AdapterNode(Node):
    def __init__(self) -> None:
        super().__init__("adapter_node", automatically_declare_parameters_from_overrides=True)
        self.config = node_setup.load_config(self, AdapterConfig)
        self._uuids = TrackUuids(self.config.uuid_forget_s)
        self._publishers: dict[str, Any] = {}
        for output, (spec, type_name) in OUTPUTS.items():
            if getattr(self.config, output):
                module = adapters.messages(adapters.PACKAGES[output][0])
                for package in adapters.PACKAGES[output][1:]:
                    adapters.messages(package)
                msg_type = getattr(module, type_name)
                self._publishers[output] = self.create_publisher(msg_type, spec.name, qos_profile(spec.qos))
        qos = qos_profile
        self.create_subscription(PointCloud2, topics.OBJECTS.name, self._on_objects, qos(topics.OBJECTS.qos))
        if "autoware_longitudinal" in self._publishers:
            self.create_subscription(
                AccelStamped, topics.BRAKE_COMMAND.name, self._on_brake, qos(topics.BRAKE_COMMAND.qos)
            )
        if "autoware_trajectory" in self._publishers:
            self._path_stamp_ns = 0  # the planner publishes its path (stamped) just before the speed profile
            self.create_subscription(Path, topics.PLANNED_PATH.name, self._on_path, qos(topics.PLANNED_PATH.qos))
            self.create_subscription(
                Float32MultiArray, topics.SPEED_PROFILE.name, self._on_speed_profile, qos(topics.SPEED_PROFILE.qos)
            )
        self.get_logger().info(f"publishing {', '.join(self._publishers) or 'nothing (every output is off)'}")

    def _on_objects(self, msg: PointCloud2) -> None:
        try:
            objects = decode_objects(msg)
        except MessageError as err:
            self.get_logger().error(f"object list rejected: {err}", throttle_duration_sec=1.0)
            return
        stamp_ns, frame = stamp_to_ns(msg.header.stamp), msg.header.frame_id
        found = standard_objects(objects, self._uuids, self.get_clock().now().nanoseconds)
        c = self.config
        builders: dict[str, Callable[[], Any]] = {
            "vision_msgs": lambda: adapters.detection_3d_array(found, stamp_ns, frame),
            "autoware_detected": lambda: adapters.detected_objects(found, stamp_ns, frame),
            "autoware_tracked": lambda: adapters.tracked_objects(found, stamp_ns, frame),
            "autoware_predicted": lambda: adapters.predicted_objects(
                found, stamp_ns, frame, c.prediction_horizon_s, c.prediction_step_s
            ),
        }
        for output, build in builders.items():
            if output in self._publishers:
                self._publishers[output].publish(build())

    def _on_path(self, msg: Path) -> None:
        self._path_stamp_ns = stamp_to_ns(msg.header.stamp)

    def _on_speed_profile(self, msg: Float32MultiArray) -> None:
        try:
            values = trajectory_values(np.asarray(msg.data, dtype=float).reshape(-1, 5))
        except ValueError as err:
            self.get_logger().error(f"speed profile rejected: {err}", throttle_duration_sec=1.0)
            return
        self._publishers["autoware_trajectory"].publish(adapters.trajectory(values, self._path_stamp_ns, "odom"))

    def _on_brake(self, msg: AccelStamped) -> None:
        request = longitudinal_request(msg.accel.linear.x, stamp_to_ns(msg.header.stamp))
        if request is not None:
            self._publishers["autoware_longitudinal"].publish(adapters.longitudinal(request))


def main() -> int:
    return node_setup.run(AdapterNode)


if __name__ == "__main__":
    raise SystemExit(main())
