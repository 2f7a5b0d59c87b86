import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from av_edge.core.aeb import (
    AebConfig,
    AebCore,
    AebState,
    nearest_obstacle,
    next_state,
    stopping_distance,
    time_to_collision,
)
from av_edge.core.config import build_config, load_params_file
from av_edge.core.diagnostics import Level
from av_edge.core.perception.objects import OBJECT_DTYPE

CONFIG = build_config(
    AebConfig, load_params_file(Path(__file__).resolve().parents[2] / "config/aeb.params.yaml", "aeb_node")
)
V, C, B = CONFIG.vehicle, CONFIG.corridor, CONFIG.brake
LIDAR_X, LIDAR_Z = CONFIG.lidar_extrinsic.x, CONFIG.lidar_extrinsic.z


def wall(gap_m, lateral_m=0.0, width=1.6, height=1.4, n=200):
    """base_link points of a vertical wall ``gap_m`` ahead of the bumper."""
    rng = np.random.default_rng(0)
    y = rng.uniform(lateral_m - width / 2, lateral_m + width / 2, n)
    z = rng.uniform(0.2, height, n)
    return np.column_stack([np.full(n, V.front_overhang_m + gap_m), y, z])


def to_lidar(points):
    return (points - [LIDAR_X, 0.0, LIDAR_Z]).astype(np.float32)


def test_nearest_obstacle_gap_and_support():
    obstacle = nearest_obstacle(wall(12.0), V, C)
    assert obstacle is not None
    assert obstacle.gap_m == pytest.approx(12.0)
    assert obstacle.n_points > 100


@pytest.mark.parametrize(
    ("points", "why"),
    [
        (wall(10.0, lateral_m=3.5), "adjacent lane"),
        (wall(10.0, height=0.25), "low debris, below min height"),
        (wall(150.0), "beyond range"),
        (wall(-2.0), "behind the bumper"),
        (wall(10.0, n=C.min_points - 1), "too few returns (spray)"),
    ],
)
def test_no_obstacle_outside_the_corridor(points, why):
    assert nearest_obstacle(points, V, C) is None, why


def test_a_few_stray_returns_do_not_set_the_gap():
    points = np.vstack([wall(20.0), wall(3.0, n=C.min_points - 1)])
    obstacle = nearest_obstacle(points, V, C)
    assert obstacle is not None and obstacle.gap_m == pytest.approx(20.0)


def test_stopping_distance_and_ttc():
    assert stopping_distance(0.0, B) == pytest.approx(B.stop_margin_m)
    v = 13.89
    expected = v * B.response_time_s + v**2 / (2 * B.planning_decel_mps2) + B.stop_margin_m
    assert stopping_distance(v, B) == pytest.approx(expected)
    assert time_to_collision(20.0, 10.0) == 2.0
    assert time_to_collision(20.0, 0.0) == math.inf


# Every state x every event of the state machine.
EVENTS: dict[str, dict[str, Any]] = {
    "threat": dict(threat=True, clear_frames=0, speed_mps=10.0),
    "no_threat_not_clear": dict(threat=False, clear_frames=0, speed_mps=10.0),
    "clear_released": dict(threat=False, clear_frames=B.release_clear_frames, speed_mps=10.0),
    "stopped_not_clear": dict(threat=True, clear_frames=0, speed_mps=0.0),
    "stopped_and_clear": dict(threat=False, clear_frames=B.release_clear_frames, speed_mps=0.0),
}
EXPECTED = {
    (AebState.CRUISE, "threat"): AebState.BRAKING,
    (AebState.CRUISE, "no_threat_not_clear"): AebState.CRUISE,
    (AebState.CRUISE, "clear_released"): AebState.CRUISE,
    (AebState.CRUISE, "stopped_not_clear"): AebState.BRAKING,
    (AebState.CRUISE, "stopped_and_clear"): AebState.CRUISE,
    (AebState.BRAKING, "threat"): AebState.BRAKING,
    (AebState.BRAKING, "no_threat_not_clear"): AebState.BRAKING,
    (AebState.BRAKING, "clear_released"): AebState.CRUISE,
    (AebState.BRAKING, "stopped_not_clear"): AebState.HOLD,
    (AebState.BRAKING, "stopped_and_clear"): AebState.CRUISE,
    (AebState.HOLD, "threat"): AebState.HOLD,
    (AebState.HOLD, "no_threat_not_clear"): AebState.HOLD,
    (AebState.HOLD, "clear_released"): AebState.CRUISE,
    (AebState.HOLD, "stopped_not_clear"): AebState.HOLD,
    (AebState.HOLD, "stopped_and_clear"): AebState.CRUISE,
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(AebState, EVENTS)))
def test_state_machine_every_state_and_event(state, event):
    assert next_state(state, brake=B, **EVENTS[event]) is EXPECTED[(state, event)]


def run_core(core, gaps, speed, start_ns=0):
    decisions = []
    for i, gap in enumerate(gaps):
        now = start_ns + i * 100_000_000
        core.on_odometry(speed, now)
        points = wall(gap) if gap is not None else wall(10.0, lateral_m=5.0)
        decisions.append(core.on_cloud(to_lidar(points), now, now + 5_000_000))
    return decisions


