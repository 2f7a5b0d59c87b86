"""AEB core: predicted-path corridor, threats, staged response (every state x event), watchdog."""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from av_edge.core.aeb import (
    AebConfig,
    AebCore,
    AebState,
    BrakeConfig,
    Decision,
    Threat,
    beyond_threats,
    crossing_threats,
    nearest_obstacle,
    next_state,
    requested_decel,
    required_decel,
    threat_level,
    time_to_collision,
)
from av_edge.core.config import build_config
from av_edge.core.diagnostics import Level
from av_edge.core.errors import InvalidOdometryError
from av_edge.core.objects import CLASSES, OBJECT_DTYPE
from av_edge.core.vehicle import load_node_params

CONFIG = build_config(
    AebConfig, load_node_params(Path(__file__).resolve().parents[2] / "config/aeb.params.yaml", "aeb_node")
)
V, C, B = CONFIG.vehicle, CONFIG.corridor, CONFIG.brake
MOUNT = np.array([CONFIG.lidar_extrinsic.x, 0.0, CONFIG.lidar_extrinsic.z])
MS = 1_000_000


def wall(gap_m: float, lateral_m: float = 0.0, width: float = 1.6, height: float = 1.4, n: int = 200) -> np.ndarray:
    """base_link points of a vertical wall ``gap_m`` ahead of the bumper."""
    rng = np.random.default_rng(0)
    y = rng.uniform(lateral_m - width / 2, lateral_m + width / 2, n)
    z = rng.uniform(0.0, height, n)
    return np.column_stack([np.full(n, V.front_overhang_m + gap_m), y, z])


def _ground() -> np.ndarray:
    """A healthy LiDAR's road returns (lidar frame): every ray aimed below the watchdog's ground
    elevation, as its config describes the sensor (columns a degree x beams), meets the flat road."""
    w = CONFIG.watchdog
    beams = round(w.ground_rays_per_deg / 5.0)  # 5 columns a degree
    elevation = np.radians(np.linspace(-24.8, w.ground_elevation_deg - 0.3, beams))
    azimuth = np.radians(np.arange(-180.0, 180.0, 0.2))
    reach = MOUNT[2] / np.tan(-elevation)  # horizontal range to the road
    x = (reach[:, None] * np.cos(azimuth)[None]).ravel()
    y = (reach[:, None] * np.sin(azimuth)[None]).ravel()
    return np.column_stack([x, y, np.full(x.size, -MOUNT[2])]).astype(np.float32)


GROUND = _ground()


def scan(points: np.ndarray) -> np.ndarray:
    """base_link points -> lidar frame, plus ground returns all around (a healthy, unblocked scan)."""
    return np.vstack([(points - MOUNT).astype(np.float32), GROUND])


# --- corridor along the predicted path ------------------------------------------------------------


def test_nearest_obstacle_gap_and_support() -> None:
    obstacle = nearest_obstacle(wall(12.0), V, C)
    assert obstacle is not None and obstacle.gap_m == pytest.approx(12.0)
    assert 150 < obstacle.n_points < 200  # returns below min_height_m are not obstacle points


@pytest.mark.parametrize(
    ("points", "why"),
    [
        (wall(10.0, lateral_m=3.5), "adjacent lane"),
        (wall(10.0, height=0.12), "flat object, below min height"),
        (wall(150.0), "beyond range"),
        (wall(-2.0), "behind the bumper"),
        (wall(10.0, n=C.min_points - 1), "too few returns (spray)"),
    ],
)
def test_no_obstacle_outside_the_corridor(points: np.ndarray, why: str) -> None:
    assert nearest_obstacle(points, V, C) is None, why


def test_corridor_follows_the_curve() -> None:
    curvature = 1 / 150.0
    s = 30.0
    on_path = np.array([[150 * math.sin(s / 150), 150 * (1 - math.cos(s / 150))]])
    ahead = np.column_stack([np.repeat(on_path, 50, axis=0), np.linspace(0.4, 1.4, 50)])
    straight_ahead = wall(s - V.front_overhang_m)
    assert nearest_obstacle(ahead, V, C, curvature) is not None  # a car ahead in the bend
    assert nearest_obstacle(ahead, V, C, 0.0) is None  # ... that a straight corridor misses
    assert nearest_obstacle(straight_ahead, V, C, curvature) is None  # and parked on the outside


# --- threat quantities ------------------------------------------------------------------------------


def stopping_distance(closing_mps: float, brake: BrakeConfig) -> float:
    """Gap at which a constant closing speed needs full braking to start (by hand, not the AEB's code)."""
    closing = max(closing_mps, 0.0)
    return closing * brake.response_time_s + closing**2 / (2 * brake.full_trigger_mps2) + brake.stop_margin_m


