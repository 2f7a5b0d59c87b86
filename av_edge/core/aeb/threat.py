"""Threat assessment: the nearest in-path obstacle (raw points), leads and crossings (tracked objects).

The gap to an in-path obstacle always comes from the raw points (diverse redundancy). Tracked
objects, when fresh, refine the obstacle's speed and deceleration, and predict objects that will
cross the path before the ego passes (a pedestrian stepping out), which the points cannot.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from av_edge.core.aeb.config import AebConfig, BrakeConfig, CorridorConfig
from av_edge.core.aeb.path import Arc, EgoPath
from av_edge.core.clutter import ClutterConfig, isolated
from av_edge.core.objects import CLASSES
from av_edge.core.vehicle import VehicleConfig


@dataclass(frozen=True)
class Obstacle:
    """Closest in-path obstacle: gap along the path from the front bumper, lateral offset, support."""

    gap_m: float
    lateral_m: float
    n_points: int


@dataclass(frozen=True)
class Threat:
    source: str  # "none", "points", "crossing", "beyond" (a track in the path behind the nearest obstacle)
    # or "held" (an in-path obstacle hidden by a blind sector)
    gap_m: float
    closing_mps: float  # ego speed minus the obstacle's speed along the path
    lead_speed_mps: float
    lead_decel_mps2: float  # > 0 when the obstacle is braking
    required_decel_mps2: float
    ttc_s: float
    track_id: int = 0  # the object predicted to cross (crossing threats)
    max_level: int = 3  # the highest stage it may ask for (a young camera-only object: partial braking)


NO_THREAT = Threat("none", math.inf, 0.0, 0.0, 0.0, 0.0, math.inf)
VULNERABLE_CLASSES = (CLASSES.index("pedestrian"), CLASSES.index("cyclist"))
SCORE_TOLERANCE = 1e-4  # scores travel as float32: 0.7 arrives as 0.69999999


def as_path(path: EgoPath | float) -> EgoPath:
    """A path, or a curvature (1/m) for the constant-turn-rate arc."""
    return Arc(float(path)) if isinstance(path, (int, float)) else path


def corridor_mask(
    points: np.ndarray, path: EgoPath | float, vehicle: VehicleConfig, corridor: CorridorConfig, widen_m: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mask of base_link points inside the corridor along the predicted path (``widen_m`` wider each
    side), their arc lengths along it and their distances from it (inf where not computed).

    A cheap box pre-filter (height band, ahead, within range) keeps the arc geometry off the ~99 % of
    a scan that is road or beside or behind the car.
    """
    front, reach = vehicle.front_overhang_m, corridor.max_range_m
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    candidate = np.flatnonzero(
        (z > corridor.min_height_m) & (z < vehicle.height_m) & (x > 0.0) & (x < front + reach) & (np.abs(y) < reach)
    )
    s, d = as_path(path).coordinates(points[candidate, :2])
    s_all = np.full(points.shape[0], -np.inf)
    s_all[candidate] = s
    d_all = np.full(points.shape[0], np.inf)
    d_all[candidate] = np.abs(d)
    mask = np.zeros(points.shape[0], dtype=bool)
    mask[candidate] = (s > front) & (s < front + reach) & (np.abs(d) < corridor_half_width(vehicle, corridor) + widen_m)
    return mask, s_all, d_all


def corridor_half_width(vehicle: VehicleConfig, corridor: CorridorConfig) -> float:
    """The corridor's half width: half the body and the lateral margin."""
    return vehicle.width_m / 2 + corridor.lateral_margin_m


def nearest_obstacle(
    points: np.ndarray, vehicle: VehicleConfig, corridor: CorridorConfig, path: EgoPath | float = 0.0
) -> Obstacle | None:
    """Closest obstacle in the corridor, or None when fewer than ``min_points`` returns fall in it.

    The gap is the ``min_points``-th closest return, so a few stray returns cannot set it.
    """
    mask, s, _ = corridor_mask(points, path, vehicle, corridor)
    return nearest_in(points, mask, s, vehicle, corridor)


