"""The full stack in the lock-step loop: cameras rendered, detected (ONNX Runtime) and fused as the
perception node does, the AEB braking on camera-only objects while its LiDAR is blocked or dead.

A fixed sample of the LiDAR-fault families (`av-edge suite --random N --seed S --stack full`):
a stopped or slower car is never hit whatever the fault, and the same faults on true-negative
drives never brake. (The crossing-VRU fault family is measured in the closing notes: a side-on
cyclist the shipped simulation detector calls a car is still hit.)
"""

from __future__ import annotations

from typing import Any

import pytest

from av_edge.paths import config_file
from av_edge.sim.families import load_families
from av_edge.suite.random_runs import plan, run_all

RUNS, SEED = 16, 4242
FAMILIES = ("lidar_fault_car", "lidar_fault_negative")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    families, _ = load_families(config_file("scenarios/families"))
    return list(run_all(plan(families, RUNS, SEED, FAMILIES, None), jobs=2, full_stack=True))


def test_each_run_is_the_full_stack_with_its_stage_costs(records: list[dict[str, Any]]) -> None:
    assert len(records) == RUNS and {r["stack"] for r in records} == {"full"}
    for r in records:
        assert r["stage_ms"]["detection_p50_ms"] > 0 and r["stage_ms"]["fusion_p50_ms"] > 0


def test_a_car_ahead_is_not_hit_while_the_lidar_is_blocked_dead_or_dropping_out(records: list[dict[str, Any]]) -> None:
    threats = [r for r in records if r["family"] == "lidar_fault_car"]
    assert threats and {r["values"]["fault"] for r in threats} >= {"blocked", "dead"}
    hit = [
        f"{r['scenario']} ({r['values']['fault']}, {r['ego_kmh']:.0f} km/h)"
        for r in threats
        if r["outcome"] == "contact"
    ]
    assert hit == []


def test_the_same_faults_on_true_negative_drives_never_brake(records: list[dict[str, Any]]) -> None:
    negatives = [r for r in records if r["family"] == "lidar_fault_negative"]
    assert negatives and [r["scenario"] for r in negatives if r["verdict"] != "ok"] == []