def test_required_deceleration() -> None:
    v = 20.0
    gap = stopping_distance(v, B)
    assert required_decel(gap, v, 0.0, 0.0, B) == pytest.approx(B.full_trigger_mps2)
    assert required_decel(gap, v, v, 0.0, B) == 0.0  # a lead at our speed: nothing to shed
    # a lead braking at 5 m/s^2 from our speed, 12 m ahead: we must stop within 12 m + its 40 m
    need = required_decel(12.0, v, v, 5.0, B)
    available = 12.0 - B.stop_margin_m
    assert need == pytest.approx(v**2 / (2 * (available + v**2 / 10)))
    assert required_decel(B.stop_margin_m, 5.0, 0.0, 0.0, B) == math.inf
    assert time_to_collision(20.0, 10.0) == 2.0 and time_to_collision(20.0, 0.0) == math.inf


def make_threat(decel: float, ttc: float = math.inf) -> Threat:
    return Threat("points", 10.0, 5.0, 0.0, 0.0, decel, ttc)


@pytest.mark.parametrize(
    ("decel", "ttc", "level"),
    [
        (0.0, math.inf, 0),
        (0.0, B.warning_ttc_s, 1),
        (B.partial_trigger_mps2, math.inf, 2),
        (B.full_trigger_mps2, math.inf, 3),
        (math.inf, 0.1, 3),
    ],
)
def test_threat_levels(decel: float, ttc: float, level: int) -> None:
    assert threat_level(make_threat(decel, ttc), B) == level


# --- the staged state machine: every state x every event -----------------------------------------


def expected(state: AebState, level: int, stopped: bool, released: bool) -> AebState:
    """The specification, stated independently of the implementation."""
    if state is AebState.HOLD:
        return AebState.CRUISE if released else AebState.HOLD
    order = [AebState.CRUISE, AebState.WARNING, AebState.PARTIAL, AebState.FULL]
    if level > order.index(state):
        return order[level]  # escalate at once
    if state in (AebState.PARTIAL, AebState.FULL) and stopped:
        return AebState.HOLD
    return AebState.CRUISE if released else state  # never de-escalate while the threat lasts


@pytest.mark.parametrize(
    ("state", "level", "stopped", "released"), list(itertools.product(AebState, range(4), (False, True), (False, True)))
)
def test_every_state_and_event(state: AebState, level: int, stopped: bool, released: bool) -> None:
    assert next_state(state, level, stopped, released) is expected(state, level, stopped, released)


def test_requests_per_state() -> None:
    assert [requested_decel(s, B) for s in AebState] == [
        0.0,
        0.0,
        B.partial_decel_mps2,
        B.full_decel_mps2,
        B.hold_decel_mps2,
    ]


# --- AebCore over scans -------------------------------------------------------------------------


def drive(
    core: AebCore, gaps: list[float | None], speed: float, start_ns: int = 0, lateral: float = 0.0
) -> list[Decision]:
    decisions = []
    for i, gap in enumerate(gaps):
        now = start_ns + i * 100 * MS
        core.on_odometry(speed, 0.0, now)
        points = wall(gap, lateral) if gap is not None else wall(10.0, lateral_m=5.0)
        decisions.append(core.on_cloud(scan(points), now, now + 5 * MS))
    return decisions


def approaching(gap: float, speed: float) -> list[float | None]:
    """Three scans of a stationary obstacle, the last ``gap`` ahead: its range rate is measured."""
    return [gap + speed * 0.2, gap + speed * 0.1, gap]


def test_an_obstacle_seen_twice_is_not_yet_a_threat() -> None:
    core, v = AebCore(CONFIG), 13.89
    first, second, third = drive(core, approaching(5.0, v), v)
    assert first.state is second.state is AebState.CRUISE  # motion unknown: no threat yet
    assert first.threat.required_decel_mps2 == second.threat.required_decel_mps2 == 0.0
    assert third.state is AebState.FULL and third.lead_speed_mps == pytest.approx(0.0, abs=0.1)


def test_staged_response_escalates_with_the_threat_then_holds() -> None:
    core, v = AebCore(CONFIG), 13.89
    warn_gap = v * B.warning_ttc_s - 0.5
    partial_gap = B.stop_margin_m + v * B.response_time_s + v**2 / (2 * (B.partial_trigger_mps2 + 0.5))
    full_gap = stopping_distance(v, B) - 0.5
    states = []
    for k, gap in enumerate([60.0, warn_gap, partial_gap, full_gap]):
        states.append(drive(core, approaching(gap, v), v, start_ns=k * 10**9)[-1].state)
    assert states == [AebState.CRUISE, AebState.WARNING, AebState.PARTIAL, AebState.FULL]
    assert core.last is not None and core.last.accel_mps2 == -B.full_decel_mps2
    held = drive(core, [2.0] * 3, 0.0, start_ns=10 * 10**9)
    assert all(d.state is AebState.HOLD and d.accel_mps2 == -B.hold_decel_mps2 for d in held)


