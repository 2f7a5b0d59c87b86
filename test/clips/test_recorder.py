"""Recorder to spool: a clip is a rosbag2 MCAP holding the pre- and post-window of every topic."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.highlevel import AnyReader

from av_edge.clips.recorder import ClipRecorder
from av_edge.clips.uploader import Uploader, make_client
from av_edge.clips.writer import ClipWriter
from av_edge.core.clips.config import RecorderConfig, parse_cpu_list
from av_edge.core.clips.triggers import TriggerKind
from av_edge.core.config import build_config, load_params_file
from av_edge.core.diagnostics import Level, Status
from av_edge.core.errors import ConfigError
from av_edge.paths import config_file
from av_edge.ros.handlers import brake_command
from av_edge.ros.messages import message_class, odometry_msg
from test.clips.conftest import s3_client
from test.clips.fault_proxy import FaultProxy
from test.clips.helpers import assert_delivered_exactly, expected_objects, quiet, serialized_clouds, settings, spool_at

S = 1_000_000_000
TOPICS = {
    "/sensing/lidar/points": "sensor_msgs/msg/PointCloud2",
    "/localization/odometry": "nav_msgs/msg/Odometry",
    "/av_edge/aeb/brake_cmd": "geometry_msgs/msg/AccelStamped",
}


def config(**overrides: object) -> RecorderConfig:
    params = load_params_file(config_file("clip_recorder.params.yaml"), "clip_recorder_node")
    params.update({"pre_trigger_s": 2.0, "post_trigger_s": 1.0, "max_clip_s": 10.0, "ring_max_mib": 64})
    params.update(overrides)
    return build_config(RecorderConfig, params)


def drive(
    recorder: ClipRecorder, seconds: float, start_s: float = 0.0, brake_at: frozenset[float] = frozenset()
) -> None:
    """10 Hz LiDAR (small clouds), 50 Hz odometry, a brake request per scan; brake onsets at ``brake_at``."""
    for topic, msgtype in TOPICS.items():
        recorder.add_topic(topic, msgtype)
    cloud = serialized_clouds(1, 1000, seed=1)[0]
    for i in range(int(seconds * 50)):
        t_s = start_s + i / 50
        now = round(t_s * S)
        recorder.on_message("/localization/odometry", serialize_message(odometry_msg(0, 0, 0, 10, 0, now)), now)
        if i % 5 == 0:
            recorder.on_message("/sensing/lidar/points", cloud, now)
            accel = -8.0 if any(b <= t_s < b + 1.0 for b in brake_at) else 0.0
            command = brake_command(accel, now)
            recorder.on_message("/av_edge/aeb/brake_cmd", serialize_message(command), now)
            recorder.on_brake_request(accel, now)
        recorder.poll(now)
    recorder.flush()


def read_clip(path: Path) -> dict[str, list[int]]:
    """topic -> log times (ns) of the clip's messages, after decoding each with rclpy."""
    found: dict[str, list[int]] = {}
    with AnyReader([path / "clip"]) as reader:
        for connection, timestamp, raw in reader.messages():
            deserialize_message(raw, message_class(connection.msgtype))
            found.setdefault(connection.topic, []).append(timestamp)
    return found


def test_clip_contains_pre_and_post_window_of_every_topic(tmp_path: Path) -> None:
    spool = spool_at(tmp_path / "spool")
    recorder = ClipRecorder(config(), spool, quiet)
    drive(recorder, 8.0, brake_at=frozenset({4.0}))
    (entry,) = spool.entries()
    assert entry.protected and entry.priority == 100 and "braking" in entry.entry_id
    times = read_clip(spool.path(entry.entry_id))
    assert set(times) == set(TOPICS)
    for topic, rate in (("/sensing/lidar/points", 10), ("/localization/odometry", 50)):
        t = [x / S for x in times[topic]]
        assert t[0] == pytest.approx(2.0, abs=1 / rate) and t[-1] == pytest.approx(5.0, abs=1 / rate)
        assert len(t) == pytest.approx(3 * rate + 1, abs=1)  # none missing
    meta = json.loads((spool.path(entry.entry_id) / "entry.json").read_text())
    assert meta["triggers"][0]["kind"] == "braking" and meta["vehicle_id"] == "av-edge-dev-001"
    assert meta["window_ns"] == [2 * S, 5 * S] and meta["versions"]["av_edge"]
    assert set(meta["files"]) == {"clip/clip.mcap", "clip/metadata.yaml"}


def test_a_clip_the_recorder_dies_holding_is_reported_at_the_next_start(tmp_path: Path) -> None:
    """kill -9 during a clip's window: the window was in memory and is gone, but not silently."""
    spool = spool_at(tmp_path / "spool")
    dying = ClipRecorder(config(), spool, quiet)
    drive(dying, 4.5, brake_at=frozenset({4.0}))  # the clip's post-window is still open ...
    assert dying.cutter.open is not None and not spool.entries()
    del dying  # ... when the process dies
    warnings: list[str] = []
    restarted = ClipRecorder(config(), spool_at(tmp_path / "spool"), quiet)
    assert restarted.recover(warnings.append) == 1
    assert len(warnings) == 1 and "clip lost" in warnings[0] and '"kind": "braking"' in warnings[0]
    status = restarted.status(0)
    assert status.level is Level.WARN and status.values["clips.lost_in_restart"] == "1"
    assert ClipRecorder(config(), spool_at(tmp_path / "spool"), quiet).recover(warnings.append) == 0  # reported once


