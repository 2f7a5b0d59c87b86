"""LiDAR perception node: scan -> :class:`~av_edge.core.perception.pipeline.LidarPipeline` -> objects.

Publishes obstacle points with cluster ids, the object list (PointCloud2), RViz markers (only while
subscribed) and ``/diagnostics``. The detector and fusion join this process later (no extra hop).
"""

from __future__ import annotations

import cv2
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2
from visualization_msgs.msg import MarkerArray

from av_edge import topics
from av_edge.core.diagnostics import fmt
from av_edge.core.ego import EgoPose
from av_edge.core.errors import MessageError
from av_edge.core.geometry import require_frame
from av_edge.core.health import NodeHealth
from av_edge.core.perception.objects import encode_objects
from av_edge.core.perception.pipeline import LidarPipeline, PerceptionFrame
from av_edge.core.pointcloud import array_to_cloud, xyz_from_cloud
from av_edge.nodes.perception_config import PerceptionNodeConfig
from av_edge.ros import node_setup
from av_edge.ros.messages import cloud_msg, diagnostic_array, object_markers, pose_yaw, stamp_to_ns
from av_edge.ros.qos import qos_profile

OBSTACLE_DTYPE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("cluster_id", "<i4")])


class PerceptionNode(Node):
    def __init__(self) -> None:
        super().__init__("perception_node", automatically_declare_parameters_from_overrides=True)
        self.config = node_setup.load_config(self, PerceptionNodeConfig)
        cv2.setNumThreads(1)  # predictable on a shared 2-core computer; measured no slower
        self.pipeline = LidarPipeline(self.config.pipeline)
        self.health = NodeHealth(
            "perception",
            {"point cloud": 1.0, "odometry": self.config.odometry_timeout_s},
            self.config.latency_budget_ms,
            self.config.latency_window,
        )
        self._ego: EgoPose | None = None
        self._last: PerceptionFrame | None = None
        self._processing_ms = 0.0

        def publisher(msg_type: type, spec: topics.TopicSpec):  # type: ignore[no-untyped-def]
            return self.create_publisher(msg_type, spec.name, qos_profile(spec.qos))

        self._points = publisher(PointCloud2, topics.OBSTACLE_POINTS)
        self._objects = publisher(PointCloud2, topics.OBJECTS)
        self._markers = publisher(MarkerArray, topics.MARKERS)
        self._diagnostics = publisher(DiagnosticArray, topics.DIAGNOSTICS)
        self.create_subscription(
            PointCloud2, topics.LIDAR_POINTS.name, self._on_cloud, qos_profile(topics.LIDAR_POINTS.qos)
        )
        self.create_subscription(Odometry, topics.ODOMETRY.name, self._on_odometry, qos_profile(topics.ODOMETRY.qos))
        self.create_timer(1.0, self._publish_diagnostics)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_odometry(self, msg: Odometry) -> None:
        twist = msg.twist.twist
        pose = msg.pose.pose
        self._ego = EgoPose(
            pose.position.x,
            pose.position.y,
            pose_yaw(pose),
            twist.linear.x,
            twist.angular.z,
            stamp_to_ns(msg.header.stamp),
        )
        self.health.on_input("odometry", self._now_ns())

    def _on_cloud(self, msg: PointCloud2) -> None:
        start_ns = self._now_ns()
        self.health.on_input("point cloud", start_ns)
        try:
            require_frame(msg.header.frame_id, self.config.pipeline.lidar_frame)
            xyz = xyz_from_cloud(msg)
        except MessageError as err:
            if self.health.on_rejected(err.reason, start_ns):
                self.get_logger().error(f"rejected point cloud ({err.reason}): {err}")
            return
        stamp_ns = stamp_to_ns(msg.header.stamp)
        fresh = self._ego is not None and self.health.fresh("odometry", start_ns)
        ego = self._ego.at(stamp_ns) if fresh and self._ego is not None else None
        frame = self.pipeline.process(xyz, stamp_ns, ego)
        self._objects.publish(cloud_msg(encode_objects(frame.objects), stamp_ns, "base_link"))
        obstacle = np.zeros(frame.obstacle_points.shape[0], OBSTACLE_DTYPE)
        obstacle["x"], obstacle["y"], obstacle["z"] = frame.obstacle_points.T
        obstacle["cluster_id"] = frame.cluster_ids
        self._points.publish(cloud_msg(array_to_cloud(obstacle), stamp_ns, "base_link"))
        if self._markers.get_subscription_count() > 0:
            self._markers.publish(object_markers(frame.objects, stamp_ns, "base_link"))
        end_ns = self._now_ns()
        self.health.on_output(stamp_ns, end_ns)
        self._processing_ms = (end_ns - start_ns) / 1e6
        self._last = frame

    def _publish_diagnostics(self) -> None:
        now_ns = self._now_ns()
        last = self._last
        values = {"processing_ms": fmt(self._processing_ms)}
        if last is not None:
            values.update(
                points_in=str(last.n_input),
                points_used=str(last.n_used),
                ground_points=str(last.n_ground),
                obstacle_points=str(last.obstacle_points.shape[0]),
                objects=str(last.objects.size),
                tracks=str(self.pipeline.tracker.ids.size),
            )
        if last is not None and last.n_used < last.n_input:
            values["strided"] = f"{last.n_input} points strided to {last.n_used}"
        self._diagnostics.publish(diagnostic_array([self.health.status(now_ns, values=values)], now_ns))


def main() -> int:
    return node_setup.run(PerceptionNode)


if __name__ == "__main__":
    raise SystemExit(main())
