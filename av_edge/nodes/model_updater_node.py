"""Model updater node: signed model packages from the fleet repository (logic in
:class:`av_edge.fleet.updater.ModelUpdater`).

Its own low-priority process, like the clip recorder: it polls on a background thread, pauses
downloads while the vehicle brakes or raises an event (:class:`av_edge.core.update.gate.BusyGate`),
publishes each update step on ``/av_edge/events`` and its state on ``/diagnostics``. A new version
becomes the perception node's candidate (shadow-evaluated, then promoted there), or with
``promotion: direct`` its ``current`` package, loaded at the perception node's next start.
"""

from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import AccelStamped
from rclpy.node import Node

from av_edge import __version__, topics
from av_edge.core.diagnostics import Status
from av_edge.core.update.config import UpdaterConfig
from av_edge.core.update.gate import BusyGate
from av_edge.fleet.service import serve
from av_edge.fleet.updater import ModelUpdater
from av_edge.ros import node_setup
from av_edge.ros.messages import diagnostic_array, statuses
from av_edge.ros.qos import qos_profile

FIRST_CHECK_S = 2.0  # after start-up: DDS discovery first, so the first check's events reach their subscribers ...
DISCOVERY_WAIT_S = 10.0  # ... and while nobody listens to events yet, up to this long (slow discovery)


class ModelUpdaterNode(Node):
    def __init__(self) -> None:
        super().__init__("model_updater_node", automatically_declare_parameters_from_overrides=True)
        config = node_setup.load_config(self, UpdaterConfig)
        node_setup.yield_cpu(config.niceness, ())
        qos = qos_profile
        self._diagnostics = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS.name, qos(topics.DIAGNOSTICS.qos))
        self._events = self.create_publisher(DiagnosticArray, topics.EVENTS.name, qos(topics.EVENTS.qos))
        self.gate = BusyGate(config.brake_pause_mps2, config.pause_hold_s)
        now = self._now_ns
        self.create_subscription(
            AccelStamped,
            topics.BRAKE_COMMAND.name,
            lambda m: self.gate.on_brake_request(m.accel.linear.x, now()),
            qos(topics.BRAKE_COMMAND.qos),
        )
        self.create_subscription(DiagnosticArray, topics.EVENTS.name, self._on_events, qos(topics.EVENTS.qos))
        self._stop = threading.Event()
        self.updater = ModelUpdater(
            config, __version__, paused=lambda: self.gate.paused(now()), stopping=self._stop.is_set
        )
        self.create_timer(1.0, lambda: self._diagnostics.publish(diagnostic_array([self.updater.status()], now())))
        self._worker = threading.Thread(target=self._serve, name="model_updater", daemon=True)
        self._worker.start()

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_events(self, msg: DiagnosticArray) -> None:
        now = self._now_ns()
        for event in statuses(msg):
            if event.hardware_id != "model_updater":  # our own events do not pause us
                self.gate.on_event(event, now)

    def _serve(self) -> None:
        try:
            if self._stop.wait(FIRST_CHECK_S):
                return
            deadline = time.monotonic() + DISCOVERY_WAIT_S - FIRST_CHECK_S
            while self._events.get_subscription_count() < 2 and time.monotonic() < deadline:  # 1: our own
                if self._stop.wait(0.2):
                    return
            serve(self.updater, self._stop, self._publish_events)
        except Exception as err:  # a worker error surfaces: logged, and ERROR on /diagnostics
            self.get_logger().error(f"model updater stopped: {type(err).__name__}: {err}")
            self.updater.state.link_up, self.updater.state.last_error = False, f"stopped: {err}"
            raise

    def _publish_events(self, events: list[Status]) -> None:
        node_setup.log_events(self.get_logger(), events)
        if events:
            self._events.publish(diagnostic_array(events, self._now_ns()))

    def destroy_node(self) -> None:
        self._stop.set()
        self._worker.join(5.0)
        super().destroy_node()


def main() -> int:
    return node_setup.run(ModelUpdaterNode, keep_heap=False)


if __name__ == "__main__":
    raise SystemExit(main())
