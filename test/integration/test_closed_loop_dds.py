"""The demo's closed loop: simulator and AEB as separate processes over DDS with the shipped profile."""

from __future__ import annotations

from pathlib import Path

from av_edge.demo import run_scenario


def test_stalled_car_at_50_kmh_stops_without_contact(dds_domain: int, tmp_path: Path) -> None:
    record = run_scenario(["scenario:=lead_stopped_50kmh_100pct"], domain_id=dds_domain, log_dir=tmp_path)
    assert record["outcome"] == "no_contact", record
    assert record["final_speed_kmh"] == 0.0
    assert record["stop_gap_m"] > 0.5
    assert record["brake_commands"] > 20  # one per scan: the heartbeat flowed back the whole run
    assert record["latency_p50_ms"] is not None and record["latency_p50_ms"] > 0
