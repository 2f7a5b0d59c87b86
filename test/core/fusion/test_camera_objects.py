"""Camera-only objects: ranged where the box meets the road, checked against class height priors,
tracked over ground with the ego's motion taken out; the fuser lists them only where no LiDAR
object explains the detection."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from av_edge.core.fusion.camera_objects import CameraTracker, Ranged, merge, ranged_detections
from av_edge.core.fusion.fuser import CameraInput, Fuser
from av_edge.core.objects import CLASSES, CONFIRMED_SCORE, SOURCE_CAMERA, SOURCE_LIDAR, TENTATIVE_SCORE
from test.core.fusion.test_fusion import MODEL_CLASSES, STILL, calib, detection_at, fusion_config, objects

CONFIG = fusion_config().camera_objects
CAR, PEDESTRIAN = MODEL_CLASSES.index("car"), MODEL_CLASSES.index("pedestrian")


def test_a_detection_is_ranged_where_its_box_meets_the_road() -> None:
    car = objects((22.25, 0.5, 4.5, 1.8, 1.5))  # near face 20 m ahead
    (found,) = ranged_detections(detection_at(car, "front", CAR), calib(), MODEL_CLASSES, CONFIG)
    assert found.x == pytest.approx(20.0, abs=0.3) and found.y == pytest.approx(0.5, abs=0.1)
    assert found.height_m == pytest.approx(1.5, abs=0.15) and found.width_m == pytest.approx(1.8, abs=0.3)
    assert found.class_name == "car" and found.range_sigma_m > 0.5  # 1.5 px at 20 m


def test_a_box_whose_height_fits_no_such_object_is_not_ranged() -> None:
    tower = objects((20.25, 0.0, 0.5, 0.5, 4.0))  # a "pedestrian" 4 m tall: its bottom is not on the road
    assert ranged_detections(detection_at(tower, "front", PEDESTRIAN), calib(), MODEL_CLASSES, CONFIG) == []
    timid = detection_at(objects((20.25, 0.0, 0.5, 0.5, 1.7)), "front", PEDESTRIAN, score=CONFIG.min_score - 0.05)
    assert ranged_detections(timid, calib(), MODEL_CLASSES, CONFIG) == []


def test_two_cameras_seeing_one_object_make_one_whatever_they_call_it() -> None:
    a = Ranged(10.0, 3.0, 1.7, 0.6, "cyclist", 0.5, 0.3, 0.03, "front", off_centre=0.9)
    b = dataclasses.replace(a, x=10.5, score=0.9, class_name="car", camera="front_left", off_centre=0.2)
    far = dataclasses.replace(a, y=-3.0)
    assert merge([a, b, far], 2.0) == [b, far]  # the view nearest its image's centre


def test_a_jump_where_another_camera_takes_over_is_no_motion() -> None:
    tracker = CameraTracker(CONFIG)
    for k in range(5):  # a parked car 3 m to the side, the ego at 10 m/s; the front camera ranges it
        r = Ranged(30.0 - k, 3.0, 1.5, 1.8, "car", 0.9, 0.5, 0.05, "front")
        tracker.update([r], k * 10**8, 10.0, 0.0)
    handed = Ranged(25.0, 2.2, 1.5, 1.8, "car", 0.9, 0.5, 0.05, "front_left")  # its bias: 0.8 m inwards
    (row,) = tracker.update([handed], 5 * 10**8, 10.0, 0.0)
    assert row["y"] == pytest.approx(2.2) and abs(row["vy"]) < 0.5 and abs(row["vx"]) < 0.5


def observe(tracker: CameraTracker, frames: int, ego_speed: float, at) -> list[np.ndarray]:
    """``frames`` lists at 10 Hz; ``at(t)`` gives the object's base_link (x, y) at time t."""
    out = []
    for k in range(frames):
        t = k * 0.1
        x, y = at(t)
        out.append(tracker.update([Ranged(x, y, 1.5, 1.8, "car", 0.9, 0.5, 0.05)], int(t * 1e9), ego_speed, 0.0))
    return out


def test_a_stopped_car_approached_at_10_mps_stands_still_over_ground() -> None:
    lists = observe(CameraTracker(CONFIG), 6, 10.0, lambda t: (30.0 - 10.0 * t, 0.0))
    assert [float(o["score"][0]) for o in lists[:2]] == pytest.approx([TENTATIVE_SCORE] * 2)
    last = lists[-1][0]
    assert last["score"] == pytest.approx(CONFIRMED_SCORE) and last["source"] == SOURCE_CAMERA
    assert last["vx"] == pytest.approx(0.0, abs=0.05) and last["vy"] == pytest.approx(0.0, abs=0.05)
    assert 0.0 < last["v_sigma"] < 3.0 and last["class_id"] == CLASSES.index("car")
    assert {int(o["track_id"][0]) for o in lists} == {CameraTracker.ID_BASE}


def test_a_car_crossing_ahead_gets_its_lateral_speed() -> None:
    lists = observe(CameraTracker(CONFIG), 6, 10.0, lambda t: (25.0 - 10.0 * t, 4.0 - 5.0 * t))
    assert lists[-1]["vy"][0] == pytest.approx(-5.0, abs=0.05) and lists[-1]["vx"][0] == pytest.approx(0, abs=0.05)


def test_a_track_unseen_for_max_age_is_gone() -> None:
    tracker = CameraTracker(CONFIG)
    observe(tracker, 3, 0.0, lambda t: (20.0, 0.0))
    late = int((0.2 + CONFIG.max_age_s + 0.1) * 1e9)
    fresh = tracker.update([Ranged(20.0, 0.0, 1.5, 1.8, "car", 0.9, 0.5, 0.05)], late, 0.0, 0.0)
    assert int(fresh["track_id"][0]) == CameraTracker.ID_BASE + 1 and fresh["score"][0] == pytest.approx(0.5)


def test_the_fuser_lists_a_detection_no_lidar_object_explains_as_camera_only() -> None:
    fuser = Fuser(fusion_config(), MODEL_CLASSES)
    seen = objects((22.25, 0.0, 4.5, 1.8, 1.5))
    hidden = objects((15.25, -3.0, 4.5, 1.8, 1.5))  # a car the LiDAR does not report (a blocked sector)
    detections = np.concatenate([detection_at(seen, "front", CAR), detection_at(hidden, "front", CAR)])
    frame = CameraInput(0, detections, 120.0, (640, 480))
    fused, _, _ = fuser.fuse(seen, 0, {"front": (calib(), frame)}, STILL)
    assert fused["source"].tolist() == [SOURCE_LIDAR, SOURCE_CAMERA]
    # the box's bottom centre lies between the car's near face and its side: 0.3 m inwards here
    assert fused["x"][1] == pytest.approx(15.25, abs=0.4) and fused["y"][1] == pytest.approx(-3.0, abs=0.4)
    assert fused["class_id"][1] == CLASSES.index("car")
