"""Clip recorder + uploader node: rare-scenario clips to a persistent spool, then to S3.

Logic lives in :class:`av_edge.clips.recorder.ClipRecorder` and :class:`av_edge.clips.uploader.Uploader`;
this node subscribes (serialized, types discovered from the graph), triggers, and runs the uploader
on a background thread.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import PointCloud2
from std_srvs.srv import Trigger

from av_edge import topics
from av_edge.clips.drain import build_uploader
from av_edge.clips.recorder import ClipRecorder
from av_edge.clips.spool import Spool
from av_edge.clips.uploader import Uploader
from av_edge.core.clips.config import RecorderConfig
from av_edge.core.errors import MessageError
from av_edge.core.objects import decode_objects
from av_edge.ros import node_setup
from av_edge.ros.messages import diagnostic_array, message_class, statuses
from av_edge.ros.qos import qos_profile

DISCOVERY_PERIOD_S = 1.0
POLL_PERIOD_S = 0.1


class ClipRecorderNode(Node):
    def __init__(self) -> None:
        super().__init__("clip_recorder_node", automatically_declare_parameters_from_overrides=True)
        config = node_setup.load_config(self, RecorderConfig)
        node_setup.yield_cpu(config.niceness, config.cpu_set())
        log, warn = self.get_logger().info, self.get_logger().warning
        spool = Spool(
            Path(config.spool.directory).expanduser(),
            config.spool.quota_mib << 20,
            config.spool.evict_braking_clips,
            self.get_logger().warning,
        )
        for name in spool.discard_partial():
            self.get_logger().warning(f"discarded {name}: half-written when the recorder last stopped")
        self.recorder = ClipRecorder(config, spool, log)
        self.recorder.recover(warn)  # clips the last process died holding: logged and counted
        self.config = config
        qos = qos_profile
        self._diagnostics = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS.name, qos(topics.DIAGNOSTICS.qos))
        now = self._now_ns
        self.create_subscription(
            AccelStamped,
            topics.BRAKE_COMMAND.name,
            lambda m: self.recorder.on_brake_request(m.accel.linear.x, now()),
            qos(topics.BRAKE_COMMAND.qos),
        )
        self.create_subscription(DiagnosticArray, topics.EVENTS.name, self._on_events, qos(topics.EVENTS.qos))
        self.create_subscription(  # distance driven, for activations per 1000 km in the fleet view
            Odometry,
            topics.ODOMETRY.name,
            lambda m: self.recorder.on_speed(m.twist.twist.linear.x, now()),
            qos(topics.ODOMETRY.qos),
        )
        self.create_subscription(
            DiagnosticArray, topics.DIAGNOSTICS.name, self._on_diagnostics, qos(topics.DIAGNOSTICS.qos)
        )
        self.create_subscription(PointCloud2, topics.OBJECTS.name, self._on_objects, qos(topics.OBJECTS.qos))
        self.create_service(Trigger, "~/trigger_clip", self._on_manual)
        self._subscribed: set[str] = set()
        self._discover()
        self.create_timer(DISCOVERY_PERIOD_S, self._discover)
        self.create_timer(POLL_PERIOD_S, lambda: self.recorder.poll(now()))
        self.create_timer(1.0, self._publish_diagnostics)
        period = config.uploader.summary_period_s
        self.create_timer(period, lambda: self.recorder.write_summary(now(), period, self._uploaded()))
        self._stop = threading.Event()
        self.uploader: Uploader | None = None
        if config.uploader.enabled:
            self.uploader = build_uploader(config, spool, log, warn, self._stop.wait)
            threading.Thread(target=self.uploader.run, args=(1.0,), name="uploader", daemon=True).start()

    def _uploaded(self) -> int | None:
        return self.uploader.stats.entries if self.uploader is not None else None

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _discover(self) -> None:
        """Subscribe to configured topics once they appear, serialized, with the publishers' reliability."""
        types = dict(self.get_topic_names_and_types())
        for topic in self.config.topics:
            if topic in self._subscribed or topic not in types:
                continue
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:  # known only from our own trigger subscriptions: wait for a publisher
                continue
            msgtype = types[topic][0]
            reliable = all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers)
            profile = QoSProfile(
                depth=100, reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
            )
            self.create_subscription(
                message_class(msgtype),
                topic,
                lambda data, t=topic: self.recorder.on_message(t, data, self._now_ns()),
                profile,
                raw=True,
            )
            self.recorder.add_topic(topic, msgtype)
            self._subscribed.add(topic)
            self.get_logger().info(f"recording {topic} ({msgtype}, {'reliable' if reliable else 'best effort'})")

    def _on_events(self, msg: DiagnosticArray) -> None:
        now = self._now_ns()
        for event in statuses(msg):
            self.recorder.on_event(event, now)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        now = self._now_ns()
        for status in statuses(msg):
            self.recorder.on_status(status, now)

    def _on_objects(self, msg: PointCloud2) -> None:
        try:
            objects = decode_objects(msg)
        except MessageError as err:  # recorded as is; only the confidence statistics miss it
            self.get_logger().warning(f"object list not decodable for statistics: {err}", throttle_duration_sec=10.0)
            return
        self.recorder.on_scores(objects["score"])

    def _on_manual(self, request: Any, response: Any) -> Any:
        response.success, response.message = self.recorder.on_manual("manual trigger service", self._now_ns())
        return response

    def _publish_diagnostics(self) -> None:
        now = self._now_ns()
        found = [self.recorder.status(now)]
        if self.uploader is not None:
            found.append(self.uploader.status())
        self._diagnostics.publish(diagnostic_array(found, now))

    def destroy_node(self) -> None:
        self._stop.set()
        self.recorder.poll(self._now_ns() + 10**18)  # a clip still open is cut short, not lost
        self.recorder.flush()
        self.recorder.close()
        super().destroy_node()


def main() -> int:
    return node_setup.run(ClipRecorderNode, keep_heap=False)  # off the braking path: memory goes back


if __name__ == "__main__":
    raise SystemExit(main())