def test_releases_after_the_path_stays_clear() -> None:
    core = AebCore(CONFIG)
    drive(core, approaching(5.0, 13.89), 13.89)
    assert core.state is AebState.FULL
    states = [d.state for d in drive(core, [None] * B.release_clear_frames, 13.0, start_ns=10**9)]
    assert states[-1] is AebState.CRUISE and all(s is AebState.FULL for s in states[:-1])


def lead(gap_m: float, vx: float, ax: float = 0.0, score: float = 0.9, y: float = 0.0) -> np.ndarray:
    obj = np.zeros(1, OBJECT_DTYPE)
    obj["x"], obj["y"], obj["length"], obj["width"], obj["height"] = V.front_overhang_m + gap_m + 2.25, y, 4.5, 1.8, 1.5
    obj["vx"], obj["ax"], obj["score"], obj["track_id"] = vx, ax, score, 7
    return obj


def unsure(objects: np.ndarray, v_sigma: float) -> np.ndarray:
    objects["v_sigma"] = v_sigma
    return objects


def decide(
    objects: np.ndarray | None, gap: float, speed: float, age_ns: int = 20 * MS, closing: float | None = None
) -> Decision:
    """The decision on a third scan of an obstacle closing at ``closing`` (default: stationary)."""
    core = AebCore(CONFIG)
    rate = speed if closing is None else closing
    drive(core, [gap + rate * 0.2, gap + rate * 0.1], speed, start_ns=10**9 - 200 * MS)
    now = 10**9
    core.on_odometry(speed, 0.0, now)
    if objects is not None:
        core.on_objects(objects, now - age_ns, now - age_ns)
    return core.on_cloud(scan(wall(gap)), now, now + 5 * MS)


def test_a_tracked_lead_needs_only_the_closing_speed_margin() -> None:
    speed, lead_speed = 20.0, 15.0
    gap = stopping_distance(speed - lead_speed, B) + 5.0
    assert decide(None, gap, speed).state is AebState.FULL  # untracked, its range rate says: stationary
    untracked = decide(None, gap, speed, closing=speed - lead_speed)  # ... or moving at 15 m/s
    assert untracked.accel_mps2 == 0.0 and untracked.lead_speed_mps == pytest.approx(lead_speed, abs=0.1)
    moving = decide(lead(gap, lead_speed), gap, speed, closing=speed - lead_speed)
    assert moving.accel_mps2 == 0.0 and moving.lead_speed_mps == pytest.approx(lead_speed)
    assert moving.state is AebState.WARNING  # closing at 5 m/s, 10 m behind: warn, do not brake


def test_a_young_track_with_a_sure_velocity_explains_a_car_cutting_in() -> None:
    # A car cutting in: its corner sliding into the corridor holds the gap still while the car pulls
    # away at 20 m/s (range rate: stationary). Its track restarted as its outline turned (score 0.5),
    # but two scans already pin its velocity to 0.9 m/s: that is the car's speed, not the corner's.
    young = unsure(lead(20.0, 20.0, score=0.5), 0.9)
    decision = decide(young, 20.0, 15.0)
    assert decision.lead_speed_mps == pytest.approx(20.0) and decision.accel_mps2 == 0.0
    assert decide(unsure(lead(20.0, 20.0, score=0.5), 1.5), 20.0, 15.0).state is AebState.FULL  # too unsure


def test_a_braking_lead_counts_its_deceleration() -> None:
    steady = decide(lead(15.0, 20.0), 15.0, 20.0, closing=0.0)
    braking = decide(lead(15.0, 20.0, ax=-8.0), 15.0, 20.0, closing=0.0)
    assert steady.accel_mps2 == 0.0 and steady.threat.required_decel_mps2 == 0.0
    assert braking.state in (AebState.PARTIAL, AebState.FULL)  # it stops in 25 m: we must in 25 + 13.5


