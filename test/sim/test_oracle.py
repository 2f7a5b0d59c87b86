"""The avoidability oracle against hand-computed cases (no AEB code involved)."""

from __future__ import annotations

import math

import pytest

from av_edge.sim.actors import Actor
from av_edge.sim.oracle import OracleConfig, judge
from av_edge.sim.road import Road

CFG = OracleConfig(
    scan_period_s=0.1,
    latency_s=0.1,
    actuator_delay_s=0.05,
    brake_jerk_mps3=40.0,
    max_decel_mps2=9.0,
    front_m=3.8,
    rear_m=1.0,
    width_m=1.9,
)
V = 20.0


def _stopping_distance(v: float) -> float:
    """By hand: 0.15 s at speed, a 0.225 s ramp to 9 m/s^2 at 40 m/s^3, then 9 m/s^2 to a stop."""
    ramp = 9.0 / 40.0
    after_ramp = v - 0.5 * 40.0 * ramp**2
    return v * 0.15 + (v * ramp - 40.0 * ramp**3 / 6) + after_ramp**2 / (2 * 9.0)


def _stopped_car(gap: float) -> Actor:
    return Actor(kind="car", s=CFG.front_m + gap + 4.5 / 2, d=0.0)


def test_hand_computed_stopping_distance() -> None:
    assert _stopping_distance(V) == pytest.approx(27.44, abs=0.02)


def test_a_car_beyond_the_stopping_distance_is_avoidable_and_braked_for_at_the_last_scan() -> None:
    result = judge([_stopped_car(40.0)], Road(), V, 0.0, 6.0, [0.0], CFG)
    assert result.avoidable and not result.contact
    assert result.unbraked_impact_kmh == pytest.approx(V * 3.6)
    gap_at_onset = 40.0 - V * result.brake_onset_s
    # Waiting one more scan (2 m at 20 m/s) would no longer stop in time; braking now still does.
    assert _stopping_distance(V) <= gap_at_onset < _stopping_distance(V) + V * 0.1 + 0.1


def test_a_car_inside_the_stopping_distance_is_unavoidable_with_the_hand_computed_impact() -> None:
    gap = 26.0
    result = judge([_stopped_car(gap)], Road(), V, 0.0, 6.0, [0.0], CFG)
    assert not result.avoidable and result.contact
    assert result.brake_onset_s == 0.0
    # The last 1.44 m of the full-braking phase are missing: v^2 = 2 a d.
    expected = math.sqrt(2 * 9.0 * (_stopping_distance(V) - gap)) * 3.6
    assert result.impact_kmh == pytest.approx(expected, abs=1.5)


def test_an_actor_never_seen_cannot_be_braked_for() -> None:
    result = judge([_stopped_car(40.0)], Road(), V, 0.0, 6.0, [math.inf], CFG)
    assert not result.avoidable and math.isinf(result.brake_onset_s)


def test_a_walker_who_clears_the_path_in_time_needs_no_braking() -> None:
    # Crosses from the right at 2 m/s and is 6 m left of the path when the ego's front reaches it.
    arrival = 40.0 / V
    walker = Actor(kind="pedestrian", s=CFG.front_m + 40.0, d=-4.0, cross_speed_mps=2.0, cross_start_s=arrival - 5.0)
    result = judge([walker], Road(), V, 0.0, 5.0, [0.0], CFG)
    assert result.avoidable and not result.contact and result.unbraked_impact_kmh == 0.0


def test_a_car_in_the_next_lane_is_no_threat() -> None:
    beside = Actor(kind="car", s=40.0, d=3.5)
    result = judge([beside], Road(radius_m=200.0), V, 0.0, 5.0, [0.0], CFG)
    assert result.avoidable and math.isinf(result.brake_onset_s) and result.unbraked_impact_kmh == 0.0


def test_a_lead_braking_hard_close_ahead_is_judged_on_its_known_deceleration() -> None:
    # Same speed, 12 m apart, lead brakes at 6 m/s^2 from t = 1 s: the ideal brakes once it must.
    lead = Actor(kind="car", s=CFG.front_m + 12.0 + 2.25, d=0.0, speed_mps=V, decel_mps2=6.0, decel_start_s=1.0)
    result = judge([lead], Road(), V, 0.0, 8.0, [0.0], CFG)
    assert result.avoidable and not result.contact
    assert 1.0 <= result.brake_onset_s <= 2.2  # last-moment braking, after the lead began
