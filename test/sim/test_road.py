"""The piecewise road: closed-form poses, continuous where the pieces meet."""

from __future__ import annotations

import math

import pytest

from av_edge.sim.road import Road


def test_one_arc_from_the_start_is_the_circle() -> None:
    road, radius = Road(radius_m=150.0), 150.0
    for s, d in ((0.0, 0.0), (30.0, 0.0), (60.0, -3.5), (200.0, 2.0)):
        heading = s / radius
        x, y, yaw = road.pose(s, d)
        assert x == pytest.approx((radius - d) * math.sin(heading))
        assert y == pytest.approx(radius - (radius - d) * math.cos(heading))
        assert yaw == pytest.approx(heading)


def test_straight_arc_straight_and_s_curve_are_continuous() -> None:
    road = Road(radius_m=100.0, curve_start_m=40.0, curve_end_m=80.0, reverse_radius_m=-100.0, reverse_end_m=120.0)
    assert road.pose(40.0) == pytest.approx((40.0, 0.0, 0.0))  # straight until the curve
    for joint in (40.0, 80.0, 120.0):
        before, after = road.pose(joint - 1e-6, 1.0), road.pose(joint + 1e-6, 1.0)
        assert after == pytest.approx(before, abs=1e-5)
    assert road.pose(80.0)[2] == pytest.approx(0.4)  # 40 m of 1/100
    assert road.pose(200.0)[2] == pytest.approx(0.0)  # the reverse arc turned it back, straight after
    assert [road.curvature_at(s) for s in (10.0, 50.0, 90.0, 130.0)] == [0.0, 0.01, -0.01, 0.0]