@pytest.mark.parametrize(
    ("objects", "age_ns", "why"),
    [
        (lead(20.0, 15.0, score=0.7), 20 * MS, "car-sized track not yet mature"),
        (unsure(lead(20.0, 15.0, score=0.7), 1.5), 20 * MS, "young track, velocity still unsure"),
        (unsure(lead(20.0, 15.0, score=0.3), 0.5), 20 * MS, "seen once: not even a crossing track yet"),
        (lead(20.0, 15.0), 500 * MS, "stale object list"),
        (lead(20.0, 15.0, y=4.0), 20 * MS, "object in the next lane"),
        (lead(35.0, 15.0), 20 * MS, "object far from the in-path obstacle"),
    ],
)
def test_objects_that_do_not_explain_the_obstacle_are_ignored(objects: np.ndarray, age_ns: int, why: str) -> None:
    decision = decide(objects, 20.0, 20.0, age_ns)
    assert decision.lead_speed_mps == pytest.approx(0.0, abs=0.1), why  # the range rate's, not the object's
    assert decision.state is AebState.FULL, why


def test_a_stopped_car_behind_the_lead_is_a_threat_before_the_lead_moves_out() -> None:
    # Following at 17 m/s, the lead 13 m ahead at our speed; a stopped car's roof shows 25 m further.
    stopped, lead_car = lead(38.0, 0.0), lead(13.0, 17.0)
    lead_car["track_id"] = 8
    found = beyond_threats(np.concatenate([lead_car, stopped]), 17.0, 0.0, 13.0, 0.0, CONFIG)
    assert [t.track_id for t in found] == [7] and found[0].gap_m == pytest.approx(38.0)
    assert threat_level(found[0], CONFIG.brake) >= 2  # 17^2 / 2(38 - 1.5 - 6) = 4.7 m/s^2: brake now
    # Not the lead itself, nor a track within a car's length behind it (its own roof), nor a fragment,
    # nor one in the next lane, nor one not yet mature.
    roof = lead(13.0 + CONFIG.objects.beyond_margin_m - 1.0, 0.0)
    sliver = lead(38.0, 0.0)
    sliver["length"] = 0.05
    for other in (lead_car, roof, sliver, lead(38.0, 0.0, y=4.0), lead(38.0, 0.0, score=0.7)):
        assert not beyond_threats(other, 17.0, 0.0, 13.0, 0.0, CONFIG)


def test_a_young_track_standing_behind_the_lead_is_a_stopped_obstacle() -> None:
    # The lead swerves out and uncovers a stopped car's corner 2 m behind it: a young track whose
    # anchor slides (1.5 m/s), but its returns stand where they lay. It counts at speed 0 at once,
    # without the roof margin (a moving lead's roof does not stand).
    corner = lead(15.0, 1.5, score=0.7)
    assert not beyond_threats(corner, 17.0, 0.0, 13.0, 0.0, CONFIG)
    corner["standing"] = 0.9
    found = beyond_threats(corner, 17.0, 0.0, 13.0, 0.0, CONFIG)
    assert len(found) == 1 and found[0].lead_speed_mps == 0.0 and found[0].closing_mps == 17.0


def walker(x: float, y: float, vy: float, score: float = 0.7, size: float = 0.5) -> np.ndarray:
    obj = np.zeros(1, OBJECT_DTYPE)
    obj["x"], obj["y"], obj["vy"], obj["length"], obj["width"], obj["height"] = x, y, vy, size, size, 1.7
    obj["score"], obj["track_id"] = score, 3
    return obj


def test_a_walker_heading_into_the_path_is_a_threat_before_it_is_in_it() -> None:
    # 20 m ahead, 3 m to the right, walking left at 1.4 m/s: in the path when we arrive at 14 m/s.
    threats = crossing_threats(walker(V.front_overhang_m + 20, -3.0, 1.4), 14.0, 0.0, 0.0, CONFIG)
    assert len(threats) == 1 and threats[0].gap_m == pytest.approx(19.75)
    # The same walker standing, walking away, or below the crossing score: no crossing.
    assert not crossing_threats(walker(V.front_overhang_m + 20, -3.0, 0.0), 14.0, 0.0, 0.0, CONFIG)
    assert not crossing_threats(walker(V.front_overhang_m + 20, -3.0, -1.4), 14.0, 0.0, 0.0, CONFIG)
    assert not crossing_threats(walker(V.front_overhang_m + 20, -3.0, 1.4, score=0.3), 14.0, 0.0, 0.0, CONFIG)


def test_every_crossing_object_is_predicted_but_traffic_in_its_lane_keeps_it() -> None:
    x = V.front_overhang_m + 20
    crossing_car = walker(x, -3.0, 4.0, size=4.5)  # at a junction: across the road
    assert len(crossing_threats(crossing_car, 14.0, 0.0, 0.0, CONFIG)) == 1
    # Oncoming in the next lane, its track drifting 1.6 m/s sideways as it passes (a nearest face
    # turning from front to side): traffic along the road, not a crossing.
    oncoming = walker(x, 3.0, -1.6, size=9.0)
    oncoming["vx"] = -11.0
    assert not crossing_threats(oncoming, 14.0, 0.0, 0.0, CONFIG)


