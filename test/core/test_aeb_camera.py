"""The AEB's camera fallback: camera-only objects brake while the LiDAR is degraded, and only then;
partial braking until they are consistent over ``camera.full_lists`` lists."""

from __future__ import annotations

import numpy as np

from av_edge.core.aeb import AebCore, AebState
from av_edge.core.objects import CLASSES, OBJECT_DTYPE, SOURCE_CAMERA
from test.core.test_aeb import CONFIG, MS, V, scan, wall
from test.core.test_aeb_availability import healthy_scans

SCAN_NS = 100 * MS
SPEED = 13.89  # 50 km/h


def camera_car(gap_m: float, y: float = 0.0, v_sigma: float = 0.5) -> np.ndarray:
    """A stopped car the cameras alone see ``gap_m`` ahead of the bumper (its velocity estimated)."""
    obj = np.zeros(1, OBJECT_DTYPE)
    obj["x"], obj["y"], obj["length"], obj["width"], obj["height"] = V.front_overhang_m + gap_m + 2.25, y, 4.5, 1.8, 1.5
    obj["class_id"], obj["class_score"], obj["score"] = CLASSES.index("car"), 0.9, 0.7
    obj["track_id"], obj["source"], obj["v_sigma"] = (1 << 31) + 3, SOURCE_CAMERA, v_sigma
    return obj


def blocked(points: np.ndarray, half_deg: float = 40.0) -> np.ndarray:
    """The scan with its forward sector (± ``half_deg``) blocked: nothing comes back from there."""
    azimuth = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    return points[np.abs(azimuth) > half_deg]


def run(lists: int, gap_at_start: float, degrade: bool, y: float = 0.0) -> list[AebState]:
    """The stage after each scan, closing at SPEED on a stopped car only the cameras see (the LiDAR
    scan shows a far wall off the path; blocked ahead when ``degrade``)."""
    core, states = AebCore(CONFIG), []
    for k in range(lists):
        now = k * SCAN_NS
        gap = gap_at_start - SPEED * k * 0.1
        points = scan(wall(60.0, lateral_m=8.0))
        core.on_odometry(SPEED, 0.0, now)
        core.on_cloud(blocked(points) if degrade else points, now, now + 5 * MS)
        core.on_objects(camera_car(gap, y), now, now + 60 * MS)
        states.append(core.state)
    return states


def test_a_camera_only_car_brakes_while_the_lidar_is_blocked_partial_first() -> None:
    states = run(8, 16.0, degrade=True)
    first_braking = next(i for i, s in enumerate(states) if s is not AebState.CRUISE)
    partial_limit = CONFIG.camera.full_lists - 1  # lists before it may ask for full braking
    assert first_braking >= CONFIG.camera.min_lists - 1
    assert all(s is not AebState.FULL for s in states[:partial_limit])
    assert AebState.PARTIAL in states and states[-1] is AebState.FULL


def test_a_camera_only_car_is_no_threat_while_the_lidar_is_healthy() -> None:
    assert set(run(8, 16.0, degrade=False)) == {AebState.CRUISE}


def test_a_camera_only_car_in_the_next_lane_is_no_threat() -> None:
    assert set(run(8, 16.0, degrade=True, y=3.5)) == {AebState.CRUISE}


def test_an_unsure_camera_velocity_is_no_threat() -> None:
    core = AebCore(CONFIG)
    for k in range(8):
        now = k * SCAN_NS
        core.on_odometry(SPEED, 0.0, now)
        core.on_cloud(blocked(scan(wall(60.0, lateral_m=8.0))), now, now + 5 * MS)
        unsure = camera_car(16.0 - SPEED * k * 0.1, v_sigma=CONFIG.camera.max_sigma_mps + 1.0)
        core.on_objects(unsure, now, now + 60 * MS)
    assert core.state is AebState.CRUISE


def test_with_the_lidar_dead_camera_lists_decide_alone_and_the_aeb_is_degraded_not_unavailable() -> None:
    core = AebCore(CONFIG)
    core.on_odometry(SPEED, 0.0, 0)
    core.on_cloud(scan(wall(60.0, lateral_m=8.0)), 0, 5 * MS)  # the last scan: the LiDAR dies after it
    decisions = []
    for k in range(1, 10):
        now = k * SCAN_NS + CONFIG.watchdog.lidar_timeout_s * 1e9
        core.on_odometry(SPEED, 0.0, int(now))
        decisions.append(core.on_objects(camera_car(20.0 - SPEED * k * 0.1), int(now), int(now) + 60 * MS))
    states = [d.state for d in decisions if d is not None]
    assert len(states) == 9 and AebState.PARTIAL in states and states[-1] is AebState.FULL
    assert core.telltale(int(now) + 60 * MS).availability.value == "degraded"
    silent = int(now) + int(1e9)  # and once the lists stop too, nothing is left to brake on
    assert core.telltale(silent).availability.value == "unavailable"


def test_camera_faults_degrade_the_telltale_and_all_cameras_faulty_leave_a_dead_lidar_unavailable() -> None:
    core = AebCore(CONFIG)
    core.on_odometry(SPEED, 0.0, 0)
    core.on_cloud(scan(wall(60.0, lateral_m=8.0)), 0, 5 * MS)
    core.on_camera_health({"front": ("blank",), "front_left": ()}, 10 * MS)
    assert core.telltale(20 * MS).availability.value == "degraded"
    now = 10**9  # the LiDAR has been silent for 1 s; object lists still come
    core.on_odometry(SPEED, 0.0, now)
    core.on_objects(np.zeros(0, OBJECT_DTYPE), now, now)
    core.on_camera_health({"front": ("blank",), "front_left": ()}, now)
    assert core.telltale(now).availability.value == "degraded"  # front_left still sees
    core.on_camera_health({"front": ("blank",), "front_left": ("frozen",)}, now)
    assert core.telltale(now).availability.value == "unavailable"  # nothing left to brake on


def test_a_camera_health_report_lapses_after_three_seconds() -> None:
    core = AebCore(CONFIG)
    core.on_camera_health({"front": ("blank",)}, 0)
    last = healthy_scans(core, 0, 35)  # 3.4 s of healthy LiDAR and odometry
    assert core.telltale(last).availability.value == "available"
