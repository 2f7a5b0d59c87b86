"""The catalog as data: expansion, protocol-style placement, actor scripts."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from av_edge.core.errors import ConfigError
from av_edge.sim.actors import Actor
from av_edge.sim.road import Road
from av_edge.sim.scenario import EgoGeometry, expand_file, first_overlap, load_catalog

EGO = EgoGeometry(front_overhang_m=3.8, width_m=1.9)
CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "config/scenarios", EGO)
BY_NAME = {s.name: s for s in CATALOG}


def test_catalog_covers_the_fmvss_127_sets() -> None:
    counts = Counter(s.category for s in CATALOG)
    # FMVSS 127's sets, plus the random families' failures kept as regressions: two false activations
    # (config/scenarios/curve_entry_*.yaml) and one lead-vehicle contact (cut_out_s4242_i5.yaml)
    assert counts == {"lead_vehicle": 36, "pedestrian": 37, "false_activation": 8, "planning": 3}
    stopped = {(s.ego_speed_kmh, s.name.endswith("50pct")) for s in CATALOG if s.name.startswith("lead_stopped")}
    assert stopped == {(float(v), half) for v in range(10, 101, 10) for half in (False, True)}
    assert {s.lighting for s in CATALOG if s.name.startswith("ped_crossing_near")} == {"day", "night"}
    assert all(s.expected == "not_activated" for s in CATALOG if s.category == "false_activation")


def test_no_catalog_actor_passes_through_another() -> None:
    assert {s.name: first_overlap(s) for s in CATALOG if first_overlap(s)} == {}


def test_front_alignment_places_an_actor_by_its_front_whatever_its_size() -> None:
    actors: list[dict[str, Any]] = [
        {"kind": "car", "gap_m": 20.0, "align": "front", "offset_m": -1.0},
        {"kind": "car", "gap_m": 20.0, "align": "front", "offset_m": -1.0, "scale": 1.1},
    ]
    doc = {
        "category": "pedestrian",
        "expected": "no_contact",
        "scenarios": [
            {
                "name": "a",
                "ego_kmh": 30,
                "actors": actors,
            }
        ],
    }
    (built,) = expand_file(doc, EGO)
    fronts = [a.s + a.size[0] / 2 for a in built.actors]
    assert fronts == pytest.approx([EGO.front_overhang_m + 19.0] * 2)
    actors[0]["algin"] = "front"
    with pytest.raises(ValueError, match="unknown keys \\['algin'\\]"):
        expand_file(doc, EGO)


def test_placement_by_headway_and_overlap() -> None:
    full, half = BY_NAME["lead_stopped_100kmh_100pct"], BY_NAME["lead_stopped_100kmh_50pct"]
    car = full.actors[0]
    assert car.s - 2.25 - EGO.front_overhang_m == pytest.approx(100 / 3.6 * 4.0)  # 4 s headway
    assert car.d == 0.0
    assert half.actors[0].d == pytest.approx(-0.9)  # its left edge on the ego's centreline


def test_crossing_walker_reaches_the_centreline_when_the_unbraked_ego_would() -> None:
    scenario = BY_NAME["ped_crossing_near_40kmh_day"]
    walker = scenario.actors[0]
    arrival = (walker.s - EGO.front_overhang_m) / scenario.ego_speed_mps
    assert walker.frenet(arrival)[1] == pytest.approx(0.0, abs=1e-6)
    assert walker.frenet(0.0)[1] == pytest.approx(-4.0)
    assert walker.frenet(1000.0)[1] == pytest.approx(4.0)  # stops at the far kerb


def test_crossing_traffic_is_already_moving_at_the_start() -> None:
    """Crossing traffic (cross_moving) drives its line at constant speed from t = 0, not from a standstill."""
    car = Actor(kind="car", s=40.0, d=-8.0, cross_speed_mps=10.0, cross_start_s=2.0, cross_moving=True)
    _, d0, _, lateral0 = car.frenet(0.0)
    assert d0 == pytest.approx(-28.0)
    assert lateral0 == 10.0
    assert car.frenet(2.5)[1] == pytest.approx(-3.0)
    parked = Actor(kind="car", s=40.0, d=-8.0, cross_speed_mps=10.0, cross_start_s=2.0)
    assert parked.frenet(0.0)[1:4:2] == (-8.0, 0.0)


def test_braking_lead_kinematics() -> None:
    lead = Actor(kind="car", s=50.0, d=0.0, speed_mps=20.0, decel_mps2=5.0, decel_start_s=1.0)
    s, _, v, _ = lead.frenet(3.0)
    assert v == pytest.approx(10.0)
    assert s == pytest.approx(50 + 20 + 20 * 2 - 2.5 * 4)
    s_end, _, v_end, _ = lead.frenet(100.0)
    assert v_end == 0.0 and s_end == pytest.approx(50 + 20 + 400 / 10)


def test_pedestrians_are_shaped_like_people() -> None:
    boxes = Actor(kind="pedestrian", s=10.0, d=0.0, cross_speed_mps=1.4, cross_start_s=0.0).boxes(Road(), 0.3)
    assert len(boxes) == 4
    assert max(b.z_max for b in boxes) == pytest.approx(1.75)
    legs = [b for b in boxes if b.z_min == 0.0]
    assert len(legs) == 2 and legs[0].x != legs[1].x  # mid-stride


def test_road_furniture_is_not_solid() -> None:
    assert not Actor(kind="trench_plate", s=0, d=0).solid
    assert not Actor(kind="gantry", s=0, d=0).solid
    assert Actor(kind="car", s=0, d=0).solid


def test_curved_road_pose() -> None:
    road = Road(radius_m=150.0)
    x, y, yaw = road.pose(150.0 * math.pi / 2)
    assert (x, y, yaw) == pytest.approx((150.0, 150.0, math.pi / 2))
    inside = road.pose(150.0 * math.pi / 2, d=3.0)
    assert inside[0] == pytest.approx(147.0)
    assert np.hypot(inside[0], inside[1] - 150.0) == pytest.approx(147.0)


def test_bad_catalog_entries_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown actor kind 'spaceship'"):
        expand_file(
            {
                "category": "pedestrian",
                "expected": "no_contact",
                "scenarios": [{"name": "x", "ego_kmh": 10, "actors": [{"kind": "spaceship"}]}],
            },
            EGO,
        )
    (tmp_path / "a.yaml").write_text(
        "category: pedestrian\nexpected: no_contact\nscenarios:\n"
        "  - {name: same, ego_kmh: 10}\n  - {name: same, ego_kmh: 20}\n"
    )
    with pytest.raises(ConfigError, match="duplicate scenario names"):
        load_catalog(tmp_path, EGO)