def car(gap_m: float, y: float, vx: float, vy: float, score: float = 0.9) -> np.ndarray:
    """A 4.5 x 1.8 m car whose rear is ``gap_m`` ahead of the bumper."""
    obj = walker(V.front_overhang_m + gap_m + 2.25, y, vy, score=score, size=4.5)
    obj["width"], obj["vx"] = 1.8, vx
    return obj


def test_a_car_changing_lanes_towards_the_path_is_predicted_over_a_lane_change_s_first_seconds() -> None:
    # 25 m/s behind a 17 m/s car in the next lane, 10 m ahead, coming over at 1 m/s: it is in the path
    # before we reach it. Lane keeping's sway (0.3 m/s), a car moving away, a young track, oncoming
    # traffic: each keeps its lane.
    objects = CONFIG.objects
    assert len(crossing_threats(car(10.0, -3.5, 17.0, 1.0), 25.0, 0.0, 0.0, CONFIG)) == 1
    assert crossing_threats(car(10.0, -3.5, 17.0, 1.0), 25.0, 0.0, 0.0, CONFIG)[0].lead_speed_mps == 17.0
    for other in (
        car(10.0, -3.5, 17.0, 0.3),
        car(10.0, -3.5, 17.0, -1.0),
        car(10.0, -3.5, 17.0, 1.0, score=0.7),
        car(10.0, -3.5, -17.0, 1.0),
    ):
        assert not crossing_threats(other, 25.0, 0.0, 0.0, CONFIG)
    # Its lateral speed is believed for lane_change_horizon_s only: 30 m ahead (3.75 s away) and 4.5 m
    # aside, where 1 m/s would take it across in time, it is no threat until it is nearer.
    far = car(30.0, -4.5, 17.0, 1.0)
    assert objects.lane_change_horizon_s < 3.0 and not crossing_threats(far, 25.0, 0.0, 0.0, CONFIG)
    unlimited = dataclasses.replace(CONFIG, objects=dataclasses.replace(objects, lane_change_horizon_s=10.0))
    assert len(crossing_threats(far, 25.0, 0.0, 0.0, unlimited)) == 1


def test_a_car_cutting_in_that_we_pass_before_it_arrives_is_no_threat() -> None:
    # 1 m ahead, closing at 8 m/s: we are past it in 1.2 s, and at 0.8 m/s it reaches the path 0.3 s
    # later. Braking would leave us beside it as it comes over, so there is no post-encroachment margin
    # (a crossing walker's), and a car that arrives sooner is braked for.
    reach = V.width_m / 2 + C.lateral_margin_m + 0.9
    t_out = (1.0 + 4.5 + V.front_overhang_m) / 8.0
    late = car(1.0, -(reach + 0.8 * (t_out + 0.3)), 17.0, 0.8)
    assert not crossing_threats(late, 25.0, 0.0, 0.0, CONFIG)
    sooner = car(1.0, -(reach + 0.8 * (t_out - 0.4)), 17.0, 0.8)
    assert len(crossing_threats(sooner, 25.0, 0.0, 0.0, CONFIG)) == 1


def test_motion_within_the_tracks_own_uncertainty_is_not_a_crossing() -> None:
    # The walker of the test above, its 1.4 m/s lateral speed now as uncertain as the track says:
    # within 1 sigma (a young track's two-scan difference, a parked car's face whose nearest returns
    # slide), it is no evidence of crossing; a steady walker's 1 m/s uncertainty leaves it one.
    x = V.front_overhang_m + 20
    for sigma, crossing in ((0.0, True), (1.0, True), (1.5, False), (3.0, False)):
        obj = walker(x, -3.0, 1.4)
        obj["v_sigma"] = sigma
        assert bool(crossing_threats(obj, 14.0, 0.0, 0.0, CONFIG)) is crossing, sigma
    # A young track of an oncoming car in a bend (first seen as a sliver): its direction is 20 deg
    # off the lane, within its velocity's uncertainty of it: lane traffic, not a car crossing.
    oncoming = walker(x, 6.0, -2.5, size=4.5)
    oncoming["vx"] = -6.0
    assert len(crossing_threats(oncoming, 14.0, 0.0, 0.0, CONFIG)) == 1  # as if its velocity were exact
    oncoming["v_sigma"] = 1.7
    assert not crossing_threats(oncoming, 14.0, 0.0, 0.0, CONFIG)


