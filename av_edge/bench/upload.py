"""Braking latency with the clip recorder + uploader busy beside it (``aeb_latency_p99_ms_*``,
``upload_mb_per_s``): the uploader must not steal the braking budget."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from av_edge.bench.aeb_latency import replay_samples, summarize
from av_edge.bench.metrics import Metrics
from av_edge.clips.local_s3 import CREDENTIALS, MotoServer
from av_edge.clips.spool import Spool
from av_edge.core.diagnostics import Status

BUCKET = "av-edge-bench"
CLIP_MIB = 48
CLIPS = 40  # ~1.9 GiB queued: more than the run can upload, so the uploader never idles


def aeb_latency_uploading(frames: int = 600, rounds: int = 3) -> Metrics:
    """Braking latency in one run: the AEB alone (``..._idle``), beside clip_recorder_node recording the
    LiDAR stream with nothing to upload (``..._recording``), and recording while uploading a full spool
    to a local S3 API, uncapped (``..._uploading``) and at the shipped bandwidth cap
    (``..._uploading_capped``). The four alternate in ``rounds`` blocks of ``frames / rounds`` scans,
    so a slower spell of a shared machine hits each alike.

    The cores are partitioned as on a vehicle computer: the recorder (its ``cpus`` parameter) gets the
    last core, the braking path the others: the AEB (``taskset``) and the probe standing in for the
    LiDAR driver (this process), in every run, idle included. The S3 server, standing in for the
    cloud, shares the recorder's core, since a real one costs the vehicle nothing.
    """
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    cores = sorted(os.sched_getaffinity(0))
    spare, braking_cores = (cores[-1],), cores[:-1] or cores
    braking = {"aeb_node": ",".join(map(str, braking_cores))}
    os.sched_setaffinity(0, braking_cores)  # the probe's DDS threads, started per run, inherit it
    try:
        return _alternate(frames, rounds, spare, braking)
    finally:
        os.sched_setaffinity(0, cores)


def _alternate(frames: int, rounds: int, spare: tuple[int, ...], braking: dict[str, str]) -> Metrics:
    block = frames // rounds
    samples: dict[str, list[float]] = {name: [] for name in ("idle", "recording", "uploading", "uploading_capped")}
    lost = dict.fromkeys(samples, 0)
    rates: dict[str, list[float]] = {"uploading": [], "uploading_capped": []}

    def add(name: str, result: tuple[list[float], int]) -> None:
        samples[name].extend(result[0])
        lost[name] += result[1]

    for _ in range(rounds):
        add("idle", replay_samples(("aeb_node",), frames=block, cpus=braking))
        recorder = {"clip_recorder_node": _recorder_params(spare, "uploader.enabled:=false")}
        with_recorder = ("aeb_node", "clip_recorder_node")
        add("recording", replay_samples(with_recorder, frames=block, node_params=recorder, cpus=braking))
        for name, cap in (("uploading", 0.0), ("uploading_capped", None)):
            result, seen_rates = _with_uploader(block, spare, braking, bandwidth_mbit_s=cap)
            add(name, result)
            rates[name] += seen_rates[-1:]
    metrics: Metrics = {}
    for name, latencies in samples.items():
        summary = summarize(latencies, lost[name])
        metrics[f"aeb_latency_p50_ms_{name}"] = summary["p50"]
        metrics[f"aeb_latency_p99_ms_{name}"] = summary["p99"]
    metrics["upload_mb_per_s"] = round(float(np.mean(rates["uploading"])) if rates["uploading"] else 0.0, 1)
    capped = rates["uploading_capped"]
    metrics["upload_mb_per_s_capped"] = round(float(np.mean(capped)) if capped else 0.0, 1)
    return metrics


def _recorder_params(cpus: tuple[int, ...], *extra: str) -> list[str]:
    return [f"cpus:='{','.join(map(str, cpus))}'", *extra]  # quoted: YAML would read 1 as a number


def _with_uploader(
    frames: int, cpus: tuple[int, ...], braking: dict[str, str], bandwidth_mbit_s: float | None
) -> tuple[tuple[list[float], int], list[float]]:
    """Latency with the recorder + uploader busy; ``bandwidth_mbit_s`` None = the params file's cap."""
    with tempfile.TemporaryDirectory() as tmp:
        server = MotoServer(Path(tmp) / "moto.log", niceness=10, cpus=cpus)
        server.start()
        try:
            server.client().create_bucket(Bucket=BUCKET)
            spool_dir = Path(tmp) / "spool"
            _fill_spool(spool_dir, Path(tmp) / "payload.bin")
            params = _recorder_params(
                cpus,
                f"spool.directory:={spool_dir}",
                f"uploader.endpoint_url:={server.endpoint}",
                f"uploader.bucket:={BUCKET}",
                "uploader.region:=us-east-1",
            )
            if bandwidth_mbit_s is not None:
                params.append(f"uploader.bandwidth_mbit_s:={bandwidth_mbit_s}")
            seen: list[Status] = []
            result = replay_samples(
                ("aeb_node", "clip_recorder_node"),
                frames=frames,
                node_params={"clip_recorder_node": params},
                statuses_out=seen,
                cpus=braking,
            )
        finally:
            server.stop()
    rates = [float(s.values["uploaded.mb_per_s"]) for s in seen if s.hardware_id == "clip_uploader"]  # running mean
    return result, rates


def _fill_spool(root: Path, payload: Path) -> None:
    """``CLIPS`` entries sharing one incompressible payload through hard links (no 2 GB of writes)."""
    with payload.open("wb") as f:
        for _ in range(CLIP_MIB):
            f.write(os.urandom(1 << 20))
    spool = Spool(root, 1 << 40, evict_protected=False, log=print)
    for i in range(CLIPS):
        spool.add(f"bench_{i:03d}", 100, i, True, {"kind": "bench"}, lambda tmp: os.link(payload, tmp / "clip.mcap"))