def clutter_mask(band: np.ndarray, xyz_sensor: np.ndarray, clutter: ClutterConfig) -> np.ndarray:
    """Mask of the returns in ``band`` (a mask over ``xyz_sensor``, the scan in the sensor frame) that
    are drops of rain, spray or dust: alone in their cell (:mod:`~av_edge.core.clutter`)."""
    inside = np.flatnonzero(band)
    mask = np.zeros(band.shape[0], dtype=bool)
    mask[inside[isolated(xyz_sensor[inside], clutter)]] = True
    return mask


def nearest_in(
    points: np.ndarray, mask: np.ndarray, s: np.ndarray, vehicle: VehicleConfig, corridor: CorridorConfig
) -> Obstacle | None:
    """:func:`nearest_obstacle` of a corridor ``mask`` with the returns' distances ``s`` along the path."""
    inside_s = s[mask]
    k = corridor.min_points
    if inside_s.shape[0] < k:
        return None
    nearest = np.argpartition(inside_s, k - 1)[:k]
    kth = nearest[np.argmax(inside_s[nearest])]
    return Obstacle(
        gap_m=float(inside_s[kth] - vehicle.front_overhang_m),
        lateral_m=float(points[mask][kth, 1]),
        n_points=int(inside_s.shape[0]),
    )


def required_decel(gap_m: float, ego_speed: float, lead_speed: float, lead_decel: float, brake: BrakeConfig) -> float:
    """Ego deceleration needed to keep ``stop_margin_m``, after the response time.

    Constant-speed lead: shed the closing speed within the gap. Braking lead: also stop within the
    gap plus the distance the lead still travels before it stops (the worse of the two counts).
    """
    closing = ego_speed - lead_speed
    if closing <= 0 and lead_decel <= 0:
        return 0.0
    available = gap_m - brake.stop_margin_m - max(closing, 0.0) * brake.response_time_s
    need = 0.0
    if closing > 0:
        need = math.inf if available <= 0 else closing**2 / (2 * available)
    if lead_decel > 0 and lead_speed > 0:
        room = available + lead_speed**2 / (2 * lead_decel)
        need = max(need, math.inf if room <= 0 else ego_speed**2 / (2 * room))
    return need


def time_to_collision(gap_m: float, closing_speed_mps: float) -> float:
    """Seconds until contact at constant closing speed (inf when not closing)."""
    return gap_m / closing_speed_mps if closing_speed_mps > 0 else math.inf


def threat(source: str, gap: float, ego_speed: float, lead_speed: float, lead_decel: float, cfg: AebConfig) -> Threat:
    closing = ego_speed - lead_speed
    return Threat(
        source,
        gap,
        closing,
        lead_speed,
        lead_decel,
        required_decel(gap, ego_speed, lead_speed, lead_decel, cfg.brake),
        time_to_collision(gap, closing),
    )