def test_an_object_whose_returns_stand_where_they_lay_is_not_predicted_to_cross() -> None:
    # A parked car's face, its anchor sliding 2 m/s as the view changes: perception finds most of
    # its returns where returns lay 0.3 s before (``standing``), so its velocity is no crossing.
    x = V.front_overhang_m + 20
    for standing, crossing in ((0.0, True), (CONFIG.objects.standing_share - 0.05, True), (0.9, False)):
        obj = walker(x, -3.0, 2.0)
        obj["standing"] = standing
        assert bool(crossing_threats(obj, 14.0, 0.0, 0.0, CONFIG)) is crossing, standing


def test_a_mature_track_clearing_the_path_just_before_the_ego_arrives_still_crosses() -> None:
    # At its estimated speed the walker clears the path 0.3 s before the ego's front gets there: a
    # post-encroachment time inside crossing_time_margin_s, a collision if the estimate is a little
    # fast. One clearing it a second earlier is no crossing, nor is a young track's (two scans'
    # velocity) near miss.
    speed, x = 14.0, V.front_overhang_m + 20
    t_in = (x - 0.25 - V.front_overhang_m) / speed
    reach = V.width_m / 2 + C.lateral_margin_m + 0.25 + CONFIG.objects.lateral_sigma_mps * t_in
    margin = CONFIG.objects.crossing_time_margin_s
    assert margin > 0.3

    def walker_clearing(before_s: float, score: float) -> np.ndarray:
        return walker(x, -3.0, (reach + 3.0 + 0.05) / (t_in - before_s), score=score)

    assert crossing_threats(walker_clearing(0.3, 0.9), speed, 0.0, 0.0, CONFIG)
    assert not crossing_threats(walker_clearing(margin + 0.5, 0.9), speed, 0.0, 0.0, CONFIG)
    assert not crossing_threats(walker_clearing(0.3, 0.5), speed, 0.0, 0.0, CONFIG)


def test_a_classified_pedestrian_or_cyclist_is_treated_as_vulnerable() -> None:
    x = V.front_overhang_m + 20
    bike = walker(x, -3.0, 1.4, score=0.7, size=1.8)  # cyclist-sized at 1.4 m/s: a vehicle that slow stands
    assert not crossing_threats(bike, 14.0, 0.0, 0.0, CONFIG)
    bike["class_id"], bike["class_score"] = CLASSES.index("cyclist"), 0.8
    assert len(crossing_threats(bike, 14.0, 0.0, 0.0, CONFIG)) == 1
    # A walker drifting in slowly ends its crossing just outside the corridor: only a classified
    # pedestrian gets the wider margin.
    slow = walker(x, -3.1, 0.85)
    assert not crossing_threats(slow, 14.0, 0.0, 0.0, CONFIG)
    slow["class_id"], slow["class_score"] = CLASSES.index("pedestrian"), 0.8
    assert len(crossing_threats(slow, 14.0, 0.0, 0.0, CONFIG)) == 1
    slow["class_score"] = 0.2  # the cameras are unsure: no extra margin
    assert not crossing_threats(slow, 14.0, 0.0, 0.0, CONFIG)


# --- watchdog, degraded behaviour, events, diagnostics ----------------------------------------------


def test_watchdog_names_a_stale_lidar_and_recovers() -> None:
    core = AebCore(CONFIG)
    drive(core, [60.0], 10.0)
    assert core.check(50 * MS) == ()
    core.on_odometry(10.0, 0.0, 400 * MS)
    faults = core.check(int((CONFIG.watchdog.lidar_timeout_s + 0.05) * 1e9))
    assert faults and faults[0].startswith("point cloud stale")
    drive(core, [60.0], 10.0, start_ns=int(0.5e9))
    assert core.check(int(0.55e9)) == ()
    kinds = [(e.name, e.level) for e in core.events]
    assert kinds == [("aeb/watchdog", Level.ERROR), ("aeb/watchdog", Level.OK)]


def test_watchdog_detects_a_blocked_sector_and_a_clock_jump() -> None:
    core = AebCore(CONFIG)
    points = scan(wall(60.0))
    azimuth = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    core.on_odometry(10.0, 0.0, 0)
    decision = core.on_cloud(points[np.abs(azimuth) > 25], 0, 5 * MS)
    assert any("LiDAR blocked" in f for f in decision.faults)
    core.on_odometry(10.0, 0.0, 100 * MS)
    jumped = core.on_cloud(points, 100 * MS, 100 * MS + int(2e9))  # node clock 2 s ahead of the sensor's
    assert "clock jump" in jumped.faults


