"""The AEB's predicted path along a known lane: geometry, when the lane is used, and what it changes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from av_edge.core.aeb import AebCore, AebState
from av_edge.core.aeb.path import Arc, Polyline, lane_path
from av_edge.core.ego import EgoPose
from av_edge.core.errors import InvalidOdometryError
from test.core.test_aeb import CONFIG, MS, V, scan, wall

LANE = CONFIG.lane
R = 150.0


def bend(straight_m: float, radius: float = R, length_m: float = 300.0) -> np.ndarray:
    """Odom centre line along +x from x=-20, turning left with ``radius`` after ``straight_m``."""
    s = np.arange(-20.0, length_m, 2.0)
    arc = np.clip(s - straight_m, 0.0, None)
    x = np.where(s < straight_m, s, straight_m + radius * np.sin(arc / radius))
    y = np.where(s < straight_m, 0.0, radius * (1 - np.cos(arc / radius)))
    return np.column_stack([x, y])


def test_a_polyline_along_an_arc_has_the_arc_s_coordinates() -> None:
    lane = lane_path(bend(0.0), (0.0, 0.0, 0.0), 1 / R, 100.0, LANE)
    assert isinstance(lane, Polyline)
    angle = np.linspace(0.05, 0.6, 12)
    points = np.column_stack([(R + 1.0) * np.sin(angle), R - (R + 1.0) * np.cos(angle)])  # 1 m right of the arc
    s_lane, d_lane = lane.coordinates(points)
    s_arc, d_arc = Arc(1 / R).coordinates(points)
    np.testing.assert_allclose(s_lane, s_arc, atol=0.05)
    np.testing.assert_allclose(d_lane, d_arc, atol=0.05)
    np.testing.assert_allclose(lane.heading(np.array([0.0, 30.0])), [0.0, 30.0 / R], atol=0.03)


def test_coordinates_are_relative_to_the_ego_s_own_place_in_the_lane() -> None:
    lane = lane_path(bend(200.0), (10.0, 0.5, 0.0), 0.0, 100.0, LANE)  # 0.5 m left of the centre
    assert lane is not None
    s, d = lane.coordinates(np.array([[20.0, 0.0], [0.0, 0.0], [-5.0, 0.0]]))
    np.testing.assert_allclose(s, [20.0, 0.0, -5.0], atol=1e-9)
    np.testing.assert_allclose(d, [0.0, 0.0, 0.0], atol=1e-9)


@pytest.mark.parametrize(
    ("pose", "curvature", "why"),
    [
        ((10.0, 1.5, 0.0), 0.0, "1.5 m off the centre line: not following it"),
        ((10.0, 0.0, math.radians(10)), 0.0, "heading 10 deg off the lane"),
        ((10.0, 0.0, 0.0), 1 / 100.0, "turning where the lane runs straight"),
        ((230.0, 0.0, 0.0), 0.0, "driving straight on where the lane bends"),
    ],
)
def test_the_lane_is_not_the_path_when_the_ego_does_not_follow_it(
    pose: tuple[float, float, float], curvature: float, why: str
) -> None:
    assert lane_path(bend(200.0), pose, curvature, 100.0, LANE) is None, why


def car_where_the_road_bends_away(core: AebCore, with_lane: bool) -> list[AebState]:
    """Ego on the straight at 20 m/s; a car stands 45 m ahead on the straight's extension, 25 m past the bend."""
    if with_lane:
        core.on_lane(bend(20.0))
    states = []
    for i in range(4):
        now, x = i * 100 * MS, 20.0 * i * 0.1
        core.on_odometry(20.0, 0.0, now, EgoPose(x, 0.0, 0.0, 20.0, 0.0, now))
        gap = 45.0 - x - V.front_overhang_m
        states.append(core.on_cloud(scan(wall(gap)), now, now + 5 * MS).state)
    return states


def test_a_car_parked_where_the_lane_bends_away_is_no_threat_to_an_ego_following_the_lane() -> None:
    assert AebState.FULL in car_where_the_road_bends_away(AebCore(CONFIG), with_lane=False)  # the yaw-rate arc hits it
    assert set(car_where_the_road_bends_away(AebCore(CONFIG), with_lane=True)) == {AebState.CRUISE}


def test_a_car_in_the_lane_past_the_bend_is_still_a_threat() -> None:
    core = AebCore(CONFIG)
    lane = bend(5.0)
    core.on_lane(lane)
    target = lane[np.argmin(np.abs(np.hypot(lane[:, 0], lane[:, 1]) - 30.0))]  # a stopped car 30 m ahead, in the bend
    assert target[1] > 0.5  # off the straight-line extension: the arc would miss it
    states = []
    for i in range(3):  # three scans measure its speed; the ego is still on the straight
        now, x = i * 100 * MS, 20.0 * i * 0.1
        core.on_odometry(20.0, 0.0, now, EgoPose(x, 0.0, 0.0, 20.0, 0.0, now))
        body = np.column_stack([np.repeat(target[None] - (x, 0.0), 200, axis=0), np.linspace(0.3, 1.4, 200)])
        states.append(core.on_cloud(scan(body), now, now + 5 * MS).state)
    assert states[-1] is AebState.FULL
    assert AebCore(CONFIG).path(0) == 0.0  # without a lane (or a pose): the arc


def test_a_bad_lane_or_pose_is_refused_and_braking_goes_on_on_the_arc() -> None:
    core = AebCore(CONFIG)
    with pytest.raises(ValueError, match="lane centre line"):
        core.on_lane(np.array([[0.0, np.nan], [1.0, 0.0]]))
    core.on_lane(bend(20.0))
    with pytest.raises(InvalidOdometryError):
        core.on_odometry(20.0, 0.0, 0, EgoPose(math.nan, 0.0, 0.0, 20.0, 0.0, 0))
    assert core.path(0) == 0.0  # the speed is taken, the lane unused without a pose
    assert core.watchdog.odometry_error is None


@pytest.mark.parametrize("curvature", [0.0, 1 / R])
def test_at_the_bend_itself_the_ego_follows_the_lane_whether_it_has_started_turning_or_not(curvature: float) -> None:
    # Straight until 200 m, then the arc: turning from 2 m before the bend, or not yet 4 m after it.
    for x in np.arange(198.0, 210.0, 0.5) if curvature else np.arange(190.0, 204.0, 0.5):
        assert lane_path(bend(200.0), (x, 0.0, 0.0), curvature, 100.0, LANE) is not None, x
