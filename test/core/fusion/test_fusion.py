"""Collector timing, projection and association, disagreement events: pure, with the shipped rig."""

from __future__ import annotations

import numpy as np
import pytest

from av_edge.core.camera import load_rig, project
from av_edge.core.config import build_config
from av_edge.core.detection.boxes import DETECTION_DTYPE
from av_edge.core.fusion.associate import EgoMotion, box_corners, project_objects
from av_edge.core.fusion.calibration import (
    BadCalibrationError,
    calibration,
    check_extrinsic,
    intrinsics_from_camera_info,
)
from av_edge.core.fusion.camera_objects import ground_points
from av_edge.core.fusion.collector import FusionCollector
from av_edge.core.fusion.fuser import CameraInput, Fuser
from av_edge.core.objects import CLASSES, OBJECT_DTYPE
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.vehicle import load_node_params
from av_edge.paths import config_file

MS = 1_000_000
RIG = {c.name: c for c in load_rig(config_file("vehicle.yaml"))}
MODEL_CLASSES = ("car", "truck", "pedestrian", "cyclist")
STILL = EgoMotion(0.0, 0.0)


def fusion_config():
    params = load_node_params(config_file("perception.params.yaml"), "perception_node")
    return build_config(PerceptionNodeConfig, params).fusion


def calib(name: str = "front"):
    camera = RIG[name]
    return calibration(camera, camera.intrinsics(), camera.width, camera.height)


def objects(*rows: tuple[float, float, float, float, float]) -> np.ndarray:
    """(x, y, length, width, height) standing on the road, at rest."""
    out = np.zeros(len(rows), OBJECT_DTYPE)
    for i, (x, y, length, width, height) in enumerate(rows):
        out[i] = (x, y, height / 2, length, width, height, 0, 0, 0, 0, 0.9, i + 1, 0, 0, 0, 0, 0, 0)
    return out


def detection_at(obj: np.ndarray, name: str, cls: int, score: float = 0.9, dt: float = 0.0, ego=STILL):
    boxes, _ = project_objects(box_corners(obj, dt, ego), calib(name))
    return np.array([(*boxes[0], score, cls)], DETECTION_DTYPE)


# -- collector ---------------------------------------------------------------------------------------------


def test_full_set_is_released_at_once() -> None:
    c: FusionCollector[str, str] = FusionCollector(("a", "b"), tolerance_s=0.02, timeout_s=0.05, stale_s=0.5)
    c.add_camera("a", 0, "prev", 0)
    c.add_camera("b", 0, "prev", 0)
    c.add_scan(100 * MS, "scan", 110 * MS)
    assert c.release(115 * MS) == []  # waiting for both
    c.add_camera("a", 101 * MS, "a1", 120 * MS)
    c.add_camera("b", 99 * MS, "b1", 125 * MS)
    (done,) = c.release(125 * MS)
    assert {k: v.payload for k, v in done.matched.items()} == {"a": "a1", "b": "b1"} and done.missing == {}


def test_a_dropped_frame_costs_at_most_the_timeout_and_is_named() -> None:
    c: FusionCollector[str, str] = FusionCollector(("a", "b"), tolerance_s=0.02, timeout_s=0.05, stale_s=0.5)
    for k in range(3):  # both cameras alive, detections 30 ms after their stamps
        c.add_camera("a", k * 100 * MS, "a", (k * 100 + 30) * MS)
        c.add_camera("b", k * 100 * MS, "b", (k * 100 + 30) * MS)
    c.add_scan(300 * MS, "scan", 310 * MS)
    c.add_camera("a", 300 * MS, "a3", 330 * MS)  # b's frame of this moment never comes
    assert c.release(359 * MS) == [] and c.deadline_ns() == 360 * MS
    (done,) = c.release(360 * MS)
    assert set(done.matched) == {"a"} and done.missing == {"b": "late"}


def test_a_camera_lagging_beyond_the_timeout_is_not_waited_for() -> None:
    c: FusionCollector[str, str] = FusionCollector(("a", "lag"), tolerance_s=0.02, timeout_s=0.05, stale_s=0.5)
    for k in range(3):  # lag's detections come 120 ms after their stamps
        c.add_camera("lag", k * 100 * MS, "old", (k * 100 + 120) * MS)
    c.add_camera("a", 300 * MS, "a3", 330 * MS)
    c.add_scan(300 * MS, "scan", 315 * MS)
    (done,) = c.release(330 * MS)  # no wait for a camera that is always too late
    assert done.missing == {"lag": "late"} and c.expected_delay_ns("lag") == 120 * MS


def test_a_dead_camera_is_not_waited_for() -> None:
    c: FusionCollector[str, str] = FusionCollector(("a", "dead"), tolerance_s=0.02, timeout_s=0.05, stale_s=0.3)
    c.add_camera("dead", 0, "last words", 0)
    c.add_camera("a", 1000 * MS, "a1", 1005 * MS)
    c.add_scan(1000 * MS, "scan", 1010 * MS)
    (done,) = c.release(1010 * MS)  # no wait at all
    assert done.missing == {"dead": "stale"} and done.released_ns == 1010 * MS


