"""Scenarios as data: ``config/scenarios/*.yaml`` -> :class:`Scenario` objects.

A catalog file holds a ``category``, an ``expected`` outcome and a list of entries. An entry may
``vary`` parameters (lists whose product is expanded); ``{name}`` in strings is replaced by the
value (a string that is exactly ``{name}`` takes the value's type). Actor positions are stated the
way test protocols state them: gap or headway ahead of the ego's front bumper, overlap of the ego's
width, and for crossing pedestrians the lateral point the unbraked ego would hit them at.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from av_edge.core.errors import ConfigError
from av_edge.sim.actors import SIZES, Actor
from av_edge.sim.road import Road

CATEGORIES = ("lead_vehicle", "pedestrian", "cyclist", "crossing_vehicle", "obstacle", "false_activation", "planning")
EXPECTED = ("no_contact", "not_activated", "path_swerve", "path_stop", "path_follow")
G = 9.81


LIDAR_FAULTS = ("blocked", "dead", "dropout", "rain")
CAMERA_FAULTS = ("blind", "frozen")


@dataclass(frozen=True)
class LidarFault:
    """The LiDAR failing from ``from_s`` on: ``blocked`` (no returns in the sensor-frame azimuth
    sector ``sector_deg``: mud, a bag, a wet leaf), ``dead`` (no scans at all), ``dropout`` (a
    share ``dropout`` of its returns lost: spray, a dying laser) or ``rain`` (a share ``clutter`` of
    its rays returning early from drops, 1-40 m out: heavy rain or spray). In a scenario file,
    ``kind: none`` means no fault (for families that draw whether there is one), as for cameras."""

    kind: str
    from_s: float = 0.0
    sector_deg: tuple[float, float] = (0.0, 0.0)
    dropout: float = 0.0
    clutter: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in LIDAR_FAULTS:
            raise ValueError(f"lidar_fault.kind {self.kind!r} is not one of {LIDAR_FAULTS}")
        for key in ("dropout", "clutter"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"lidar_fault.{key} {getattr(self, key)} is outside [0, 1]")


@dataclass(frozen=True)
class CameraFault:
    """Cameras failing from ``from_s`` on: ``blind`` (a covered or mud-caked lens: a uniform dark
    frame with sensor noise) or ``frozen`` (a driver resending the last good frame with new stamps).
    ``cameras``: the rig's names; empty means every camera."""

    kind: str
    from_s: float = 0.0
    cameras: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in CAMERA_FAULTS:
            raise ValueError(f"camera_fault.kind {self.kind!r} is not one of {CAMERA_FAULTS}")

    def covers(self, camera: str, t: float) -> bool:
        """Whether ``camera`` is failed at ``t`` (s into the run)."""
        return t >= self.from_s and (not self.cameras or camera in self.cameras)


@dataclass(frozen=True)
class Scenario:
    name: str
    category: str
    expected: str
    ego_speed_kmh: float
    actors: tuple[Actor, ...]
    road: Road = field(default_factory=Road)
    duration_s: float = 20.0
    lighting: str = "day"
    lidar_blockage_deg: tuple[float, float] | None = None  # sensor-frame azimuth sector with no returns
    lidar_dropout: float = 0.0
    lidar_clutter: float = 0.0  # chance a ray returns early from rain or spray
    lidar_fault: LidarFault | None = None  # a fault injected during the run (the telltale must say so)
    camera_fault: CameraFault | None = None  # ... on the cameras (full-stack runs render it)
    lidar_noise_m: float | None = None  # range noise (1 sigma); None: the LiDAR config's
    ego_d: float = 0.0  # the ego's lateral offset in its lane (left +)
    seed: int | None = None  # the sensors' noise seed; None: the simulator config's

    @property
    def ego_speed_mps(self) -> float:
        return self.ego_speed_kmh / 3.6


@dataclass(frozen=True)
class EgoGeometry:
    """What placing actors needs to know about the ego (front bumper from base_link, width)."""

    front_overhang_m: float
    width_m: float


def lane_centre(scenario: Scenario, spacing_m: float = 2.0) -> np.ndarray:
    """The ego lane's centre line (odom ``(M, 2)``), from behind the start to past the scenario's end."""
    return np.array(scenario.road.centre_line(scenario.ego_speed_mps * scenario.duration_s + 150.0, spacing_m))


def first_overlap(scenario: Scenario, step_s: float = 0.25) -> tuple[float, str, str] | None:
    """(time, kind, kind) of the first two actors sharing volume, every ``step_s``; None if none do.
    A child starting inside a parked car or a car crossing through the wall meant to hide it tests
    nothing real. Roofs (bridges, gantries) rest on their supports and are left out."""
    roofs = ("bridge", "gantry")
    solid = [actor for actor in scenario.actors if actor.kind not in roofs]
    for t in np.arange(0.0, scenario.duration_s, step_s):
        boxes = [(actor.kind, actor.boxes(scenario.road, float(t))) for actor in solid]
        for i, (kind, mine) in enumerate(boxes):
            for other, theirs in boxes[i + 1 :]:
                if any(a.overlaps(b) for a in mine for b in theirs):
                    return float(t), kind, other
    return None