def extents(objects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.abs(np.cos(objects["yaw"])), np.abs(np.sin(objects["yaw"]))
    return c * objects["length"] / 2 + s * objects["width"] / 2, s * objects["length"] / 2 + c * objects["width"] / 2


def lead_motion(
    objects: np.ndarray, obstacle_x: float, obstacle_y: float, ego_speed: float, dt_s: float, config: AebConfig
) -> tuple[float, float] | None:
    """(speed, deceleration) along x of the tracked object behind the in-path obstacle at (x, y).

    ``objects`` are ``dt_s`` older than the scan: they are predicted forward before matching. Tracks
    count once mature, or younger once their velocity is sure (``lead_max_sigma_mps``). The
    object whose box (grown by ``box_margin_m``) holds the obstacle's return is it, whatever the box's
    fitted heading; failing that, one whose near edge is within ``association_m`` of it.
    """
    cfg, half_width = config.objects, corridor_half_width(config.vehicle, config.corridor)
    reach_x, reach_y = extents(objects)
    x = objects["x"] + (objects["vx"] - ego_speed) * dt_s
    y = objects["y"] + objects["vy"] * dt_s
    near_x = x - reach_x
    mature = objects["score"] >= cfg.min_score - SCORE_TOLERANCE
    # A young track whose velocity is already sure (v_sigma; 0 = not estimated) counts too: a car cutting
    # in, newly tracked as its outline turns, is where the range rate lies (the corridor's edge runs
    # along its side, and the gap to it hardly grows while the car pulls away).
    young = objects["score"] >= cfg.crossing_min_score - SCORE_TOLERANCE
    trusted = mature | (young & (objects["v_sigma"] > 0) & (objects["v_sigma"] <= cfg.lead_max_sigma_mps))
    c, s = np.cos(objects["yaw"]), np.sin(objects["yaw"])
    dx, dy = obstacle_x - x, obstacle_y - y
    holds = (np.abs(c * dx + s * dy) <= objects["length"] / 2 + cfg.box_margin_m) & (
        np.abs(-s * dx + c * dy) <= objects["width"] / 2 + cfg.box_margin_m
    )
    near = (np.abs(objects["y"]) - reach_y < half_width) & (np.abs(near_x - obstacle_x) < cfg.association_m)
    for candidate in (trusted & holds, trusted & near):
        if candidate.any():
            best = np.flatnonzero(candidate)[np.argmin(np.abs(near_x[candidate] - obstacle_x))]
            return float(objects["vx"][best]), float(max(-objects["ax"][best], 0.0))
    return None


def beyond_threats(
    objects: np.ndarray, ego_speed: float, path: EgoPath | float, nearest_gap_m: float, dt_s: float, config: AebConfig
) -> list[Threat]:
    """Mature tracks in the corridor beyond the nearest in-path obstacle (gap ``nearest_gap_m``),
    and younger ones standing there (perception's ``standing``: at speed 0, whatever their track says).

    The nearest obstacle hides what stands behind it, but not all of it: a stopped car's roof shows
    over a lead, and its track stays mature. While the lead is in the way, stopping short of the
    stopped car is needed anyway (the lead must stop before it, the ego before the lead); when the
    lead swerves out, the car is already known and no new obstacle's range rate has to build up. A
    stopped car's first returns, as the lead uncovers it, stand where they lay: no need to wait for
    its track to mature.
    """
    cfg, vehicle = config.objects, config.vehicle
    if objects.size == 0:
        return []
    vx, vy = objects["vx"], objects["vy"]
    xy = np.column_stack([objects["x"] + (vx - ego_speed) * dt_s, objects["y"] + vy * dt_s])
    ego_path = as_path(path)
    s, d = ego_path.coordinates(xy)
    heading = ego_path.heading(s)
    along = vx * np.cos(heading) + vy * np.sin(heading)
    reach_s, reach_d = extents(objects)
    gap = s - reach_s - vehicle.front_overhang_m
    half_width = corridor_half_width(vehicle, config.corridor)
    mature = objects["score"] >= cfg.min_score - SCORE_TOLERANCE
    standing = (objects["standing"] >= cfg.standing_share) & (
        objects["score"] >= cfg.crossing_min_score - SCORE_TOLERANCE
    )
    along = np.where(standing, 0.0, along)
    found = (
        (mature | standing) & np.isfinite(s) & (np.abs(d) < half_width + reach_d) & (gap < config.corridor.max_range_m)
    )
    # Within a vehicle's length of the nearest return, a track may be that vehicle's own roof or side,
    # moving with it: what stands there is not a moving lead's.
    margin = np.where(standing, 0.0, cfg.beyond_margin_m)
    found &= (gap > nearest_gap_m + margin) & (objects["length"] >= cfg.min_object_m)
    out = []
    for i in np.flatnonzero(found):
        decel = 0.0 if standing[i] else float(max(-objects["ax"][i], 0.0))
        hit = threat("beyond", float(gap[i]), ego_speed, float(along[i]), decel, config)
        out.append(dataclasses.replace(hit, track_id=int(objects["track_id"][i])))
    return out


@dataclass(frozen=True)
class PathFrame:
    """Objects in the ego path's frame, predicted ``dt_s`` forward: arc length ``s`` and offset ``d``
    of their centres, velocity ``along`` and ``lateral`` to the path, half extents, closing speed and
    the gap from the front bumper to their near end."""

    s: np.ndarray
    d: np.ndarray
    along: np.ndarray
    lateral: np.ndarray
    reach_s: np.ndarray
    reach_d: np.ndarray
    closing: np.ndarray
    gap: np.ndarray


def path_frame(objects: np.ndarray, ego_speed: float, path: EgoPath | float, dt_s: float, front_m: float) -> PathFrame:
    vx, vy = objects["vx"], objects["vy"]
    ego_path = as_path(path)
    s, d = ego_path.coordinates(np.column_stack([objects["x"] + (vx - ego_speed) * dt_s, objects["y"] + vy * dt_s]))
    heading = ego_path.heading(s)
    along = vx * np.cos(heading) + vy * np.sin(heading)
    lateral = -vx * np.sin(heading) + vy * np.cos(heading)
    reach_s, reach_d = extents(objects)
    return PathFrame(s, d, along, lateral, reach_s, reach_d, ego_speed - along, s - reach_s - front_m)


def in_path_while_passing(
    frame: PathFrame,
    i: int,
    lateral: float,
    margin_s: float,
    reach_m: float,
    front_m: float,
    horizon_s: float = math.inf,
) -> bool:
    """Whether object ``i``, moving sideways at ``lateral`` for up to ``horizon_s``, comes within
    ``reach_m`` of the path's centre line at any time from ``margin_s`` before the ego's front reaches
    it to as long after the ego has passed it (the ego closing at ``frame.closing``)."""
    t_in = frame.gap[i] / frame.closing[i]
    t_out = t_in + (2 * frame.reach_s[i] + front_m) / frame.closing[i]
    t_first, t_last = min(max(t_in - margin_s, 0.0), horizon_s), min(t_out + margin_s, horizon_s)
    d_in, d_out = frame.d[i] + lateral * t_first, frame.d[i] + lateral * t_last
    return bool(min(d_in, d_out) < reach_m and max(d_in, d_out) > -reach_m)


def crossing_threats(
    objects: np.ndarray, ego_speed: float, path: EgoPath | float, dt_s: float, config: AebConfig
) -> list[Threat]:
    """Objects that are not in the path yet but will be while the ego passes, at current velocities.

    Every confirmed object with lateral motion is predicted: lateral speed of at least
    ``min_crossing_speed_mps`` and ``crossing_sigmas`` times the track's own velocity uncertainty
    (``v_sigma``); the lateral margin grows with the prediction time by ``lateral_sigma_mps``, since
    a track's velocity is never exact. A mature track crosses when it is in the path at any time from
    ``crossing_time_margin_s`` before the ego's front reaches it to as long after the ego has passed
    (post-encroachment time): a cyclist's speed overshoots while it pulls away (constant-acceleration
    track), and "clears 0.2 s before we arrive" is a collision on the real one. A young track gets
    no such margin: its velocity is two scans' difference, and a parked car's fragment "moving"
    within it would brake for nothing. Vehicle-sized traffic moving along the path (lateral speed under
    ``lane_traffic_ratio`` of its speed along it: oncoming, overtaking) keeps its lane in the
    prediction: a lateral drift of a few degrees is what a track's nearest face does while a car
    passes alongside. A vehicle's mature track going our way and moving towards the path at
    ``lane_change_min_mps`` or more (and ``lane_change_sigmas`` of its ``v_sigma``) is changing lanes
    (cutting in): its lateral speed is predicted for ``lane_change_horizon_s`` only, with no
    post-encroachment margin.
    A vehicle-sized object slower than ``vehicle_min_speed_mps`` is standing (a parked car's outline
    shifts as the ego passes; a car cannot step sideways), and so is any object perception found
    ``standing`` (its returns where returns lay 0.3 s before).
    Objects crossing (a walker, a cyclist, a car at a junction) are predicted on their velocity. An
    object the cameras classify as pedestrian or cyclist counts as vulnerable whatever its size and
    gets a wider lateral margin (class-aware: people change direction, cyclists swerve).
    """
    cfg, vehicle = config.objects, config.vehicle
    if objects.size == 0 or ego_speed <= 0.5:
        return []
    classified = np.isin(objects["class_id"], VULNERABLE_CLASSES) & (
        objects["class_score"] >= cfg.vulnerable_class_score - SCORE_TOLERANCE
    )
    vx, vy = objects["vx"], objects["vy"]
    frame = path_frame(objects, ego_speed, path, dt_s, vehicle.front_overhang_m)
    along, lateral, closing, gap = frame.along, frame.lateral, frame.closing, frame.gap
    established = objects["score"] >= cfg.crossing_min_score - SCORE_TOLERANCE
    mature = objects["score"] >= cfg.min_score - SCORE_TOLERANCE
    small = (objects["length"] <= cfg.small_object_m) & (objects["width"] <= cfg.small_object_m)
    sized = ~(small | classified)  # vehicle-sized
    # A vehicle's heading is its velocity's: within the velocity's uncertainty of its lane, it keeps it
    # (an oncoming car in a bend seen first as a sliver: its young track's direction is 15 deg off).
    doubt = np.where(sized, cfg.crossing_sigmas * objects["v_sigma"], 0.0)
    lane_traffic = ~classified & (np.abs(lateral) < cfg.lane_traffic_ratio * np.abs(along) + doubt)
    # ... unless a vehicle changes lanes towards the path: a mature track going our way whose lateral speed stands
    # out of lane keeping's sway and its own uncertainty. Believed only over a lane change's first
    # seconds: its corner would enter the corridor beside the bumper, too late to brake on from there.
    changing = (
        lane_traffic
        & sized
        & mature
        & (along > 0)
        & (lateral * frame.d < 0)
        & (np.abs(lateral) >= np.maximum(cfg.lane_change_min_mps, cfg.lane_change_sigmas * objects["v_sigma"]))
    )
    lane_traffic &= ~changing
    # A vehicle cannot step sideways: below this speed its "motion" is its outline changing as we pass.
    standing = sized & (np.hypot(vx, vy) < cfg.vehicle_min_speed_mps)
    fragment = objects["length"] < cfg.min_object_m  # a column or two of returns: an edge, not a walker
    # Its returns lie where returns lay 0.3 s ago: it stands, whatever its anchor did (a parked
    # car's face fragmenting as the ego passes). A walker has left his place by then.
    standing |= objects["standing"] >= cfg.standing_share
    # Motion is believed once it stands out of the track's own velocity uncertainty: a young track's
    # velocity is two scans' difference, and a wide face's anchor slides (a parked car "crossing").
    moving = np.abs(lateral) >= np.maximum(cfg.min_crossing_speed_mps, cfg.crossing_sigmas * objects["v_sigma"])
    usable = established & ~lane_traffic & ~standing & ~fragment & moving
    usable &= (closing > 0.1) & (gap > 0) & np.isfinite(frame.s)
    out = []
    half_width = corridor_half_width(vehicle, config.corridor)
    for i in np.flatnonzero(usable):
        if gap[i] / closing[i] > cfg.max_prediction_s:
            continue
        # A car cutting in gets no post-encroachment margin: braking for one we would have passed leaves
        # us beside it as it comes over.
        margin = cfg.crossing_time_margin_s if mature[i] and not changing[i] else 0.0
        reach = half_width + frame.reach_d[i] + (cfg.vulnerable_margin_m if classified[i] else 0.0)
        horizon = cfg.lane_change_horizon_s if changing[i] else math.inf
        reach += cfg.lateral_sigma_mps * min(gap[i] / closing[i], horizon)
        if in_path_while_passing(frame, int(i), float(lateral[i]), margin, reach, vehicle.front_overhang_m, horizon):
            found = threat("crossing", float(gap[i]), ego_speed, float(along[i]), 0.0, config)
            out.append(dataclasses.replace(found, track_id=int(objects["track_id"][i])))
    return out
