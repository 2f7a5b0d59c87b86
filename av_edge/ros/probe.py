"""A stand-in for the vehicle around the AEB: publishes scans and odometry, records brake commands.

Used by the latency benchmark and the DDS integration tests, in its own rclpy context (so a test
process can hold one per DDS domain).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.subscription import Subscription
from sensor_msgs.msg import PointCloud2

from av_edge import topics
from av_edge.ros.messages import ns_to_stamp, stamp_to_ns
from av_edge.ros.qos import qos_profile

MEASURING_DEPTH = 100  # brake commands the probe's queue holds: 10 s of scans


@dataclass(frozen=True)
class BrakeSample:
    stamp_ns: int
    received_ns: int
    accel_mps2: float

    @property
    def latency_ms(self) -> float:
        return (self.received_ns - self.stamp_ns) / 1e6


class VehicleProbe:
    """Publishes to the AEB's inputs and records its outputs; spins in a background thread."""

    def __init__(self, domain_id: int, name: str = "av_edge_probe", record_objects: bool = True) -> None:
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(name, context=self.context)
        self.brakes: list[BrakeSample] = []
        self.diagnostics: list[DiagnosticArray] = []
        self.objects: list[PointCloud2] = []
        self.events: list[tuple[int, DiagnosticArray]] = []  # (received ns, message)
        self.telltales: list[tuple[int, DiagnosticStatus]] = []  # (received ns, the AEB availability)
        self._lock = threading.Lock()
        self._x = 0.0  # the pose publish_speed integrates
        self._odometry_ns: int | None = None
        self._clouds = self.node.create_publisher(
            PointCloud2, topics.LIDAR_POINTS.name, qos_profile(topics.LIDAR_POINTS.qos)
        )
        self._odometry = self.node.create_publisher(Odometry, topics.ODOMETRY.name, qos_profile(topics.ODOMETRY.qos))
        # The registry's QoS, but a history deep enough to keep every command until this process
        # takes it: a command overwritten in the probe's own queue while the measuring process was
        # descheduled would read as the AEB's loss (a control stack keeps only the latest, depth 1).
        measuring = dataclasses.replace(topics.BRAKE_COMMAND.qos, depth=MEASURING_DEPTH)
        # Where rclpy hands over the middleware's message info (Iron and later), a command counts as
        # received when the middleware received it, not when this process's Python got round to it,
        # and gaps in its publication sequence numbers are commands lost on the way.
        with_info = hasattr(Subscription, "CallbackType")
        on_brake = self._on_brake_info if with_info else self._on_brake
        self.node.create_subscription(AccelStamped, topics.BRAKE_COMMAND.name, on_brake, qos_profile(measuring))
        self.brakes_missing: int | None = 0 if with_info else None  # commands never received (sequence gaps)
        self._last_sequence: int | None = None
        self.node.create_subscription(
            DiagnosticArray, topics.DIAGNOSTICS.name, self._on_diagnostics, qos_profile(topics.DIAGNOSTICS.qos)
        )
        if record_objects:  # off for long runs that do not need them (the soak)
            self.node.create_subscription(
                PointCloud2, topics.OBJECTS.name, self._on_objects, qos_profile(topics.OBJECTS.qos)
            )
        self.node.create_subscription(
            DiagnosticArray, topics.EVENTS.name, self._on_event, qos_profile(topics.EVENTS.qos)
        )
        self.node.create_subscription(
            DiagnosticStatus, topics.AEB_AVAILABILITY.name, self._on_telltale, qos_profile(topics.AEB_AVAILABILITY.qos)
        )
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def now_ns(self) -> int:
        return int(self.node.get_clock().now().nanoseconds)

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self._executor.spin_once(timeout_sec=0.05)
            except Exception:
                if self.context.ok():
                    raise
                return

    def _on_brake(self, msg: AccelStamped, received_ns: int | None = None) -> None:
        received_ns = received_ns or self.now_ns()
        sample = BrakeSample(stamp_to_ns(msg.header.stamp), received_ns, msg.accel.linear.x)
        with self._lock:
            self.brakes.append(sample)

    def _on_brake_info(self, msg: AccelStamped, info: Any) -> None:
        sequence = info.get("publication_sequence_number")
        if sequence is not None and self.brakes_missing is not None:
            if self._last_sequence is not None and sequence > self._last_sequence + 1:
                self.brakes_missing += sequence - self._last_sequence - 1
            self._last_sequence = sequence
        self._on_brake(msg, int(info.get("received_timestamp") or 0) or None)

    def _on_event(self, msg: DiagnosticArray) -> None:
        with self._lock:
            self.events.append((self.now_ns(), msg))

    def _on_telltale(self, msg: DiagnosticStatus) -> None:
        with self._lock:
            self.telltales.append((self.now_ns(), msg))

    def _on_objects(self, msg: PointCloud2) -> None:
        with self._lock:
            self.objects.append(msg)

    def take_objects(self) -> list[PointCloud2]:
        """Object lists received since the last call."""
        with self._lock:
            taken, self.objects = self.objects, []
        return taken

    def objects_for(self, stamp_ns: int, timeout_s: float) -> PointCloud2 | None:
        """Wait for the object list computed from the scan stamped ``stamp_ns``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                found = next((m for m in reversed(self.objects) if stamp_to_ns(m.header.stamp) == stamp_ns), None)
            if found is not None:
                return found
            time.sleep(0.002)
        return None

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self._lock:
            self.diagnostics.append(msg)

    def wait_for_aeb(self, timeout_s: float) -> bool:
        """True once the AEB subscribes to our clouds and odometry and publishes brake commands.

        Waiting for every input matters: a scan answered before any odometry arrived is decided at
        speed 0 (the watchdog reports "no odometry" then).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            inputs = self._clouds.get_subscription_count() > 0 and self._odometry.get_subscription_count() > 0
            if inputs and self.node.count_publishers(topics.BRAKE_COMMAND.name):
                return True
            time.sleep(0.05)
        return False

    def publish_cloud(self, msg: PointCloud2, stamp_ns: int | None = None) -> int:
        """Publish ``msg`` stamped now (or at ``stamp_ns``); returns the stamp."""
        stamp_ns = self.now_ns() if stamp_ns is None else stamp_ns
        msg.header.stamp = ns_to_stamp(stamp_ns)
        self._clouds.publish(msg)
        return stamp_ns

    def publish_odometry(self, msg: Odometry) -> None:
        self._odometry.publish(msg)

    def publish_speed(self, speed_mps: float) -> None:
        """Odometry driving straight along x at ``speed_mps``: the pose advances with the speed, as a
        real localisation's would (perception compensates ego motion with the pose)."""
        now = self.now_ns()
        if self._odometry_ns is not None:
            self._x += speed_mps * (now - self._odometry_ns) / 1e9
        self._odometry_ns = now
        msg = Odometry()
        msg.header.stamp = ns_to_stamp(now)
        msg.header.frame_id, msg.child_frame_id = "odom", "base_link"
        msg.pose.pose.position.x = self._x
        msg.pose.pose.orientation.w = 1.0
        msg.twist.twist.linear.x = speed_mps
        self._odometry.publish(msg)

    def brake_for(self, stamp_ns: int, timeout_s: float) -> BrakeSample | None:
        """Wait for the brake command answering the scan stamped ``stamp_ns``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                found = next((b for b in reversed(self.brakes) if b.stamp_ns == stamp_ns), None)
            if found is not None:
                return found
            time.sleep(0.002)
        return None

    def first_brake_per_stamp(self) -> dict[int, BrakeSample]:
        """The first brake command received for each scan stamp (the one that acted)."""
        with self._lock:
            found: dict[int, BrakeSample] = {}
            for sample in self.brakes:
                found.setdefault(sample.stamp_ns, sample)
            return found

    def latest_diagnostic_values(self, name: str) -> dict[str, str] | None:
        with self._lock:
            for array in reversed(self.diagnostics):
                for status in array.status:
                    if status.name == name:
                        return {kv.key: kv.value for kv in status.values}
        return None

    def close(self) -> None:
        self.context.try_shutdown()
        self._thread.join(timeout=2.0)
        self.node.destroy_node()