def load_catalog(directory: Path, ego: EgoGeometry) -> list[Scenario]:
    """Every scenario of every ``*.yaml`` file in ``directory`` (``known_failures.yaml`` excluded)."""
    scenarios: list[Scenario] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "known_failures.yaml":
            continue
        try:
            document = yaml.safe_load(path.read_text())
            scenarios.extend(expand_file(document, ego))
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"{path}: {err}") from None
    names = [s.name for s in scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{directory}: duplicate scenario names {duplicates}")
    return scenarios


def expand_file(document: Mapping[str, Any], ego: EgoGeometry) -> list[Scenario]:
    category, expected = document["category"], document["expected"]
    if category not in CATEGORIES or expected not in EXPECTED:
        raise ValueError(f"category must be one of {CATEGORIES}, expected one of {EXPECTED}")
    out = []
    for entry in document["scenarios"]:
        for values in _products(entry.get("vary", {})):
            spec = _substitute({k: v for k, v in entry.items() if k != "vary"}, values)
            entry_expected = str(spec.pop("expected", expected))  # an entry may override the file's
            if entry_expected not in EXPECTED:
                raise ValueError(f"expected '{entry_expected}' is not one of {EXPECTED}")
            out.append(build(spec, category, entry_expected, ego))
    return out


def _products(vary: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    keys = list(vary)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(vary[k] for k in keys))]