def test_degraded_action_brake_requests_full_braking() -> None:
    braking = dataclasses.replace(CONFIG, watchdog=dataclasses.replace(CONFIG.watchdog, degraded_action="brake"))
    core = AebCore(braking)
    drive(core, [60.0], 10.0)
    assert core.degraded_command(int(1e9)) == B.full_decel_mps2
    assert AebCore(CONFIG).degraded_command(int(1e9)) is None  # "hold": warn only


@pytest.mark.parametrize(
    ("speed", "yaw_rate"),
    [(math.nan, 0.0), (math.inf, 0.0), (-math.inf, 0.0), (13.89, math.nan), (500.0, 0.0), (13.89, 9.0)],
)
def test_invalid_odometry_is_rejected_and_the_last_valid_speed_brakes(speed: float, yaw_rate: float) -> None:
    """A wheel-speed glitch neither disables braking (NaN) nor brakes by itself (inf): the last valid
    speed holds until the odometry times out, then the fault names why."""
    core, v = AebCore(CONFIG), 13.89
    gaps = [5.0 + v * 0.2, 5.0 + v * 0.1, 5.0]  # approaching(5.0, v): a stationary wall
    decisions = []
    for i, gap in enumerate(gaps):
        now = i * 100 * MS
        if i == 0:
            core.on_odometry(v, 0.0, now)
        else:
            with pytest.raises(InvalidOdometryError):
                core.on_odometry(speed, yaw_rate, now)
        decisions.append(core.on_cloud(scan(wall(gap)), now, now + 5 * MS))
    assert decisions[-1].state is AebState.FULL and decisions[-1].speed_mps == v
    assert all(math.isfinite(d.accel_mps2) for d in decisions)
    late = int((CONFIG.odometry_timeout_s + 0.1) * 1e9)
    faults = core.check(late)
    assert any(f.startswith("odometry invalid (") for f in faults), faults
    core.on_odometry(v, 0.0, late)
    assert not any("odometry" in f for f in core.check(late))


def test_odometry_invalid_from_the_start_is_a_named_fault_not_a_silent_cruise() -> None:
    core = AebCore(CONFIG)
    for i, gap in enumerate([6.4, 5.7, 5.0]):  # closing at 7 m/s
        now = i * 100 * MS
        with pytest.raises(InvalidOdometryError):
            core.on_odometry(math.nan, 0.0, now)
        decision = core.on_cloud(scan(wall(gap)), now, now + 5 * MS)
        assert decision.faults == ("odometry invalid (speed nan)",)
    status = core.diagnostics(now_ns=250 * MS)
    assert status.level is Level.ERROR and "odometry invalid (speed nan)" in status.message


def test_state_changes_become_events() -> None:
    core = AebCore(CONFIG)
    drive(core, approaching(5.0, 13.89), 13.89)
    names = [e.name for e in core.events]
    assert "aeb/emergency_braking" in names
    braking = next(e for e in core.events if e.name == "aeb/emergency_braking")
    assert (
        braking.level is Level.OK
        and braking.values["state"] == "full_braking"
        and float(braking.values["gap_m"]) == pytest.approx(5.0, abs=0.1)
    )


def test_diagnostics_stay_below_error_while_braking_and_count_rejections() -> None:
    core = AebCore(CONFIG)
    status = core.diagnostics(now_ns=0)
    assert status.level is Level.ERROR and "no point cloud" in status.message
    drive(core, [60.0, 60.0], 13.89)
    core.health.on_output(100 * MS, 112 * MS)
    assert core.diagnostics(now_ns=150 * MS).message == "no objects"  # perception absent: degraded
    core.on_objects(np.zeros(0, OBJECT_DTYPE), 100 * MS, 110 * MS)
    assert core.diagnostics(now_ns=150 * MS).level is Level.OK
    assert core.health.on_rejected("missing_field", now_ns=0)
    assert not core.health.on_rejected("missing_field", now_ns=500 * MS)  # logged once a second per reason
    status = core.diagnostics(now_ns=150 * MS)
    assert status.level is Level.WARN and status.values["rejected.missing_field"] == "2"
    drive(core, approaching(3.0, 13.89), 13.89, start_ns=200 * MS)
    status = core.diagnostics(now_ns=250 * MS)
    # braking is the AEB working: the state is a value; the level is the rejections' WARN, no more
    assert status.level is Level.WARN and status.values["state"] == "full_braking"
    assert status.values["latency_p50_ms"] == "12.00"