def test_brakes_once_the_gap_reaches_the_stopping_distance_and_holds():
    core = AebCore(CONFIG)
    v = 13.89
    needed = stopping_distance(v, B)
    decisions = run_core(core, [needed + 5, needed + 1, needed - 0.5, needed - 1.5], v)
    assert [d.accel_mps2 for d in decisions] == [0.0, 0.0, -B.decel_mps2, -B.decel_mps2]
    assert decisions[2].state is AebState.BRAKING
    assert decisions[2].ttc_s == pytest.approx((needed - 0.5) / v, rel=1e-3)
    held = run_core(core, [2.0] * 3, 0.0, start_ns=10**9)
    assert all(d.state is AebState.HOLD and d.accel_mps2 < 0 for d in held)


def test_releases_after_the_corridor_stays_empty():
    core = AebCore(CONFIG)
    run_core(core, [5.0], 13.89)
    assert core.state is AebState.BRAKING
    decisions = run_core(core, [None] * B.release_clear_frames, 13.0, start_ns=10**9)
    assert [d.state for d in decisions][-1] is AebState.CRUISE
    assert all(d.state is AebState.BRAKING for d in decisions[:-1])


def test_diagnostics_error_while_braking_and_counts_rejections():
    core = AebCore(CONFIG)
    status = core.diagnostics(now_ns=0)
    assert status.level is Level.ERROR and "no point cloud" in status.message
    run_core(core, [50.0, 50.0], 13.89)
    core.health.on_output(100_000_000, 112_000_000)
    assert core.diagnostics(now_ns=150_000_000).message == "no objects"  # perception absent: degraded
    core.on_objects(np.zeros(0, OBJECT_DTYPE), 100_000_000, 110_000_000)
    assert core.diagnostics(now_ns=150_000_000).level is Level.OK
    assert core.health.on_rejected("missing_field", now_ns=0)
    assert not core.health.on_rejected("missing_field", now_ns=500_000_000)  # logged once a second per reason
    assert core.health.on_rejected("wrong_frame", now_ns=500_000_000)
    status = core.diagnostics(now_ns=150_000_000)
    assert status.level is Level.WARN and status.values["rejected.missing_field"] == "2"
    run_core(core, [3.0], 13.89, start_ns=200_000_000)
    status = core.diagnostics(now_ns=250_000_000)
    assert status.level is Level.ERROR and "emergency braking" in status.message
    assert status.values["latency_p50_ms"] == "12.00"


def lead_object(gap_m, vx, score=0.9, y=0.0):
    obj = np.zeros(1, OBJECT_DTYPE)
    obj["x"], obj["y"], obj["length"], obj["width"], obj["height"] = V.front_overhang_m + gap_m + 2.25, y, 4.5, 1.8, 1.5
    obj["vx"], obj["score"], obj["track_id"] = vx, score, 7
    return obj


def decide(core, gap, speed, objects=None, objects_age_ns=20_000_000):
    now = 10**9
    core.on_odometry(speed, now)
    if objects is not None:
        core.on_objects(objects, now - objects_age_ns, now - objects_age_ns)
    return core.on_cloud(to_lidar(wall(gap)), now, now + 5_000_000)


def test_a_tracked_moving_lead_needs_only_the_closing_speed_margin():
    speed, lead = 20.0, 15.0
    gap = stopping_distance(speed - lead, B) + 5.0  # far inside the static-obstacle stopping distance
    assert decide(AebCore(CONFIG), gap, speed).state is AebState.BRAKING  # no objects: assumed stationary
    moving = decide(AebCore(CONFIG), gap, speed, lead_object(gap, lead))
    assert moving.state is AebState.CRUISE
    assert moving.lead_speed_mps == pytest.approx(lead)
    assert moving.ttc_s == pytest.approx(gap / (speed - lead), rel=1e-3)


@pytest.mark.parametrize(
    ("objects", "age_ns", "why"),
    [
        (lead_object(20.0, 15.0, score=0.5), 20_000_000, "unconfirmed track"),
        (lead_object(20.0, 15.0), 500_000_000, "stale object list"),
        (lead_object(20.0, 15.0, y=4.0), 20_000_000, "object in the next lane"),
        (lead_object(35.0, 15.0), 20_000_000, "object far from the in-path obstacle"),
    ],
)
def test_objects_that_do_not_explain_the_obstacle_are_ignored(objects, age_ns, why):
    decision = decide(AebCore(CONFIG), 20.0, 20.0, objects, age_ns)
    assert decision.lead_speed_mps == 0.0, why
    assert decision.state is AebState.BRAKING, why


def test_object_positions_are_predicted_to_the_scan_stamp():
    # An object list 100 ms old, the lead 3 m further then (closing at 30 m/s): still the same car.
    decision = decide(AebCore(CONFIG), 20.0, 40.0, lead_object(23.0, 10.0), objects_age_ns=100_000_000)
    assert decision.lead_speed_mps == pytest.approx(10.0)
