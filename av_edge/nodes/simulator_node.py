"""Closed-loop simulator node: publishes LiDAR scans and odometry, applies brake commands, writes a result.

Real-time mode: a 100 Hz timer advances :class:`av_edge.sim.simulation.Simulation` on the ROS clock.
A brake command counts from when DDS delivered it to this process (its reception timestamp, which
rclpy hands Iron's and later callbacks), so time the simulator spends ray casting is not charged to
the stack; on Humble the callback time is used, pessimistic by up to one scan's work. (rclpy's Python
multi-threaded executor was tried for this and stalled the timer for up to 2 s on 2 cores.)
Before the scenario starts, scans of the frozen initial scene go out until the stack is warm
(:class:`av_edge.sim.warmup.Warmup`: ``warmup_answers`` AEB answers in a row within the latency
budget and ``warmup_object_lists`` object lists from perception).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rclpy
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.node import Node
from rclpy.subscription import Subscription
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from av_edge import topics
from av_edge.core.config import bounded
from av_edge.core.image import array_to_image
from av_edge.core.objects import encode_objects
from av_edge.core.pointcloud import array_to_cloud
from av_edge.paths import config_file
from av_edge.ros import node_setup
from av_edge.ros.messages import camera_info_msg, cloud_msg, image_msg, odometry_msg, path_msg, stamp_to_ns
from av_edge.ros.qos import qos_profile
from av_edge.ros.sim_io import odometry
from av_edge.sim.catalog import find_scenario
from av_edge.sim.scenario import lane_centre
from av_edge.sim.simulation import SimConfig, Simulation
from av_edge.sim.warmup import Warmup

LANE_PERIOD_S = 1.0


@dataclass(frozen=True)
class SimulatorNodeConfig:
    sim: SimConfig
    scenario: str
    scenario_dir: str  # relative paths are under the package's config/
    publish_cameras: bool  # render and publish the rig's images with every scan
    lidar_frame: str  # from the vehicle description
    result_path: str
    physics_rate_hz: float = bounded(10.0, 1000.0)
    odometry_rate_hz: float = bounded(1.0, 200.0)
    wait_for_stack_s: float = bounded(0.0, 120.0, "wait this long for the stack to answer before starting")
    warmup_answers: int = bounded(0, 1000, "in-budget brake answers to frozen scans before the scenario starts")
    warmup_object_lists: int = bounded(
        0, 1000, "object lists from perception before the scenario starts (0: perception is not waited for)"
    )


class SimulatorNode(Node):
    def __init__(self) -> None:
        super().__init__("simulator_node", automatically_declare_parameters_from_overrides=True)
        self.config = node_setup.load_config(self, SimulatorNodeConfig)
        self.scenario = find_scenario(_config_path(self.config.scenario_dir), self.config.scenario, self.config.sim)
        self.rig = node_setup.node_vehicle(self).cameras
        self._sim: Simulation | None = None
        self._warmup = Simulation(self.config.sim, self.scenario, self._now_ns())  # frozen: never advanced
        config = self.config
        self._gate = Warmup(
            config.warmup_answers,
            config.warmup_object_lists,
            config.sim.latency_budget_ms,
            config.wait_for_stack_s,
            self._now_ns(),
        )
        self._cloud = self.create_publisher(PointCloud2, topics.LIDAR_POINTS.name, qos_profile(topics.LIDAR_POINTS.qos))
        self._odometry = self.create_publisher(Odometry, topics.ODOMETRY.name, qos_profile(topics.ODOMETRY.qos))
        self._truth = self.create_publisher(PointCloud2, topics.GROUND_TRUTH.name, qos_profile(topics.GROUND_TRUTH.qos))
        image_qos, info_qos = qos_profile(topics.CAMERA_IMAGE.qos), qos_profile(topics.CAMERA_INFO.qos)
        self._images = {
            c.name: (
                self.create_publisher(Image, topics.CAMERA_IMAGE.format(camera=c.name), image_qos),
                self.create_publisher(CameraInfo, topics.CAMERA_INFO.format(camera=c.name), info_qos),
            )
            for c in self.rig
        }
        self._brake_topic = topics.BRAKE_COMMAND.name
        # rclpy hands the message info (DDS reception time) only to a callback that requires two
        # arguments (Iron and later); one with a default second argument gets the message alone.
        with_info = hasattr(Subscription, "CallbackType")
        self.create_subscription(
            AccelStamped,
            self._brake_topic,
            self._on_brake_with_info if with_info else self._on_brake,
            qos_profile(topics.BRAKE_COMMAND.qos),
        )
        if config.warmup_object_lists:
            self.create_subscription(
                PointCloud2,
                topics.OBJECTS.name,
                lambda _: self._gate.on_object_list(),
                qos_profile(topics.OBJECTS.qos),
            )
        self._next_scan_ns = 0
        self._next_odometry_ns = 0
        self.create_timer(1.0 / self.config.physics_rate_hz, self._tick)
        # The ego lane as a map gives it (the AEB predicts along it, the planner plans along it);
        # repeated, since a reliable keep-last-1 topic reaches only subscribers already matched.
        lane_publisher = self.create_publisher(
            PathMsg, topics.REFERENCE_PATH.name, qos_profile(topics.REFERENCE_PATH.qos)
        )
        lane = lane_centre(self.scenario)
        self.create_timer(LANE_PERIOD_S, lambda: lane_publisher.publish(path_msg(lane, self._now_ns())))

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_brake_with_info(self, msg: AccelStamped, info: Mapping[str, Any]) -> None:
        self._on_brake(msg, int(info.get("received_timestamp") or 0))

    def _on_brake(self, msg: AccelStamped, received_ns: int = 0) -> None:
        now_ns = received_ns if received_ns > 0 else self._now_ns()
        stamp_ns = stamp_to_ns(msg.header.stamp)
        if self._sim is None:
            self._gate.on_answer(stamp_ns, now_ns)
        elif stamp_ns >= self._sim.start_ns:
            self._sim.advance(now_ns)
            self._sim.on_brake_command(msg.accel.linear.x, stamp_ns, now_ns)

    def _tick(self) -> None:
        now_ns = self._now_ns()
        if self._sim is None and not self._start(now_ns):
            self._publish_warmup(now_ns)
            return
        assert self._sim is not None
        self._sim.advance(now_ns)
        finished = self._sim.finished(now_ns)
        if finished:
            self._finish()
            return
        if now_ns >= self._next_odometry_ns:
            self._next_odometry_ns = now_ns + int(1e9 / self.config.odometry_rate_hz)
            self._odometry.publish(odometry(self._sim, now_ns))
        if self._publish_scan_when_due(self._sim, now_ns):
            self._truth.publish(cloud_msg(encode_objects(self._sim.ground_truth(now_ns)), now_ns, "odom"))
            if self.config.publish_cameras:
                self._publish_images(self._sim, now_ns)

    def _publish_images(self, sim: Simulation, now_ns: int) -> None:
        images = sim.render(now_ns)
        for camera in self.rig:
            image_pub, info_pub = self._images[camera.name]
            image_pub.publish(image_msg(array_to_image(images[camera.name], "bgr8"), now_ns, camera.optical_frame))
            info_pub.publish(camera_info_msg(camera, now_ns))

    def _publish_warmup(self, now_ns: int) -> None:
        """Frozen scene: a standing vehicle, odometry before each scan (as in the run). Odometry that
        claimed the run's speed, or came after the scan, made perception's ego pose jump at the start
        and a mature track read the stalled car as closing at ~5 m/s."""
        if now_ns >= self._next_scan_ns:
            state = self._warmup.state()
            self._odometry.publish(odometry_msg(state.x, state.y, state.yaw, 0.0, 0.0, now_ns))
            self._publish_scan_when_due(self._warmup, now_ns)

    def _publish_scan_when_due(self, sim: Simulation, now_ns: int) -> bool:
        if now_ns < self._next_scan_ns:
            return False
        # A late tick skips ahead: a LiDAR never bursts scans to catch up.
        self._next_scan_ns = max(self._next_scan_ns + int(1e9 / self.config.sim.lidar.rate_hz), now_ns)
        warm = sim is self._warmup
        if not warm and not sim.lidar_alive(now_ns):  # the scenario's LiDAR has died: silence
            return True
        points = sim.capture(sim.start_ns if warm else now_ns)  # the warm-up scene stays frozen
        self._cloud.publish(cloud_msg(array_to_cloud(points), now_ns, self.config.lidar_frame))
        return True

    def _start(self, now_ns: int) -> bool:
        if not self._gate.due(now_ns):
            return False
        if not self._gate.ready:
            missing = self._gate.waiting_for()
            self.get_logger().error(f"the stack is not warm ({missing}); running the scenario anyway")
        cameras = self.rig if self.config.publish_cameras else ()
        self._sim = Simulation(self.config.sim, self.scenario, now_ns, cameras)
        self._next_scan_ns = self._next_odometry_ns = now_ns
        scenario = self.scenario
        self.get_logger().info(f"scenario '{scenario.name}' started at {scenario.ego_speed_kmh:.0f} km/h")
        return True

    def _finish(self) -> None:
        assert self._sim is not None
        result = self._sim.result()
        path = Path(self.config.result_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        self.get_logger().info(f"finished: {result['outcome']}, result in {path}")
        rclpy.try_shutdown()


def _config_path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else config_file(value)


def main() -> int:
    return node_setup.run(SimulatorNode)


if __name__ == "__main__":
    raise SystemExit(main())