def test_a_predicted_crossing_counts_after_crossing_lists_object_lists_in_a_row() -> None:
    v, near = 14.0, walker(V.front_overhang_m + 20, -3.0, 1.4)

    def states(config: AebConfig, lists: list[np.ndarray]) -> list[AebState]:
        core, out = AebCore(config), []
        for k, objects in enumerate(lists):
            now = 10**9 + k * 100 * MS
            core.on_odometry(v, 0.0, now)
            core.on_objects(objects, now - 20 * MS, now - 10 * MS)
            out.append(core.on_cloud(scan(wall(10.0, lateral_m=5.0)), now, now + 5 * MS).state)
        return out

    assert CONFIG.objects.crossing_lists == 1
    assert states(CONFIG, [near]) == [AebState.FULL]  # the shipped setting: at once
    two = dataclasses.replace(CONFIG, objects=dataclasses.replace(CONFIG.objects, crossing_lists=2))
    assert states(two, [near, near]) == [AebState.CRUISE, AebState.FULL]
    other = near.copy()
    other["track_id"] = 99  # a different track each list: never two in a row
    assert states(two, [near, other]) == [AebState.CRUISE, AebState.CRUISE]


def test_an_object_list_escalates_on_arrival_but_never_lowers_the_stage() -> None:
    # The list of scan k arrives ~20 ms after scan k was decided on: a crossing it predicts brakes
    # now, stamped with scan k (its latency counts from that capture), not a scan later.
    core, v = AebCore(CONFIG), 14.0
    core.on_odometry(v, 0.0, 10**9)
    clear = scan(wall(10.0, lateral_m=5.0))
    first = core.on_objects(np.zeros(0, OBJECT_DTYPE), 10**9, 10**9)  # no scan yet: the list decides alone
    assert first is not None and first.state is AebState.CRUISE
    assert core.on_cloud(clear, 10**9 + 100 * MS, 10**9 + 105 * MS).state is AebState.CRUISE
    escalation = core.on_objects(walker(V.front_overhang_m + 20, -3.0, 1.4), 10**9 + 100 * MS, 10**9 + 121 * MS)
    assert escalation is not None and escalation.state is AebState.FULL and core.state is AebState.FULL
    assert escalation.stamp_ns == 10**9 + 100 * MS and escalation.accel_mps2 == -B.full_decel_mps2
    assert escalation.threat.source != "points" and core.events[-1].name == "aeb/emergency_braking"
    # An empty list (the walker gone) releases nothing: only scans, clear long enough, do.
    assert core.on_objects(np.zeros(0, OBJECT_DTYPE), 10**9 + 200 * MS, 10**9 + 220 * MS) is None
    assert core.state is AebState.FULL
    # A list older than the last decision cannot answer it.
    core = AebCore(CONFIG)
    core.on_odometry(v, 0.0, 10**9)
    core.on_cloud(clear, 10**9 + 100 * MS, 10**9 + 105 * MS)
    assert core.on_objects(walker(V.front_overhang_m + 20, -3.0, 1.4), 10**9, 10**9 + 120 * MS) is None


def healthy(core: AebCore, start_ns: int, end_ns: int) -> int:
    """Healthy inputs every 100 ms from ``start_ns`` to ``end_ns`` (inclusive); returns the last time."""
    for t in range(start_ns, end_ns + 1, 100 * MS):
        core.on_odometry(10.0, 0.0, t)
        core.on_objects(np.zeros(0, OBJECT_DTYPE), t, t)
        core.on_cloud(scan(wall(60.0)), t, t + 5 * MS)
    return end_ns


def test_a_rejection_warns_while_recent_and_the_counter_stays() -> None:
    core = AebCore(CONFIG)
    now = healthy(core, 0, 500 * MS)
    core.health.on_rejected("invalid_odometry", now)
    status = core.diagnostics(now)
    assert status.level is Level.WARN and "invalid_odometry" in status.message
    later = now + 6_000 * MS
    healthy(core, now + 100 * MS, later)
    status = core.diagnostics(later)
    assert status.level is Level.OK and status.values["rejected.invalid_odometry"] == "1"


def test_scans_lost_in_transport_warn_while_recent_and_are_counted() -> None:
    core = AebCore(CONFIG)
    now = healthy(core, 0, 500 * MS)
    core.health.on_lost("point cloud", 2, now)  # the middleware's sample-lost event: 2 scans overrun
    status = core.diagnostics(now)
    assert status.level is Level.WARN and "lost in transport" in status.message and "point cloud" in status.message
    later = now + 6_000 * MS
    healthy(core, now + 100 * MS, later)
    status = core.diagnostics(later)
    assert status.level is Level.OK and status.values["lost.point cloud"] == "2"
