"""``make soak``: every node as deployed, full sensor load, faults injected; ``bench/soak.json``.

For ``SOAK_MINUTES`` (default 30): aeb, perception and planner nodes, the clip recorder and its
uploader (a separate process, as a service unit runs it), a local S3 server; 8 cameras at 30 Hz,
LiDAR at 10 Hz with odometry, a manual clip trigger every ``CLIP_EVERY_S``. Faults, at fixed
fractions of the run: ``kill -9`` of the uploader and of the recorder (each restarted 5 s later,
as the launch file's respawn would), the S3 server frozen for 2 minutes (SIGSTOP: a blackholed
WAN), a spool quota small enough that the outage fills it, and a burst of malformed messages on
every sensor topic. Then triggering stops and the spool drains.

Clip accounting is independent of the recorder: ``triggered`` counts the trigger service's
successes; ``uploaded`` counts those clips in the bucket; ``dropped_with_event`` counts those the
recorder logged as evicted, refused, failed or lost to its restart; ``lost`` is what is left.
Simulated sensors, CPU only, no TensorRT.
"""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from av_edge import processes, topics
from av_edge.bench.aeb_latency import BUDGET_MS, Samples, approach_scans, summary
from av_edge.clips.local_s3 import CLOUD_NICENESS, CREDENTIALS, MotoServer
from av_edge.paths import config_file

BUCKET = "av-edge-soak"
CLIP_EVERY_S = 45.0
SPOOL_QUOTA_MIB = 400  # ~2 clips of 15 s of LiDAR: a 2-minute outage fills it
S3_OUTAGE_S = 120.0
RESTART_DELAY_S = 5.0
SAMPLE_EVERY_S = 5.0
RSS_FROM_S = 300.0  # growth is measured from minute 5 (start-up allocations are not a leak) ...
RSS_FROM_FRACTION = 0.3  # ... or from 30 % of a run shorter than ~17 minutes
DRAIN_TIMEOUT_S = 300.0
REPLY_GRACE_S = 2.0  # after the last scan, as the latency bench: a scan unanswered by then is lost
CLIP_ENTRY = re.compile(r"(\d{8}T\d{6}\.\d{3}Z_manual_\d{4})")


@dataclass
class Child:
    """A process the soak can kill -9 and restart; RSS sampled per incarnation."""

    name: str
    command: list[str]
    env: dict[str, str]
    logs: Path
    process: subprocess.Popen[bytes] | None = None
    incarnation: int = 0
    # per incarnation: (t_s, VmRSS, RssAnon, RssShmem) in MiB: private memory and shared-memory
    # transport segments (DDS) are told apart
    rss: list[list[tuple[float, float, float, float]]] = field(default_factory=list)

    def start(self) -> None:
        self.incarnation += 1
        log = self.logs / f"{self.name}.{self.incarnation}.log"
        self.process = processes.start(self.command, self.env, log)
        self.rss.append([])

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)

    def sample(self, t_s: float) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return
        kib = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith(_RSS_KEYS)}
        vm, anon, shmem = (kib.get(key, 0) / 1024 for key in _RSS_KEYS)
        self.rss[-1].append((t_s, vm, anon, shmem))

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob(f"{self.name}.*.log")))


_RSS_KEYS = ("VmRSS", "RssAnon", "RssShmem")