def test_a_written_clip_leaves_no_marker(tmp_path: Path) -> None:
    spool = spool_at(tmp_path / "spool")
    recorder = ClipRecorder(config(), spool, quiet)
    drive(recorder, 8.0, brake_at=frozenset({4.0}))
    assert len(spool.entries()) == 1 and recorder.recover(quiet) == 0


def test_events_channel_and_manual_triggers_merge_with_braking(tmp_path: Path) -> None:
    spool = spool_at(tmp_path / "spool")
    recorder = ClipRecorder(config(), spool, quiet)
    recorder.on_event(Status(Level.WARN, "aeb/forward_collision_warning", "cruise -> warning"), 3 * S)
    assert recorder.on_manual("driver pressed the button", int(3.5 * S))[0]
    assert not recorder.on_manual("again", int(3.6 * S))[0]  # rate-limited
    drive(recorder, 8.0, brake_at=frozenset({4.0}))
    (entry,) = spool.entries()
    meta = json.loads((spool.path(entry.entry_id) / "entry.json").read_text())
    assert [t["kind"] for t in meta["triggers"]] == ["warning", "manual", "braking"]
    assert "braking" in entry.entry_id  # named and prioritised after its most important reason
    assert recorder.limiter.suppressed[TriggerKind.MANUAL] == 1