def _substitute(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        return values[whole.group(1)] if whole else value.format(**values)
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    return copy.deepcopy(value)


def build(spec: Mapping[str, Any], category: str, expected: str, ego: EgoGeometry) -> Scenario:
    """One scenario from an expanded entry."""
    speed = float(spec["ego_kmh"]) / 3.6
    road = Road(
        radius_m=float(spec.get("road_radius_m", 0.0)),
        curve_start_m=float(spec.get("curve_start_m", 0.0)),
        curve_end_m=float(spec.get("curve_end_m", math.inf)),
        reverse_radius_m=float(spec.get("reverse_radius_m", 0.0)),
        reverse_end_m=float(spec.get("reverse_end_m", math.inf)),
    )
    actors = tuple(_actor(a, speed, ego) for a in spec.get("actors", []))
    last = max((a.s for a in actors), default=0.0)
    # Static scenes end once the ego is well past the last actor; moving ones need time to play out.
    moving = any(a.speed_mps > 0 for a in actors)
    default_duration = 25.0 if moving else (last + 30.0) / max(speed, 1.0) + 3.0
    blockage = spec.get("lidar_blockage_deg")
    fault, camera_fault = spec.get("lidar_fault"), spec.get("camera_fault")
    return Scenario(
        name=str(spec["name"]),
        category=category,
        expected=expected,
        ego_speed_kmh=float(spec["ego_kmh"]),
        actors=actors,
        road=road,
        duration_s=float(spec.get("duration_s", min(default_duration, 40.0))),
        lighting=str(spec.get("lighting", "day")),
        lidar_blockage_deg=(float(blockage[0]), float(blockage[1])) if blockage else None,
        lidar_dropout=float(spec.get("lidar_dropout", 0.0)),
        lidar_clutter=float(spec.get("lidar_clutter", 0.0)),
        lidar_fault=_lidar_fault(fault) if fault and fault.get("kind") != "none" else None,
        camera_fault=_camera_fault(camera_fault) if camera_fault and camera_fault.get("kind") != "none" else None,
        lidar_noise_m=float(spec["lidar_noise_m"]) if "lidar_noise_m" in spec else None,
        ego_d=float(spec.get("ego_d", 0.0)),
        seed=int(spec["seed"]) if "seed" in spec else None,
    )


ACTOR_KEYS = frozenset(
    (
        "kind",
        *("gap_m", "headway_s", "s_m", "align", "offset_m", "d", "overlap_pct"),
        *("speed_kmh", "decel_g", "decel_start_s", "accel_mps2", "accel_start_s", "accel_to_kmh"),
        *("lane_change_start_s", "lane_change_at_gap_m", "lane_change_to_d", "lane_change_mps"),
        *("cross_speed_kmh", "cross_from_d", "cross_to_d", "hit_d", "cross_early_s", "cross_moving"),
        *("scale", "length_m", "width_m", "height_m", "z_min_m"),
    )
)


def _actor(spec: Mapping[str, Any], ego_speed: float, ego: EgoGeometry) -> Actor:
    kind = spec["kind"]
    if kind not in SIZES:
        raise ValueError(f"unknown actor kind '{kind}' (known: {sorted(SIZES)})")
    unknown = sorted(set(spec) - ACTOR_KEYS)
    if unknown:  # a misspelt key would otherwise change the scenario silently
        raise ValueError(f"actor '{kind}': unknown keys {unknown} (known: {sorted(ACTOR_KEYS)})")
    dims = _dims(spec, kind)
    length, width = dims[0], dims[1]
    gap = max(float(spec.get("gap_m", 0.0)), ego_speed * float(spec.get("headway_s", 0.0)))
    # The gap ends at the actor's rear (``align: front``: at its front, so a layout relative to another
    # actor holds whatever this one's size), then ``offset_m`` shifts it along the road.
    align = spec.get("align", "rear")
    if align not in ("rear", "front"):
        raise ValueError(f"align: '{align}' is not one of rear, front")
    half = length / 2 if align == "rear" else -length / 2
    s = float(spec["s_m"]) if "s_m" in spec else ego.front_overhang_m + gap + half
    s += float(spec.get("offset_m", 0.0))
    if "overlap_pct" in spec:  # of the ego's width, from the right (negative: from the left)
        overlap = float(spec["overlap_pct"]) / 100.0
        d = 0.0 if abs(overlap) >= 1.0 else -ego.width_m / 2 + abs(overlap) * ego.width_m - width / 2
        d = -d if overlap < 0 else d
    else:
        d = float(spec.get("d", 0.0))
    speed = float(spec.get("speed_kmh", 0.0)) / 3.6
    lane_change_start = float(spec.get("lane_change_start_s", math.inf))
    if "lane_change_at_gap_m" in spec:  # starts when its rear is this far ahead of the unbraked ego's front
        rear_gap = s - length / 2 - ego.front_overhang_m
        closing = ego_speed - speed
        wanted = float(spec["lane_change_at_gap_m"])
        lane_change_start = max((rear_gap - wanted) / closing, 0.0) if closing > 0.01 else 0.0
    cross = float(spec.get("cross_speed_kmh", 0.0)) / 3.6
    cross_start = math.inf
    moving = bool(spec.get("cross_moving", False))  # traffic on the crossing road: no standing start
    if cross:
        d = float(spec["cross_from_d"])
        direction = math.copysign(1.0, float(spec.get("cross_to_d", -d)) - d)
        cross *= direction
        hit_d = float(spec.get("hit_d", 0.0))
        arrival = (s - ego.front_overhang_m) / max(ego_speed, 0.1)  # when the unbraked ego reaches it
        early = float(spec.get("cross_early_s", 0.0))  # reaches hit_d this long before the ego would
        cross_start = arrival - early - abs(hit_d - d) / abs(cross)
        cross_start = cross_start if moving else max(cross_start, 0.0)
    return Actor(
        kind=kind,
        s=s,
        d=d,
        speed_mps=speed,
        decel_mps2=float(spec.get("decel_g", 0.0)) * G,
        decel_start_s=float(spec.get("decel_start_s", math.inf)),
        cross_speed_mps=cross,
        cross_start_s=cross_start,
        cross_end_d=float(spec.get("cross_to_d", math.nan)),
        cross_moving=moving,
        accel_mps2=float(spec.get("accel_mps2", 0.0)),
        accel_start_s=float(spec.get("accel_start_s", math.inf)),
        accel_to_mps=float(spec.get("accel_to_kmh", 0.0)) / 3.6,
        lane_change_start_s=lane_change_start,
        lane_change_to_d=float(spec.get("lane_change_to_d", d)),
        lane_change_mps=float(spec.get("lane_change_mps", 1.0)),
        dims=dims if dims != SIZES[kind] else None,
    )


def _dims(spec: Mapping[str, Any], kind: str) -> tuple[float, float, float, float]:
    """The actor's (length, width, height, z_min): the kind's, scaled by ``scale``, then any given."""
    length, width, height, z_min = SIZES[kind]
    scale = float(spec.get("scale", 1.0))
    return (
        float(spec.get("length_m", length * scale)),
        float(spec.get("width_m", width * scale)),
        float(spec.get("height_m", height * scale)),
        float(spec.get("z_min_m", z_min)),
    )


def _lidar_fault(spec: Mapping[str, Any]) -> LidarFault:
    unknown = sorted(set(spec) - {"kind", "from_s", "sector_deg", "dropout", "clutter"})
    if unknown:
        raise ValueError(f"lidar_fault: unknown keys {unknown} (kind, from_s, sector_deg, dropout, clutter)")
    sector = spec.get("sector_deg", (0.0, 0.0))
    return LidarFault(
        kind=str(spec["kind"]),
        from_s=float(spec.get("from_s", 0.0)),
        sector_deg=(float(sector[0]), float(sector[1])),
        dropout=float(spec.get("dropout", 0.0)),
        clutter=float(spec.get("clutter", 0.0)),
    )


def _camera_fault(spec: Mapping[str, Any]) -> CameraFault:
    unknown = sorted(set(spec) - {"kind", "from_s", "cameras"})
    if unknown:
        raise ValueError(f"camera_fault: unknown keys {unknown} (kind, from_s, cameras)")
    cameras = spec.get("cameras", [])
    if isinstance(cameras, str):  # one name, or "all"
        cameras = [] if cameras == "all" else [cameras]
    return CameraFault(kind=str(spec["kind"]), from_s=float(spec.get("from_s", 0.0)), cameras=tuple(map(str, cameras)))