# -- calibration -------------------------------------------------------------------------------------------


def test_camera_info_intrinsics_are_checked() -> None:
    k = RIG["front"].intrinsics().ravel().tolist()
    assert intrinsics_from_camera_info(k, 640, 480, "front")[0, 0] == pytest.approx(k[0])
    with pytest.raises(BadCalibrationError, match="focal"):
        intrinsics_from_camera_info([0, 0, 320, 0, 0, 240, 0, 0, 1], 640, 480, "front")
    with pytest.raises(BadCalibrationError, match="principal point"):
        intrinsics_from_camera_info([500, 0, 900, 0, 500, 240, 0, 0, 1], 640, 480, "front")
    for camera in RIG.values():
        check_extrinsic(camera)


# -- association -------------------------------------------------------------------------------------------


def test_projection_sees_objects_ahead_not_behind() -> None:
    boxes, visible = project_objects(
        box_corners(objects((20, 0, 4.5, 1.8, 1.5), (-20, 0, 4.5, 1.8, 1.5)), 0, STILL), calib()
    )
    assert visible.tolist() == [True, False]
    assert 300 < (boxes[0, 0] + boxes[0, 2]) / 2 < 340  # centred in the front image


def test_one_object_seen_by_two_cameras_gets_one_class() -> None:
    scene = objects((10, 3, 0.5, 0.6, 1.8))  # a pedestrian ahead-left: front and front_left see it
    fuser = Fuser(fusion_config(), MODEL_CLASSES)
    inputs = {
        name: (calib(name), CameraInput(0, detection_at(scene, name, cls=2, score=0.8), 120.0))
        for name in ("front", "front_left")
    }
    fused, matched, _ = fuser.fuse(scene, 0, inputs, STILL)
    assert len(fused) == 1 and CLASSES[fused["class_id"][0]] == "pedestrian"
    assert matched == {"front": 1, "front_left": 1} and fused["class_score"][0] > 0.5


def test_ego_motion_between_camera_and_lidar_stamps_is_compensated() -> None:
    scene = objects((20, 0, 4.5, 1.8, 1.5))
    moving = EgoMotion(20.0, 0.0)
    later = detection_at(scene, "front", cls=0, dt=0.08, ego=moving)  # image 80 ms after the scan at 20 m/s
    fuser = Fuser(fusion_config(), MODEL_CLASSES)
    fused, _, _ = fuser.fuse(scene, 0, {"front": (calib(), CameraInput(80 * MS, later, 120.0))}, moving)
    assert CLASSES[fused["class_id"][0]] == "car"
    boxes_now, _ = project_objects(box_corners(scene, 0.0, moving), calib())
    assert boxes_now[0, 2] - boxes_now[0, 0] < later["x2"][0] - later["x1"][0]  # 1.6 m closer: visibly bigger


def test_ground_points_recover_where_a_box_stands() -> None:
    k, transform = calib().k, calib().optical_from_base
    foot = np.array([[15.0, 1.0, 0.0]])
    u, v = project(foot @ transform[:3, :3].T + transform[:3, 3], k)[0]
    row = np.array([(u - 10, v - 40, u + 10, v, 0.9, 2)], DETECTION_DTYPE)
    assert ground_points(row, calib())[0] == pytest.approx([15.0, 1.0], abs=1e-6)


def test_disagreements_both_ways_rate_limited_and_daylight_only() -> None:
    fuser = Fuser(fusion_config(), MODEL_CLASSES)
    ghost = detection_at(objects((15, 0, 0.5, 0.6, 1.8)), "front", cls=2)  # camera sees someone LiDAR does not
    _, _, events = fuser.fuse(objects(), 0, {"front": (calib(), CameraInput(0, ghost, 120.0))}, STILL)
    assert [e.name for e in events] == ["fusion/camera_only_disagreement"]
    _, _, again = fuser.fuse(objects(), 50 * MS, {"front": (calib(), CameraInput(50 * MS, ghost, 120.0))}, STILL)
    assert again == []  # rate-limited
    wall = objects((25, 0, 1.0, 3.0, 2.0))
    none = np.zeros(0, DETECTION_DTYPE)
    _, _, events = fuser.fuse(wall, 0, {"front": (calib(), CameraInput(0, none, 120.0))}, STILL)
    assert [e.name for e in events] == ["fusion/lidar_only_disagreement"]
    fuser = Fuser(fusion_config(), MODEL_CLASSES)
    _, _, night = fuser.fuse(wall, 0, {"front": (calib(), CameraInput(0, none, 10.0))}, STILL)
    assert night == []  # a camera in the dark explains nothing