def test_a_clip_streams_to_disk_while_it_is_recorded(tmp_path: Path) -> None:
    """Its pre-window is on disk right after the trigger (MCAP chunks of 1 MiB), and the open clip
    holds no messages: a clip costs no memory beyond the ring (the recorder's RSS swung by ~230 MB a
    clip when clips were held until they closed)."""
    spool = spool_at(tmp_path / "spool")
    recorder = ClipRecorder(config(), spool, quiet)
    recorder.add_topic("/sensing/lidar/points", TOPICS["/sensing/lidar/points"])
    scan = serialized_clouds(1, 100_000, seed=1)[0]  # 1.2 MB

    def scans(from_s: float, to_s: float) -> None:
        for i in range(round(from_s * 10), round(to_s * 10)):
            recorder.on_message("/sensing/lidar/points", scan, i * S // 10)
            recorder.poll(i * S // 10)

    scans(0.0, 4.0)
    assert recorder.on_manual("test", 4 * S)[0]
    scans(4.0, 4.5)
    recorder.flush()
    (partial,) = [p for p in (tmp_path / "spool").iterdir() if p.name.startswith(".tmp-")]
    assert (partial / "clip" / "clip.mcap").stat().st_size > 20 * len(scan)  # 2 s before, 0.5 s after
    assert recorder.cutter.open is not None and recorder.cutter.open.messages == 25  # a count, not a list
    scans(4.5, 8.0)
    recorder.flush()
    (entry,) = spool.entries()
    assert not [p for p in (tmp_path / "spool").iterdir() if p.name.startswith(".tmp-")]
    meta = json.loads((spool.path(entry.entry_id) / "entry.json").read_text())
    assert meta["messages"] == len(read_clip(spool.path(entry.entry_id))["/sensing/lidar/points"]) == 31
    assert meta["messages_dropped"] == 0


def test_when_the_disk_falls_behind_messages_are_dropped_and_counted_never_the_executor_blocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    original = ClipWriter._write

    def slow_disk(self: ClipWriter, stream: Any, message: Any) -> None:
        gate.wait(30)
        original(self, stream, message)

    monkeypatch.setattr(ClipWriter, "_write", slow_disk)
    spool = spool_at(tmp_path / "spool")
    recorder = ClipRecorder(config(), spool, quiet)
    recorder.writer.max_pending_bytes = 50_000  # ~4 scans of 1000 points
    for topic, msgtype in TOPICS.items():
        recorder.add_topic(topic, msgtype)
    cloud = serialized_clouds(1, 1000, seed=1)[0]
    for i in range(60):  # returns although nothing is written: the executor never waits for the disk
        now = i * S // 10
        recorder.on_message("/sensing/lidar/points", cloud, now)
        if i == 30:
            recorder.on_manual("test", now)
        recorder.poll(now)
    gate.set()
    recorder.poll(10**6 * S)
    recorder.flush()
    (entry,) = spool.entries()
    meta = json.loads((spool.path(entry.entry_id) / "entry.json").read_text())
    dropped = recorder.writer.dropped_messages
    assert dropped > 0 and meta["messages_dropped"] == dropped
    assert meta["messages"] == len(read_clip(spool.path(entry.entry_id))["/sensing/lidar/points"]) == 31 - dropped
    status = recorder.status(0)
    assert status.level == Level.WARN and status.values["clips.messages_dropped"] == str(dropped)


def test_a_write_error_mid_clip_fails_that_clip_loudly_and_recording_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rosbags.rosbag2 import Writer

    original = Writer.write
    calls = {"n": 0}

    def disk_full_once(self: Writer, connection: Any, timestamp: int, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 40:
            raise OSError(28, "No space left on device")
        original(self, connection, timestamp, data)

    monkeypatch.setattr(Writer, "write", disk_full_once)
    spool = spool_at(tmp_path / "spool")
    logs: list[str] = []
    recorder = ClipRecorder(config(), spool, logs.append)
    drive(recorder, 8.0, brake_at=frozenset({4.0}))
    drive(recorder, 8.0, start_s=20.0, brake_at=frozenset({24.0}))
    assert recorder.write_failures == 1 and len(spool.entries()) == 1  # the second clip is complete
    assert any("could not write clip" in line and "braking" in line and "No space" in line for line in logs)
    assert not [p for p in (tmp_path / "spool").iterdir() if p.name.startswith(".tmp-")]
    assert recorder.recover(quiet) == 0  # the failed clip was reported, not left as an orphan
    assert recorder.status(0).level == Level.ERROR


def test_disk_quota_with_the_link_down_keeps_braking_clips_and_says_what_it_evicted(
    tmp_path: Path, proxy: FaultProxy, bucket: str
) -> None:
    """Link down, spool over quota: warnings are evicted oldest first (counted, logged), braking clips
    stay; when the link returns every clip still queued arrives exactly once."""
    spool = spool_at(tmp_path / "spool", quota_mib=1)
    logs: list[str] = []
    spool.log = logs.append
    recorder = ClipRecorder(config(), spool, quiet)
    scans = {"warning": serialized_clouds(1, 2_500, seed=2)[0], "braking": serialized_clouds(1, 5_000, seed=3)[0]}
    for topic, msgtype in TOPICS.items():
        recorder.add_topic(topic, msgtype)
    kinds = ["warning", "braking", "warning", "warning", "braking", "warning"]
    for k, kind in enumerate(kinds):
        base = k * 20.0
        for i in range(60):  # 6 s of LiDAR at 10 Hz around each trigger; clips ~0.9 MB (warning), ~1.8 MB
            now = round((base + i / 10) * S)
            recorder.on_message("/sensing/lidar/points", scans[kind], now)
            if i == 30:
                name = "aeb/emergency_braking" if kind == "braking" else "aeb/forward_collision_warning"
                recorder.on_event(Status(Level.ERROR, name, kind), now)
            recorder.poll(now)
    recorder.poll(10**6 * S)
    recorder.flush()
    kept = [e.entry_id.split("_")[1] for e in spool.entries()]
    assert kept.count("braking") == 2  # both braking clips, although together they exceed the quota
    assert spool.evicted and all("warning" in name for name in spool.evicted)
    assert any("evicted" in line for line in logs)
    assert recorder.status(0).level == Level.WARN and "evicted" in recorder.status(0).message
    expected = expected_objects(spool)
    proxy.set_down(True)
    client = make_client(proxy.endpoint, "us-east-1", 1.0, 5.0)
    stop = threading.Event()
    up = Uploader(client, spool, settings(bucket), quiet, stop.wait)
    thread = threading.Thread(target=up.run, args=(0.05, True), daemon=True)
    thread.start()
    while up.stats.retries < 3:
        stop.wait(0.02)
    proxy.set_down(False)
    thread.join(60)
    assert_delivered_exactly(s3_client(proxy.endpoint), bucket, expected, spool)


@pytest.mark.parametrize(
    ("text", "cores"), [("any", ()), ("1", (1,)), ("0,2", (0, 2)), ("2-4", (2, 3, 4)), ("0, 4-5", (0, 4, 5))]
)
def test_cpu_lists_read_as_taskset_writes_them(text, cores):
    assert parse_cpu_list(text) == cores


@pytest.mark.parametrize("text", ["x", "3-1", "-1", ","])
def test_a_malformed_cpu_list_fails_at_startup(text):
    with pytest.raises(ConfigError, match="cpus"):
        config(cpus=text)


def test_the_periodic_summary_is_one_json_line_with_the_drive_record(tmp_path: Path) -> None:
    spool = spool_at(tmp_path / "spool")
    recorder = ClipRecorder(config(), spool, quiet)
    for t in range(61):
        recorder.on_speed(25.0, t * S)
    recorder.on_event(Status(Level.OK, "aeb/emergency_braking", "cruise -> braking"), 30 * S)
    model = {"detector.model": "av_edge_sim_detector 1.1.0 (5396596e1dda)", "latency_p99_ms": "24.0"}
    recorder.on_status(Status(Level.OK, "av_edge: camera detection", "", "perception", model), 60 * S)
    path = recorder.write_summary(60 * S, 60.0)
    assert path is not None
    lines = (path / "summary.json").read_bytes().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["vehicle_id"] == "av-edge-dev-001" and summary["package_version"]
    assert summary["distance_km"] == pytest.approx(1.5) and summary["aeb_activations"] == 1
    assert summary["model_version"].startswith("av_edge_sim_detector 1.1.0")
    assert summary["stage_latency_p99_ms"] == {"perception": 24.0} and "clips_written" in summary
