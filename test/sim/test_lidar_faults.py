"""LiDAR faults injected during a run: parsed strictly, applied from their onset, seen by the oracle
as the AEB sees them, and graded on the availability telltale."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from av_edge.sim.catalog import ego_geometry
from av_edge.sim.scenario import LidarFault, build, load_catalog
from av_edge.sim.simulation import Simulation
from av_edge.suite.lockstep import run_lockstep
from av_edge.suite.random_runs import TELLTALE_S, grade
from av_edge.suite.stack import StackConfig

STACK = StackConfig.load()
EGO = ego_geometry(STACK.sim)
CATALOG = {s.name: s for s in load_catalog(Path(__file__).resolve().parents[2] / "config/scenarios", EGO)}
STOPPED = CATALOG["lead_stopped_50kmh_100pct"]
S = 1_000_000_000


def spec(**fault: object) -> dict[str, object]:
    return {"name": "f", "ego_kmh": 50.0, "actors": [{"kind": "car", "gap_m": 40.0}], "lidar_fault": fault}


def test_a_fault_is_parsed_strictly() -> None:
    fault = build(spec(kind="blocked", from_s=1.5, sector_deg=[-10, 30]), "lead_vehicle", "no_contact", EGO)
    assert fault.lidar_fault == LidarFault("blocked", 1.5, (-10.0, 30.0), 0.0)
    with pytest.raises(ValueError, match="kind"):
        build(spec(kind="melted"), "lead_vehicle", "no_contact", EGO)
    with pytest.raises(ValueError, match="unknown keys"):
        build(spec(kind="dead", when_s=1.0), "lead_vehicle", "no_contact", EGO)


def forward_returns(sim: Simulation, now_ns: int) -> int:
    points = sim.capture(now_ns)
    azimuth = np.degrees(np.arctan2(points["y"], points["x"]))
    return int(np.count_nonzero(np.abs(azimuth) < 10.0))


def test_a_blockage_and_a_death_start_at_their_onset() -> None:
    blocked = dataclasses.replace(STOPPED, lidar_fault=LidarFault("blocked", 1.0, (-20.0, 20.0)))
    sim = Simulation(STACK.sim, blocked, 0)
    assert forward_returns(sim, int(0.9 * S)) > 1000
    assert forward_returns(sim, int(1.0 * S)) == 0
    dead = Simulation(STACK.sim, dataclasses.replace(STOPPED, lidar_fault=LidarFault("dead", 2.0)), 0)
    assert dead.lidar_alive(int(1.9 * S)) and not dead.lidar_alive(int(2.0 * S))


def test_the_oracle_cannot_brake_once_the_lidar_is_dead() -> None:
    """Dead before the last moment to brake: unavoidable for the ideal system too (it gets no scan)."""
    early = run_lockstep(dataclasses.replace(STOPPED, lidar_fault=LidarFault("dead", 0.5)), STACK).record
    assert early["outcome"] == "contact" and not early["avoidable"]
    assert early["telltale_s"] is not None and early["telltale_s"] - 0.5 <= TELLTALE_S
    assert grade(early, "no_contact") == "ok"  # the contact was unavoidable and the telltale in time


def test_grading_a_late_or_missing_telltale() -> None:
    record = {"outcome": "no_contact", "avoidable": True, "fault_onset_s": 2.0, "telltale_s": 2.4}
    assert grade(record, "no_contact") == "ok"
    assert grade({**record, "telltale_s": 3.2}, "no_contact") == "late_telltale"
    assert grade({**record, "telltale_s": None}, "no_contact") == "late_telltale"
    healthy = {**record, "fault_onset_s": None, "telltale_s": None}
    assert grade(healthy, "no_contact") == "ok"
    contact = {**record, "outcome": "contact", "impact_kmh": 30.0, "telltale_s": None}
    assert grade(contact, "no_contact") == "avoidable_contact"  # the worse defect is named first
