"""Braking latency with the clip recorder + uploader busy beside it (``aeb_latency_p99_ms_*``,
``upload_mb_per_s``): the uploader must not steal the braking budget."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from av_edge.bench.aeb_latency import replay_latency
from av_edge.bench.metrics import Metrics
from av_edge.clips.local_s3 import CREDENTIALS, MotoServer
from av_edge.clips.spool import Spool
from av_edge.core.diagnostics import Status

BUCKET = "av-edge-bench"
CLIP_MIB = 48
CLIPS = 40  # ~1.9 GiB queued: more than the run can upload, so the uploader never idles


def aeb_latency_uploading(frames: int = 400) -> Metrics:
    """The same replay in one run: the AEB alone (``..._idle``), then beside clip_recorder_node recording
    the LiDAR stream and uploading a full spool to a local S3 API, uncapped (``..._uploading``) and at
    the shipped bandwidth cap (``..._uploading_capped``). The S3 server is niced like the recorder,
    but it still shares the two cores and the kernel's loopback networking, which a remote cloud would not.
    """
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    idle = replay_latency(("aeb_node",), frames=frames)
    uncapped, rates = _with_uploader(frames, bandwidth_mbit_s=0.0)
    capped, capped_rates = _with_uploader(frames, bandwidth_mbit_s=None)
    return {
        "aeb_latency_p50_ms_idle": idle["p50"],
        "aeb_latency_p99_ms_idle": idle["p99"],
        "aeb_latency_p50_ms_uploading": uncapped["p50"],
        "aeb_latency_p99_ms_uploading": uncapped["p99"],
        "upload_mb_per_s": round(rates[-1] if rates else 0.0, 1),
        "aeb_latency_p50_ms_uploading_capped": capped["p50"],
        "aeb_latency_p99_ms_uploading_capped": capped["p99"],
        "upload_mb_per_s_capped": round(capped_rates[-1] if capped_rates else 0.0, 1),
    }


def _with_uploader(frames: int, bandwidth_mbit_s: float | None) -> tuple[dict[str, float], list[float]]:
    """Latency with the recorder + uploader busy; ``bandwidth_mbit_s`` None = the params file's cap."""
    with tempfile.TemporaryDirectory() as tmp:
        server = MotoServer(Path(tmp) / "moto.log", niceness=10)
        server.start()
        try:
            server.client().create_bucket(Bucket=BUCKET)
            spool_dir = Path(tmp) / "spool"
            _fill_spool(spool_dir, Path(tmp) / "payload.bin")
            params = [
                f"spool.directory:={spool_dir}",
                f"uploader.endpoint_url:={server.endpoint}",
                f"uploader.bucket:={BUCKET}",
                "uploader.region:=us-east-1",
            ]
            if bandwidth_mbit_s is not None:
                params.append(f"uploader.bandwidth_mbit_s:={bandwidth_mbit_s}")
            seen: list[Status] = []
            result = replay_latency(
                ("aeb_node", "clip_recorder_node"),
                frames=frames,
                node_params={"clip_recorder_node": params},
                statuses_out=seen,
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