def soak(minutes: float, log_dir: Path) -> dict[str, Any]:
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    duration_s = minutes * 60.0
    env = processes.dds_environment()
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = env["FASTDDS_DEFAULT_PROFILES_FILE"]
    os.environ["ROS_DOMAIN_ID"] = env["ROS_DOMAIN_ID"]
    domain = int(env["ROS_DOMAIN_ID"])
    cores = sorted(os.sched_getaffinity(0))
    spare, braking = str(cores[-1]), ",".join(map(str, cores[:-1] or cores))
    log_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        server = MotoServer(log_dir / "moto.log", niceness=CLOUD_NICENESS, cpus=(cores[-1],))
        server.start()
        server.client().create_bucket(Bucket=BUCKET)
        spool = Path(tmp) / "spool"
        params = _recorder_params(Path(tmp) / "clip_recorder.params.yaml", spool, server.endpoint, spare)
        children = _children(env, log_dir, params, spool, server.endpoint, braking, spare, domain)
        for child in children.values():
            child.start()
        from av_edge.ros.probe import VehicleProbe

        probe = VehicleProbe(domain, "soak_probe", record_objects=False)
        # the measuring process must not stall on the cyclic GC walking its start-up objects (the
        # nodes do the same, see node_setup.run): a stall here would read as a late brake command
        gc.freeze()
        try:
            if not probe.wait_for_aeb(60.0):
                raise RuntimeError("aeb_node did not come up")
            run = _Run(probe, children, server, duration_s)
            run.drive()
            time.sleep(REPLY_GRACE_S)
            drained = run.drain(spool)
        finally:
            probe_diagnostics = list(probe.diagnostics)
            probe.close()
            for child in children.values():
                child.stop()
            if server.process is not None:
                os.kill(server.process.pid, signal.SIGCONT)  # if the run stopped during the outage
            keys = _bucket_entries(server)
            server.stop()
    return _metrics(minutes, run, children, keys, drained, probe_diagnostics)


