"""The object list and the brake request as standard-message values (no ROS packages needed)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from av_edge.core.objects import CLASSES, OBJECT_DTYPE
from av_edge.core.standard_objects import (
    AUTOWARE_LABELS,
    LIDAR_CLASS_PROBABILITY,
    TrackUuids,
    longitudinal_request,
    predicted_path,
    standard_objects,
    trajectory_values,
)

S = 1_000_000_000


def counter_uuids(forget_s: float = 2.0) -> TrackUuids:
    numbers = itertools.count(1)
    return TrackUuids(forget_s, new=lambda: next(numbers).to_bytes(16, "big"))


def one(**fields: float) -> np.ndarray:
    row = np.zeros(1, OBJECT_DTYPE)
    for k, v in {"length": 4.5, "width": 1.8, "height": 1.5, "score": 0.9, **fields}.items():
        row[k] = v
    return row


def test_every_field_is_4_byte_aligned_so_any_pointcloud2_reader_takes_it() -> None:
    names = OBJECT_DTYPE.names or ()
    offsets = [OBJECT_DTYPE.fields[n][1] for n in names] if OBJECT_DTYPE.fields else []
    assert all(o % 4 == 0 for o in offsets) and all(OBJECT_DTYPE[n].itemsize == 4 for n in names)
    assert OBJECT_DTYPE.itemsize == 4 * len(names)


def test_classes_map_to_autoware_labels_not_to_av_edge_ids() -> None:
    # autoware_perception_msgs/ObjectClassification: 3 is BUS there; av_edge's 3 is a pedestrian
    assert AUTOWARE_LABELS == {"unknown": 0, "car": 1, "truck": 2, "cyclist": 6, "pedestrian": 7}
    for class_id, name in enumerate(CLASSES):
        (o,) = standard_objects(one(class_id=class_id, track_id=1), counter_uuids(), 0)
        assert (o.label, o.autoware_label) == (name, AUTOWARE_LABELS[name])


def test_twist_is_in_the_object_frame_and_a_lidar_only_class_is_half_believed() -> None:
    # a car heading 90 deg left, moving left at 5 m/s and braking at 2 m/s^2
    (o,) = standard_objects(one(yaw=math.pi / 2, vy=5.0, ay=-2.0, track_id=3), counter_uuids(), 0)
    assert o.velocity == pytest.approx((5.0, 0.0), abs=1e-6) and o.acceleration == pytest.approx((-2.0, 0.0), abs=1e-6)
    assert o.orientation == pytest.approx((0, 0, math.sin(math.pi / 4), math.cos(math.pi / 4)))
    assert o.class_probability == LIDAR_CLASS_PROBABILITY and o.existence_probability == pytest.approx(0.9)
    (seen,) = standard_objects(one(class_id=3, class_score=0.8), counter_uuids(), 0)
    assert seen.class_probability == pytest.approx(0.8) and not seen.tracked


def test_the_velocity_uncertainty_fills_the_twist_covariance_and_nothing_else() -> None:
    (o,) = standard_objects(one(vx=5.0, v_sigma=0.5, track_id=3), counter_uuids(), 0)
    cov = np.array(o.twist_covariance()).reshape(6, 6)
    assert cov[0, 0] == cov[1, 1] == pytest.approx(0.25)
    assert np.count_nonzero(cov) == 2  # z and the rates are not estimated
    (unknown,) = standard_objects(one(vx=5.0, track_id=3), counter_uuids(), 0)
    assert unknown.velocity_sigma == 0.0 and not any(unknown.twist_covariance())


def test_a_track_keeps_its_uuid_and_a_returning_id_gets_a_new_one() -> None:
    uuids = counter_uuids(forget_s=2.0)
    first = [standard_objects(one(track_id=7), uuids, t * S // 10)[0].uuid for t in range(20)]
    assert len(set(first)) == 1
    again = standard_objects(one(track_id=7), uuids, 5 * S)[0].uuid  # 3 s unseen: perception restarted
    assert again != first[0]
    untracked = {standard_objects(one(), uuids, 5 * S)[0].uuid for _ in range(3)}
    assert len(untracked) == 3


def test_a_braking_lead_is_predicted_to_stop_not_to_reverse() -> None:
    (o,) = standard_objects(one(x=20.0, vx=10.0, ax=-5.0, track_id=1), counter_uuids(), 0)
    path = predicted_path(o, horizon_s=3.0, step_s=0.5)
    assert path.shape == (7, 3)
    assert path[:, 0] == pytest.approx([20, 24.375, 27.5, 29.375, 30, 30, 30])  # stops 10 m on, after 2 s
    assert path[:, 1] == pytest.approx(0.0) and path[:, 2] == pytest.approx(0.0)
    (crossing,) = standard_objects(one(y=-3.0, vy=1.4, yaw=0.0, track_id=2), counter_uuids(), 0)
    np.testing.assert_allclose(
        predicted_path(crossing, 2.0, 1.0)[:, :2], np.array([[0, -3], [0, -1.6], [0, -0.2]]), atol=1e-6
    )
    assert predicted_path(crossing, 2.0, 1.0)[0, 2] == pytest.approx(math.pi / 2)  # heading of its motion


def test_a_brake_request_becomes_a_longitudinal_command_and_no_request_none() -> None:
    request = longitudinal_request(-8.0, 123)
    assert request is not None and (request.velocity, request.acceleration, request.stamp_ns) == (0.0, -8.0, 123)
    assert longitudinal_request(0.0, 123) is None and longitudinal_request(float("nan"), 1) is None


def test_a_speed_profile_becomes_trajectory_points_heading_along_the_path() -> None:
    t = np.arange(5) * 0.5
    arc = np.radians(np.arange(5) * 10.0)  # a 10 m radius left turn, 10 degrees per pose
    profile = np.column_stack([t, 10 * np.sin(arc), 10 * (1 - np.cos(arc)), np.full(5, 5.0), np.full(5, -1.0)])
    values = trajectory_values(profile)
    np.testing.assert_allclose(values.yaw[:4], np.radians([5, 15, 25, 35]), atol=1e-9)  # chord headings
    assert values.yaw[4] == values.yaw[3] and values.heading_rate_rps[0] == pytest.approx(np.radians(10) / 0.5)
    assert values.speed_mps.tolist() == [5.0] * 5 and values.accel_mps2.tolist() == [-1.0] * 5
    with pytest.raises(ValueError, match="increase"):
        trajectory_values(profile[::-1])
    with pytest.raises(ValueError, match="rows"):
        trajectory_values(profile[:, :4])
