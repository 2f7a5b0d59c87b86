"""The fleet summary's drive record: distance, AEB counts, degraded time, latency and model state."""

from __future__ import annotations

import pytest

from av_edge.core.clips.drive_log import DriveLog
from av_edge.core.diagnostics import Level, Status

S = 10**9


def test_distance_events_degraded_time_and_model_state_then_a_fresh_period() -> None:
    log = DriveLog()
    for t in range(11):  # 10 s at 20 m/s, then a 60 s gap that adds nothing
        log.on_speed(20.0, t * S)
    log.on_speed(20.0, 70 * S)
    for bad in (float("nan"), float("inf"), -1e9):  # corrupt odometry (the soak's malformed burst) counts nothing
        log.on_speed(bad, 70 * S + 1)
    for name in ("aeb/forward_collision_warning", "aeb/emergency_braking", "aeb/emergency_braking", "aeb/released"):
        log.on_event(Status(Level.OK, name, ""))
    camera = "av_edge: camera front"
    log.on_status(Status(Level.OK, camera, "ok"), 0)
    log.on_status(Status(Level.WARN, camera, "dark"), 1 * S)  # degraded since the previous report
    log.on_status(Status(Level.WARN, camera, "dark"), 2 * S)
    log.on_status(Status(Level.OK, camera, "ok"), 3 * S)
    detection = {"detector.model": "det 2.0 (abc)", "shadow.candidate": "2.1", "latency_p99_ms": "31.5"}
    log.on_status(Status(Level.OK, "av_edge: camera detection", "", "perception", detection), 3 * S)
    log.on_status(Status(Level.OK, "av_edge: model_updater", "", "model_updater", {"current": "2.0"}), 3 * S)

    record = log.take()
    assert record["distance_km"] == pytest.approx(0.2)
    assert (record["aeb_activations"], record["aeb_warnings"]) == (2, 1)
    assert record["degraded_s"] == {camera: 2.0}
    assert record["stage_latency_p99_ms"] == {"perception": 31.5}
    assert record["model_version"] == "det 2.0 (abc)" and record["model_state"]["installed"] == "2.0"
    assert record["shadow_candidate"] == "2.1" and record["shadow_recall_vs_live"] is None
    assert record["perception_latency_p99_ms"] == 31.5 and record["aeb_latency_p99_ms"] is None

    again = log.take()
    assert (again["distance_km"], again["aeb_activations"], again["degraded_s"]) == (0.0, 0, {})
    assert again["shadow_candidate"] is None
    assert again["model_version"] == "det 2.0 (abc)"  # state, not a count: it carries over
