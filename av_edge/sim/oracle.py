"""The avoidability oracle: could an ideal AEB have avoided contact in this scenario?

Written from the scenario's ground truth and independent of the AEB code. The ideal system knows
every actor's exact state (position, velocity, longitudinal acceleration) from the first LiDAR scan
that returns ``min_points`` on it, but not its future: at each scan it predicts every seen actor at
constant acceleration (longitudinal) and constant lateral speed, and starts full braking at the last
scan from which it still predicts a stop or a pass without contact (waiting one more scan would
not). It answers with the same latency budget, actuator delay, brake build-up and maximum
deceleration as the simulated ego. Its braking is then played against the actors' true scripts.

A run is *avoidable* when that ideal braking, or not braking at all (the actor clears the path in
time), ends without contact. Geometry is in road (Frenet) coordinates: the ego's and every actor's
footprint as rectangles along the road, a person as its torso (what the simulator's contact test
uses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from av_edge.sim.actors import PEOPLE, SIZES, Actor
from av_edge.sim.road import Road

STEP_S = 0.02
TORSO_M = (0.25, 0.42)  # a person's contact footprint (length, width) at full height, as the simulator's


@dataclass(frozen=True)
class OracleConfig:
    scan_period_s: float
    latency_s: float  # sensor stamp to brake command (the budget)
    actuator_delay_s: float
    brake_jerk_mps3: float
    max_decel_mps2: float
    front_m: float  # base_link to front bumper
    rear_m: float  # base_link to rear bumper
    width_m: float
    min_points: int = 5
    horizon_s: float = 8.0


@dataclass(frozen=True)
class OracleResult:
    avoidable: bool
    contact: bool  # the ideal braking's outcome
    impact_kmh: float  # the ideal braking's impact speed (0 without contact)
    brake_onset_s: float  # when the ideal system's command was sent (nan: never)
    unbraked_impact_kmh: float  # the impact speed without braking at all (0: nothing would be hit)


def judge(
    actors: Sequence[Actor],
    road: Road,
    ego_speed_mps: float,
    ego_d: float,
    duration_s: float,
    seen_s: Sequence[float],
    config: OracleConfig,
    blind_from_s: float = math.inf,
) -> OracleResult:
    """Avoidability of one run; ``seen_s[i]``: when actor ``i`` was first seen (inf: never); from
    ``blind_from_s`` on (a dead sensor) no scan comes, so no braking can start."""
    solid = [i for i, a in enumerate(actors) if a.solid]
    times = np.arange(0.0, duration_s + STEP_S / 2, STEP_S)
    truth = {i: _true_track(actors[i], road, times) for i in solid}
    unbraked = _ego_track(ego_speed_mps, math.inf, times, config)
    unbraked_hit = _first_contact(unbraked, truth, ego_d, config)
    onset = _ideal_onset(actors, road, ego_speed_mps, ego_d, min(duration_s, blind_from_s), seen_s, solid, config)
    braked = _ego_track(ego_speed_mps, onset, times, config)
    hit = _first_contact(braked, truth, ego_d, config)
    impact = 0.0 if hit is None else hit * 3.6
    return OracleResult(
        avoidable=hit is None or unbraked_hit is None,
        contact=hit is not None,
        impact_kmh=impact,
        brake_onset_s=onset,
        unbraked_impact_kmh=0.0 if unbraked_hit is None else unbraked_hit * 3.6,
    )


def _ego_track(v0: float, command_s: float, times: np.ndarray, cfg: OracleConfig) -> tuple[np.ndarray, np.ndarray]:
    """(s, speed) of the ego braking fully from a command sent at ``command_s`` (inf: never)."""
    acting = command_s + cfg.latency_s + cfg.actuator_delay_s
    decel = np.clip((times - acting) * cfg.brake_jerk_mps3, 0.0, cfg.max_decel_mps2)
    speed = np.maximum(v0 - np.concatenate([[0.0], np.cumsum((decel[1:] + decel[:-1]) / 2) * STEP_S]), 0.0)
    s = np.concatenate([[0.0], np.cumsum((speed[1:] + speed[:-1]) / 2) * STEP_S])
    return s, speed


def _footprint(actor: Actor) -> tuple[float, float]:
    length, width, height, _ = actor.size
    if actor.kind in PEOPLE:
        scale = height / SIZES["pedestrian"][2]
        return TORSO_M[0] * scale, TORSO_M[1] * scale
    return length, width


def _true_track(actor: Actor, road: Road, times: np.ndarray) -> np.ndarray:
    """(T, 4): s, d, half length and half width along the road, and speed along it, per time."""
    length, width = _footprint(actor)
    out = np.empty((times.size, 5))
    for k, t in enumerate(times):
        s, d, speed, _ = actor.frenet(float(t))
        relative = actor.heading(road, float(t)) - road.pose(s)[2]
        c, n = abs(math.cos(relative)), abs(math.sin(relative))
        out[k] = (s, d, (c * length + n * width) / 2, (n * length + c * width) / 2, speed)
    return out


def _first_contact(
    ego: tuple[np.ndarray, np.ndarray], tracks: dict[int, np.ndarray], ego_d: float, cfg: OracleConfig
) -> float | None:
    """Closing speed at the first contact between the ego and any track, or None."""
    s_ego, v_ego = ego
    first: tuple[int, float] | None = None
    for track in tracks.values():
        k = _overlap_index(s_ego, track, ego_d, cfg)
        if k is not None and (first is None or k < first[0]):
            first = (k, max(float(v_ego[k] - track[k, 4]), 0.0))
    return None if first is None else first[1]


def _overlap_index(s_ego: np.ndarray, track: np.ndarray, ego_d: float, cfg: OracleConfig) -> int | None:
    n = min(s_ego.size, track.shape[0])
    s, d, half_s, half_d = (track[:n, i] for i in range(4))
    along = (s + half_s > s_ego[:n] - cfg.rear_m) & (s - half_s < s_ego[:n] + cfg.front_m)
    across = np.abs(d - ego_d) < half_d + cfg.width_m / 2
    hits = np.flatnonzero(along & across)
    return int(hits[0]) if hits.size else None


def _ideal_onset(
    actors: Sequence[Actor],
    road: Road,
    v0: float,
    ego_d: float,
    duration_s: float,
    seen_s: Sequence[float],
    solid: Sequence[int],
    cfg: OracleConfig,
) -> float:
    """The scan time at which the ideal system commands full braking (inf: it never needs to)."""
    horizon = np.arange(0.0, cfg.horizon_s, STEP_S)
    cruise = v0 * horizon  # relative to the ego's position at the scan (unbraked until then)
    for t in np.arange(0.0, duration_s, cfg.scan_period_s):
        visible = [i for i in solid if seen_s[i] <= t + 1e-9]
        if not visible:
            continue
        ego_s = v0 * t  # unbraked so far: the oracle has not acted yet
        predicted = {i: _predicted(actors[i], road, float(t), horizon, ego_s) for i in visible}
        if _first_contact((cruise, np.full_like(horizon, v0)), predicted, ego_d, cfg) is None:
            continue  # nothing would be hit: no need to brake
        later = _ego_track(v0, cfg.scan_period_s, horizon, cfg)
        if _first_contact(later, predicted, ego_d, cfg) is not None:
            return float(t)  # waiting one more scan would be too late: brake now
    return math.inf


def _predicted(actor: Actor, road: Road, t: float, horizon: np.ndarray, ego_s: float) -> np.ndarray:
    """The actor's track over ``horizon`` from its exact state at ``t`` (constant acceleration along the
    road, never reversing; constant lateral speed), ``s`` relative to the ego at ``t``."""
    s, d, speed, lateral = actor.frenet(t)
    before = actor.frenet(max(t - STEP_S, 0.0))[2]
    accel = (speed - before) / STEP_S if t >= STEP_S else 0.0
    if accel * speed < 0:  # slowing: stops, never reverses
        stop = -speed / accel
        tau = np.minimum(horizon, stop)
    else:
        tau = horizon
    s_future = s + speed * tau + accel * tau**2 / 2
    speed_future = speed + accel * tau
    length, width = _footprint(actor)
    relative = actor.heading(road, t) - road.pose(s)[2]
    c, n = abs(math.cos(relative)), abs(math.sin(relative))
    out = np.empty((horizon.size, 5))
    out[:, 0] = s_future - ego_s
    out[:, 1] = d + lateral * horizon
    out[:, 2] = (c * length + n * width) / 2
    out[:, 3] = (n * length + c * width) / 2
    out[:, 4] = speed_future
    return out