class _Run:
    """The timeline: sensors at their rates, clip triggers, faults at fixed fractions of the run."""

    def __init__(self, probe: Any, children: dict[str, Child], server: MotoServer, duration_s: float) -> None:
        self.probe, self.children, self.server, self.duration_s = probe, children, server, duration_s
        self.scans = approach_scans(count=1)  # a stalled car 65 m ahead, the gap steady: no braking
        self.stamps: list[int] = []
        self.triggered = 0
        self.trigger_failures = 0
        self.fault_log: list[tuple[float, str]] = []
        self.started = time.monotonic()
        from std_srvs.srv import Trigger

        self._trigger = probe.node.create_client(Trigger, "/clip_recorder_node/trigger_clip")
        self._request = Trigger.Request

    def t(self) -> float:
        return time.monotonic() - self.started

    def drive(self) -> None:
        d = self.duration_s
        # the recorder dies 2 s into a clip's window (the first trigger after 35 % of the run)
        recorder_kill = max(1, -(-0.35 * d // CLIP_EVERY_S)) * CLIP_EVERY_S + 2.0
        faults: list[tuple[float, str, Callable[[], None]]] = [
            (0.25 * d, "kill -9 uploader", lambda: self._kill("uploader")),
            (0.25 * d + RESTART_DELAY_S, "restart uploader", self.children["uploader"].start),
            (recorder_kill, "kill -9 clip_recorder_node (2 s into a clip)", lambda: self._kill("clip_recorder_node")),
            (
                recorder_kill + RESTART_DELAY_S,
                "restart clip_recorder_node",
                self.children["clip_recorder_node"].start,
            ),
            (0.45 * d, "S3 server down (SIGSTOP)", lambda: self._signal_s3(signal.SIGSTOP)),
            (0.45 * d + S3_OUTAGE_S, "S3 server back (SIGCONT)", lambda: self._signal_s3(signal.SIGCONT)),
            (0.75 * d, "malformed burst", self._malformed_burst),
        ]
        faults.sort(key=lambda fault: fault[0])  # a short run's outage may outlast later faults' start
        next_scan = next_sample = 0.0
        next_trigger = CLIP_EVERY_S  # triggers at k * CLIP_EVERY_S
        stop_triggers = 0.9 * d
        while (now := self.t()) < d:
            if faults and now >= faults[0][0]:
                _, what, action = faults.pop(0)
                self.fault_log.append((round(now, 1), what))
                print(f"  soak {now:7.1f} s: {what}", flush=True)
                action()
            if now >= next_scan:
                self.probe.publish_speed(13.9)
                self.stamps.append(self.probe.publish_cloud(self.scans[0]))
                # a LiDAR keeps its rate: after a blocking step (the burst) no catch-up volley
                next_scan = next_scan + 0.1 if now - next_scan < 0.1 else now + 0.1
            if now >= next_sample:
                for child in self.children.values():
                    child.sample(now)
                next_sample += SAMPLE_EVERY_S
            if next_trigger <= now < stop_triggers:  # on a thread: the scans never wait for the service
                threading.Thread(target=self._trigger_clip, name="soak_trigger", daemon=True).start()
                next_trigger += CLIP_EVERY_S
            time.sleep(max(0.0, min(next_scan, next_sample) - self.t()))

    def drain(self, spool: Path, timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        """Until the spool holds no clip (uploaded or dropped) or the timeout; True when drained.
        A short run may end inside a fault: the S3 server is resumed and dead children restarted."""
        self._signal_s3(signal.SIGCONT)
        for child in self.children.values():
            if child.process is None or child.process.poll() is not None:
                child.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pending = [p for p in spool.glob("*_manual_*") if p.is_dir()]
            if not pending:
                return True
            time.sleep(2.0)
        return False

    def _signal_s3(self, signum: int) -> None:
        if self.server.process is not None:
            os.kill(self.server.process.pid, signum)

    def _kill(self, name: str) -> None:
        self.children[name].kill9()

    def _trigger_clip(self) -> None:
        if not self._trigger.service_is_ready():
            self.trigger_failures += 1
            return
        future = self._trigger.call_async(self._request())
        deadline = time.monotonic() + 2.0
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        if future.done() and future.result() is not None and future.result().success:
            self.triggered += 1
        else:
            self.trigger_failures += 1

    def _malformed_burst(self) -> None:
        """2 s of garbage at 100 Hz on the LiDAR, odometry and a camera topic (scans go on meanwhile)."""
        from nav_msgs.msg import Odometry
        from sensor_msgs.msg import Image, PointCloud2

        from av_edge.ros.qos import qos_profile

        node = self.probe.node
        image_pub = node.create_publisher(
            Image, topics.CAMERA_IMAGE.format(camera="front"), qos_profile(topics.CAMERA_IMAGE.qos)
        )
        rng = np.random.default_rng(0)
        for i in range(200):
            cloud = PointCloud2(height=1, width=int(rng.integers(0, 1000)), point_step=int(rng.integers(0, 32)))
            cloud.data = rng.bytes(int(rng.integers(0, 4000)))
            self.probe.publish_cloud(cloud)
            odometry = Odometry()
            odometry.twist.twist.linear.x = float(rng.choice([np.nan, np.inf, -1e9]))
            self.probe.publish_odometry(odometry)
            image_pub.publish(Image(height=int(rng.integers(0, 3)), width=640, encoding="rgb8", step=1920))
            if i % 10 == 0:  # the real sensor goes on meanwhile
                self.probe.publish_speed(13.9)
                self.stamps.append(self.probe.publish_cloud(self.scans[0]))
            time.sleep(0.01)
        node.destroy_publisher(image_pub)


def _children(
    env: dict[str, str], logs: Path, params: Path, spool: Path, endpoint: str, braking: str, spare: str, domain: int
) -> dict[str, Child]:
    def node(name: str, params_file: Path | None = None, pin: str | None = None) -> Child:
        command = processes.node_command(name, params_file=params_file)
        return Child(name, (["taskset", "-c", pin] if pin else []) + command, env, logs)

    upload = [sys.executable, "-m", "av_edge.cli", "upload", "--params-file", str(params), "--spool", str(spool)]
    upload += ["--endpoint", endpoint, "--bucket", BUCKET]
    cameras = [sys.executable, "-m", "av_edge.bench.soak_cameras", "--cameras", "8", "--rate", "30"]
    cameras += ["--domain", str(domain)]
    return {
        "aeb_node": node("aeb_node", pin=braking),
        "perception_node": node("perception_node"),
        "planner_node": node("planner_node"),
        "clip_recorder_node": node("clip_recorder_node", params),
        "uploader": Child("uploader", ["taskset", "-c", spare, "nice", "-n", "10", *upload], env, logs),
        "cameras": Child("cameras", cameras, env, logs),
    }


def _recorder_params(path: Path, spool: Path, endpoint: str, spare: str) -> Path:
    """The shipped params with the soak's spool (small quota), a separate uploader, uncapped to S3."""
    document = yaml.safe_load(config_file("clip_recorder.params.yaml").read_text())
    params = document["clip_recorder_node"]["ros__parameters"]
    params["cpus"] = spare
    params["spool"].update(directory=str(spool), quota_mib=SPOOL_QUOTA_MIB)
    params["uploader"].update(enabled=False, endpoint_url=endpoint, bucket=BUCKET, bandwidth_mbit_s=0.0)
    path.write_text(yaml.safe_dump(document))
    return path


def _bucket_entries(server: MotoServer) -> set[str]:
    entries = set()
    paginator = server.client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("clip.mcap"):
                found = CLIP_ENTRY.search(obj["Key"])
                if found:
                    entries.add(found.group(1))
    return entries


def _metrics(
    minutes: float, run: _Run, children: dict[str, Child], uploaded: set[str], drained: bool, diagnostics: list[Any]
) -> dict[str, Any]:
    answered = run.probe.first_brake_per_stamp()
    warm = run.stamps[50:]  # the first 5 s: discovery settling
    samples = Samples([answered[s].latency_ms for s in warm if s in answered])
    samples.lost = sum(s not in answered for s in warm)
    first = run.stamps[0] if run.stamps else 0
    lost_at = [round((s - first) / 1e9, 1) for s in warm if s not in answered]
    late_at = [
        (round((s - first) / 1e9, 1), round(answered[s].latency_ms, 1))
        for s in warm
        if s in answered and answered[s].latency_ms > BUDGET_MS
    ]
    latency = summary(samples, BUDGET_MS)
    aeb_view = _aeb_view(diagnostics)
    recorder_log = children["clip_recorder_node"].log_text()
    dropped = {
        m.group(1)
        for line in recorder_log.splitlines()
        if ("evicted" in line or "no room" in line or "could not write" in line or "clip lost" in line)
        for m in [CLIP_ENTRY.search(line)]
        if m
    }
    lost_markers = sum('"kind": "manual"' in line for line in recorder_log.splitlines() if "clip lost" in line)
    dropped_count = len(dropped - uploaded) + lost_markers
    rss_from = min(RSS_FROM_S, RSS_FROM_FRACTION * minutes * 60.0)
    growth, by_process = _rss_growth(children, rss_from, 1)  # VmRSS
    private, private_by_process = _rss_growth(children, rss_from, 2)  # RssAnon
    shmem, _ = _rss_growth(children, rss_from, 3)  # RssShmem
    return {
        "soak_minutes": minutes,
        "soak_aeb_latency_p50_ms": latency["p50"],
        "soak_aeb_latency_p99_ms": latency["p99"],
        "soak_aeb_latency_max_ms": latency["max"],
        "soak_aeb_lost": latency["lost"],
        "soak_aeb_late": latency["late"],
        "soak_rss_growth_mb": round(growth, 1),
        "soak_rss_from_s": rss_from,
        "soak_clips_triggered": float(run.triggered),
        "soak_clips_uploaded": float(len(uploaded)),
        "soak_clips_dropped_with_event": float(dropped_count),
        "soak_clips_lost": float(run.triggered - len(uploaded) - dropped_count),
        "soak_camera_batches_dropped_pct": _camera_drop_pct(diagnostics, run),
        "soak_spool_drained": float(drained),
        "soak_trigger_failures": float(run.trigger_failures),
        "faults": run.fault_log,
        "soak_aeb_lost_at_s": lost_at[:100],  # seconds from the first scan: where to look in the logs
        "soak_aeb_late_at_s_ms": late_at[:100],
        "soak_scans_published": float(len(run.stamps)),
        # the AEB's own count and its stamp -> publish latency: a reply late or missing at the probe
        # but not in here was delayed or lost on the way, not in the AEB
        "soak_aeb_node_outputs": aeb_view.get("outputs", "?"),
        # gaps in the brake commands' publication sequence numbers at the probe: lost on the way back
        # (None where rclpy hands over no message info)
        "soak_brake_commands_missing": run.probe.brakes_missing,
        "soak_aeb_node_deadline_misses": aeb_view.get("deadline_misses", "?"),
        # scans the middleware dropped before the AEB saw them (sample-lost events): a lost scan
        # counted here was overrun in transport (a flood on its topic), not ignored by the AEB
        "soak_aeb_node_lost_in_transport": aeb_view.get("lost.point cloud", "0"),
        "soak_rss_growth_by_process": by_process,
        # VmRSS = private + file-backed + shared; a leak is private growth, while the shared part is
        # mostly DDS shared-memory segments of peers (a restarted peer's new segment is mapped)
        "soak_rss_private_growth_mb": round(private, 1),
        "soak_rss_private_growth_by_process": private_by_process,
        "soak_rss_shmem_growth_mb": round(shmem, 1),
        "soak_rss_mib_every_30s": {
            c.name: [[round(t), round(mib, 1)] for t, mib, *_ in samples_rss[:: max(1, int(30 / SAMPLE_EVERY_S))]]
            for c in children.values()
            for samples_rss in c.rss[-1:]
        },
    }


def _rss_growth(children: dict[str, Child], rss_from: float, column: int) -> tuple[float, dict[str, float]]:
    """Largest growth of one RSS column from ``rss_from`` (and a minute after a restart) to the end."""
    growth = 0.0
    by_process: dict[str, float] = {}
    for child in children.values():
        for samples_rss in child.rss:
            if not samples_rss:
                continue
            steady = [row[column] for row in samples_rss if row[0] >= rss_from and row[0] >= samples_rss[0][0] + 60.0]
            if len(steady) >= 2:
                grew = steady[-1] - steady[0]
                growth = max(growth, grew)
                by_process[child.name] = round(max(by_process.get(child.name, grew), grew), 1)
    return growth, by_process


def _aeb_view(diagnostics: list[Any]) -> dict[str, str]:
    """The AEB's last diagnostic values (its lifetime counters); not its telltale's, which shares
    the hardware id."""
    from av_edge.ros.messages import statuses

    found = [s.values for array in diagnostics for s in statuses(array) if s.name == "av_edge: aeb"]
    return dict(found[-1]) if found else {}


def _camera_drop_pct(diagnostics: list[Any], run: _Run) -> float:
    """Share of the batches camera detection should have run (rate_hz over the run) that it did not."""
    from av_edge.core.config import build_config
    from av_edge.core.perception.node_config import PerceptionNodeConfig
    from av_edge.core.vehicle import load_node_params
    from av_edge.ros.messages import statuses

    rate = build_config(
        PerceptionNodeConfig, load_node_params(config_file("perception.params.yaml"), "perception_node")
    ).camera_detection.rate_hz
    batches = [
        (array.header.stamp.sec + array.header.stamp.nanosec / 1e9, int(s.values["batches"]))
        for array in diagnostics
        for s in statuses(array)
        if s.hardware_id == "camera_detection" and "batches" in s.values
    ]
    if len(batches) < 2:
        return 100.0
    (t0, b0), (t1, b1) = batches[0], batches[-1]
    expected = rate * (t1 - t0)
    return round(max(0.0, 100.0 * (1.0 - (b1 - b0) / expected)), 2) if expected > 0 else 100.0


def main(minutes: float | None = None, output: Path = Path("bench/soak.json")) -> int:
    minutes = minutes if minutes is not None else float(os.environ.get("SOAK_MINUTES", "30"))
    print(f"soak: {minutes:g} minutes, logs in {output.parent / 'soak_logs'}", flush=True)
    metrics = soak(minutes, output.parent / "soak_logs")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    for key, value in metrics.items():
        print(f"  {key:36s} {value}")
    ok = (
        metrics["soak_aeb_lost"] == 0
        and metrics["soak_aeb_late"] == 0
        and metrics["soak_clips_lost"] == 0
        and metrics["soak_rss_growth_mb"] <= 50
        and metrics["soak_aeb_latency_p99_ms"] <= 25
    )
    print(f"soak: {'PASS' if ok else 'FAIL'} (lost 0, late 0, clips lost 0, RSS growth <= 50 MB, p99 <= 25 ms)")
    return 0 if ok else 1
