"""What a monitor sees from the AEB node (its handler, messages in and out, no DDS): braking is not
a fault, a fault is one ERROR, and a flapping one is counted, not repeated 20 times a second."""

from __future__ import annotations

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import AccelStamped

from av_edge.core.objects import OBJECT_DTYPE, encode_objects
from av_edge.core.pointcloud import array_to_cloud
from av_edge.ros.handlers import AebHandler
from av_edge.ros.messages import cloud_msg, odometry_msg
from av_edge.sim.lidar import LidarModel
from av_edge.sim.world import Box
from av_edge.suite.stack import StackConfig

STACK = StackConfig.load()
MS = 1_000_000
SCAN_NS = 100 * MS
POLL_NS = 50 * MS  # the node's watchdog timer: 20 Hz


class Drive:
    """The ego at constant speed towards a stopped car, scans from the simulator's LiDAR model."""

    def __init__(self, speed_mps: float, gap_m: float) -> None:
        self.handler = AebHandler(STACK.aeb, lambda line: None)
        self.lidar = LidarModel(STACK.sim.lidar, seed=3)
        self.speed, self.car_x = speed_mps, STACK.aeb.vehicle.front_overhang_m + gap_m + 2.3
        self.now, self.x = 0, 0.0
        self.commands: list[AccelStamped] = []
        self.events: list[DiagnosticStatus] = []

    def step(self, scan: bool = True) -> None:
        """One watchdog poll; a scan and an object list (empty: perception alive) every other one."""
        self.now += POLL_NS
        self.x += self.speed * POLL_NS / 1e9
        h = self.handler
        h.on_odometry(odometry_msg(self.x, 0.0, 0.0, self.speed, 0.0, self.now), self.now)
        if scan and self.now % SCAN_NS == 0:
            xyz = self.lidar.scan(self.x, 0.0, 0.0, [Box(self.car_x, 0.0, 4.5, 1.8, 1.5)])
            h.on_cloud(cloud_msg(array_to_cloud(xyz), self.now, "lidar"), self.now, self.commands.append)
            objects = cloud_msg(encode_objects(np.zeros(0, OBJECT_DTYPE)), self.now, "base_link")
            h.on_objects(objects, self.now, self.commands.append)
        h.watchdog(self.now)
        array = h.events(self.now)
        self.events += [] if array is None else array.status

    def aeb_status(self) -> DiagnosticStatus:
        array: DiagnosticArray = self.handler.diagnostics(self.now)
        return next(s for s in array.status if s.name == "av_edge: aeb")


def values(status: DiagnosticStatus) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def test_braking_keeps_diagnostics_ok_and_a_stale_lidar_is_one_error_with_a_repeat_count() -> None:
    drive = Drive(speed_mps=13.89, gap_m=60.0)
    drive.step()  # before the first scan: "no point cloud" (ERROR, rightly)
    levels, states = [], []
    while drive.commands == [] or drive.commands[-1].accel.linear.x > -STACK.aeb.brake.full_decel_mps2 + 0.1:
        drive.step()
        status = drive.aeb_status()
        levels.append(status.level)
        states.append(values(status)["state"])
        assert drive.now < 5_000 * MS, "never braked fully for a stopped car ahead"
    assert {"warning", "partial_braking", "full_braking"} <= set(states) and set(levels) == {DiagnosticStatus.OK}, (
        levels,
        states,
    )
    braking = [e for e in drive.events if e.name == "aeb/emergency_braking"]
    assert braking and braking[0].level == DiagnosticStatus.OK and values(braking[0])["state"] == "partial_braking"

    drive.events.clear()
    for _ in range(20):  # 1 s without scans: stale from 0.3 s, polled 14 times after
        drive.step(scan=False)
    watchdog = [e for e in drive.events if e.name == "aeb/watchdog"]
    assert [e.level for e in watchdog] == [DiagnosticStatus.ERROR], watchdog
    assert drive.aeb_status().level == DiagnosticStatus.ERROR

    drive.events.clear()
    for k in range(12):  # a loose connector: scans come and go every 0.4 s, for 2.4 s
        for _ in range(2 if k % 2 == 0 else 6):
            drive.step(scan=k % 2 == 0)
    for _ in range(30):  # then a healthy LiDAR
        drive.step()
    watchdog = [e for e in drive.events if e.name == "aeb/watchdog"]
    suppressed = sum(int(values(e).get("suppressed", "0")) for e in watchdog)
    # a fault is told at once; repeats and recoveries wait: at most a fault and a recovery per interval
    assert len(watchdog) <= 2 * (2.4 / STACK.aeb.events_min_interval_s + 1), [e.message for e in watchdog]
    assert suppressed > 0 and len(watchdog) + suppressed == 12 + 1, [(e.message, values(e)) for e in watchdog]
    assert watchdog[-1].level == DiagnosticStatus.OK and watchdog[-1].message == "recovered"


def test_the_markers_show_the_corridor_the_obstacle_and_the_state() -> None:
    from visualization_msgs.msg import Marker

    from av_edge.core.aeb.threat import as_path
    from av_edge.ros.aeb_markers import aeb_markers

    drive = Drive(speed_mps=13.89, gap_m=25.0)
    while drive.commands == [] or drive.commands[-1].accel.linear.x > -STACK.aeb.brake.full_decel_mps2 + 0.1:
        drive.step()
        assert drive.now < 5_000 * MS
    core = drive.handler.core
    assert core.last is not None
    markers = {m.ns: m for m in aeb_markers(core, core.last).markers}
    corridor, obstacle, text = markers["aeb/corridor"], markers["aeb/obstacle"], markers["aeb/state"]
    assert (corridor.color.r, corridor.color.g) == (1.0, 0.0) and "full_braking" in text.text
    outline = np.array([(p.x, p.y) for p in corridor.points])
    _, d = as_path(core.path(core.last.stamp_ns)).coordinates(outline)
    half = STACK.aeb.vehicle.width_m / 2 + STACK.aeb.corridor.lateral_margin_m
    np.testing.assert_allclose(np.abs(d), half, atol=1e-6)  # its edges are the corridor's, wherever it bends
    rear_of_car = drive.car_x - 4.5 / 2 - drive.x  # base_link x of the car's rear face
    assert obstacle.action == Marker.ADD and abs(obstacle.pose.position.x - rear_of_car) < 0.6


def test_a_faulty_camera_perception_reports_degrades_the_telltale_until_it_heals() -> None:
    from av_edge.core.diagnostics import Level, Status
    from av_edge.ros.messages import diagnostic_array

    def health(front: str) -> DiagnosticArray:
        level = Level.WARN if front else Level.OK
        return diagnostic_array(
            [
                Status(level, "av_edge: camera front", front or "ok", "perception", {"faults": front}),
                Status(Level.OK, "av_edge: camera front_left", "ok", "perception", {"faults": ""}),
            ],
            drive.now,
        )

    drive = Drive(10.0, 60.0)
    for _ in range(6):
        drive.step()
    drive.handler.on_camera_health(health("blank; frozen"), drive.now)
    telltale = drive.handler.core.telltale(drive.now)
    assert telltale.availability.value == "degraded"
    assert [f.reason for f in telltale.faults] == ["front: blank; frozen"]
    drive.handler.on_camera_health(health(""), drive.now)
    assert drive.handler.core.telltale(drive.now).availability.value == "available"
