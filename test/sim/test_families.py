"""Scenario families: deterministic draws, edge coverage, the expression language, catalog export."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from av_edge.core.errors import ConfigError
from av_edge.sim.families import Family, allocate, catalog_document, draw, evaluate, load_families, scenario
from av_edge.sim.scenario import EgoGeometry, expand_file, first_overlap

FAMILIES = Path(__file__).resolve().parents[2] / "config/scenarios/families"
EGO = EgoGeometry(front_overhang_m=3.8, width_m=1.9)


@pytest.fixture(scope="module")
def families() -> list[Family]:
    loaded, _ = load_families(FAMILIES)
    return loaded


def test_every_family_draws_scenarios_that_build(families: list[Family]) -> None:
    assert len(families) >= 20
    for family in families:
        for index in range(5):
            built = scenario(family, draw(family, 3, index), EGO)
            assert built.actors and built.ego_speed_kmh > 0


def test_every_crossing_starts_after_the_run_does_so_its_timing_holds(families: list[Family]) -> None:
    """A crossing timed to reach ``hit_d`` ``cross_early_s`` before the ego would must start after t = 0
    (or be traffic already moving): a start before it is clamped and the timing drawn is not the one run."""
    for family in families:
        for index in range(40):
            for actor in scenario(family, draw(family, 5, index), EGO).actors:
                if actor.cross_speed_mps and not actor.cross_moving:
                    assert actor.cross_start_s > 0.0, f"{family.name} index {index}: its crossing starts before the run"


def test_a_run_is_the_same_whatever_else_is_drawn(families: list[Family]) -> None:
    family = families[0]
    assert draw(family, 7, 4) == draw(family, 7, 4)
    assert draw(family, 7, 4).spec != draw(family, 8, 4).spec
    plan = allocate(families, 300)
    assert len(plan) == 300
    assert {f.name for f, _ in plan} == {f.name for f in families}


def test_uniform_ranges_cover_both_edges(families: list[Family]) -> None:
    stationary = next(f for f in families if f.name == "stationary_car")
    speeds = {draw(stationary, 1, i).values["robustness.ego_kmh_jitter"] for i in range(200)}
    assert -2.0 in speeds and 2.0 in speeds


def test_a_failing_run_exports_as_a_catalog_file_that_expands_to_the_same_scenario(families: list[Family]) -> None:
    family = next(f for f in families if f.name == "cut_in")
    run = draw(family, 11, 2)
    document = yaml.safe_load(yaml.safe_dump(catalog_document(family, run)))
    (from_catalog,) = expand_file(document, EGO)
    assert from_catalog == scenario(family, run, EGO)
    assert from_catalog.name == "cut_in_s11_i2"


def test_expressions_are_plain_arithmetic_only() -> None:
    assert evaluate("max(a * 2, 3) - b", {"a": 1.0, "b": 0.5}) == 2.5
    assert evaluate("'x' if m == 1 else 'y'", {"m": 1}) == "x"
    for bad in ("__import__('os')", "a.__class__", "open('f')", "[1, 2]"):
        with pytest.raises(ConfigError):
            evaluate(bad, {"a": 1})


def test_a_family_with_an_unknown_distribution_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "family: bad\ncategory: obstacle\nexpected: no_contact\nmain: x\nsample: {x: {gauss: [0, 1]}}\n"
        "scenario: {ego_kmh: 30, actors: []}\n"
    )
    (bad,), _ = load_families(tmp_path)
    with pytest.raises(ConfigError, match="unknown distribution 'gauss'"):
        draw(bad, 0, 0)


def test_no_actor_drives_walks_or_parks_through_another(families: list[Family]) -> None:
    for family in families:
        for index in range(40):
            overlap = first_overlap(scenario(family, draw(family, 5, index), EGO))
            assert overlap is None, (
                f"{family.name} i{index}: at {overlap[0]:.2f} s a {overlap[1]} and a {overlap[2]} overlap"
            )
