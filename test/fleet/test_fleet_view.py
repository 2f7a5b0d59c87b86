"""The fleet view: vehicles' summaries synced from S3 and queried with DuckDB (which vehicle runs
what, activations per 1000 km and latency by model version, shadow agreement), and the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from av_edge.clips.recorder import ClipRecorder
from av_edge.clips.spool import Spool
from av_edge.core.clips.config import RecorderConfig
from av_edge.core.config import build_config, load_params_file
from av_edge.core.diagnostics import Level, Status
from av_edge.fleet import report
from av_edge.paths import config_file
from test.fleet.conftest import Fleet

duckdb = pytest.importorskip("duckdb", reason="the fleet view needs DuckDB (requirements/dev.txt)")
S = 10**9


def drive_period(tmp: Path, vehicle: str, model: str, km: float, activations: int, start_s: int) -> Path:
    """One period of a vehicle's recorder: ``km`` at 20 m/s, ``activations`` emergency brakings."""
    params = load_params_file(config_file("clip_recorder.params.yaml"), "clip_recorder_node")
    params["vehicle_id"] = vehicle
    recorder = ClipRecorder(build_config(RecorderConfig, params), Spool(tmp / vehicle, 1 << 30, False, print), print)
    seconds = round(km * 1000 / 20)
    for t in range(0, seconds + 1, 1):
        recorder.on_speed(20.0, (start_s + t) * S)
    for _ in range(activations):
        recorder.on_event(Status(Level.OK, "aeb/emergency_braking", ""), start_s * S)
    values = {"detector.model": model, "latency_p99_ms": "30.0" if "1.1" in model else "26.0"}
    recorder.on_status(Status(Level.OK, "av_edge: camera detection", "", "perception", values), start_s * S)
    if "1.1" in model:  # this vehicle is evaluating the next version in the shadow
        shadow = {"shadow.candidate": "1.2.0", "shadow.recall_vs_live": "0.950", "shadow.class_agreement": "1.000"}
        recorder.on_status(Status(Level.OK, "av_edge: camera detection", "", "perception", shadow), start_s * S)
    path = recorder.write_summary((start_s + seconds) * S, float(seconds))
    assert path is not None
    return path / report.SUMMARY_FILE


def test_summaries_from_s3_answer_the_fleet_questions(fleet: Fleet, tmp_path: Path) -> None:
    client = fleet.client
    periods = [
        ("car-a", "det 1.1.0", 60.0, 1, 0),
        ("car-a", "det 1.1.0", 40.0, 1, 4000),
        ("car-b", "det 1.1.0", 20.0, 0, 0),
        ("car-b", "det 1.2.0", 50.0, 0, 3000),  # car-b took 1.2.0 later: its newest says so
    ]
    for vehicle, model, km, activations, start in periods:
        summary = drive_period(tmp_path / "spools", vehicle, model, km, activations, start)
        key = f"clips/{vehicle}/{summary.parent.name}/{report.SUMMARY_FILE}"  # the uploader's layout
        client.put_object(Bucket=fleet.bucket, Key=key, Body=summary.read_bytes())
    client.put_object(
        Bucket=fleet.bucket, Key="clips/car-a/20261206T000000.000Z_braking_0001/clip/clip.mcap", Body=b"x"
    )

    local = tmp_path / "summaries"
    assert report.sync(client, fleet.bucket, "clips", local) == 4
    assert report.sync(client, fleet.bucket, "clips", local) == 0  # already here
    results = report.query(local)

    vehicles = {row["vehicle_id"]: row for row in results["vehicles"]}
    assert vehicles["car-a"]["model_version"] == "det 1.1.0" and vehicles["car-b"]["model_version"] == "det 1.2.0"
    by_model = {row["model_version"]: row for row in results["activations_by_model"]}
    assert by_model["det 1.1.0"]["km"] == pytest.approx(120.0, rel=1e-3)
    assert by_model["det 1.1.0"]["activations_per_1000_km"] == pytest.approx(2 / 120 * 1000, rel=1e-3)
    assert by_model["det 1.2.0"]["activations_per_1000_km"] == 0.0 and by_model["det 1.2.0"]["vehicles"] == 1
    latency = {row["model_version"]: row for row in results["latency_by_model"]}
    assert latency["det 1.1.0"]["perception_p99_ms_worst"] == 30.0
    (shadow,) = results["shadow_agreement"]
    assert shadow["shadow_candidate"] == "1.2.0" and shadow["recall_worst"] == pytest.approx(0.95)

    written = report.write_report(results, tmp_path / "report")
    text = written.read_text()
    assert "| det 1.2.0 |" in text and (tmp_path / "report" / "fleet.png").stat().st_size > 1000


def test_no_summaries_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(report.FleetViewError, match="no summaries"):
        report.query(tmp_path)
