"""``av-edge upload``: the clip recorder's uploader on its own (drain a spool at the depot, ops, tests)."""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from av_edge.clips.spool import Spool
from av_edge.clips.uploader import Uploader, UploadSettings, make_client
from av_edge.core.clips.config import RecorderConfig
from av_edge.core.config import build_config, load_params_file
from av_edge.core.errors import ConfigError
from av_edge.paths import config_file

NODE_NAME = "clip_recorder_node"


def load(params_file: Path | None) -> RecorderConfig:
    path = params_file or config_file("clip_recorder.params.yaml")
    return build_config(RecorderConfig, load_params_file(path, NODE_NAME), where=str(path))


def build_uploader(config: RecorderConfig, spool: Spool, log: Any, warn: Any, wait: Any) -> Uploader:
    """The uploader the node runs, from its validated config."""
    up = config.uploader
    endpoint = None if up.endpoint_url == "default" else up.endpoint_url
    client = make_client(endpoint, up.region, up.connect_timeout_s, up.read_timeout_s)
    part_size = up.part_size_mib << 20
    rate = up.bandwidth_mbit_s * 1e6 / 8
    settings = UploadSettings(
        bucket=up.bucket,
        prefix=up.prefix,
        vehicle_id=config.vehicle_id,
        part_size_bytes=part_size,
        bandwidth_bytes_per_s=rate,
        burst_bytes=max(rate, part_size),
        retry_base_s=up.retry_base_s,
        retry_cap_s=up.retry_cap_s,
        delete_after_upload=up.delete_after_upload,
    )
    return Uploader(client, spool, settings, log, wait, warn=warn)


def main(
    params_file: Path | None, spool_dir: Path | None, endpoint: str | None, bucket: str | None, until_empty: bool
) -> int:
    try:
        config = load(params_file)
    except ConfigError as err:
        print(f"[av_edge] {err}", file=sys.stderr)
        return 2
    uploader_config = dataclasses.replace(
        config.uploader,
        endpoint_url=endpoint or config.uploader.endpoint_url,
        bucket=bucket or config.uploader.bucket,
    )
    config = dataclasses.replace(config, uploader=uploader_config)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    spool = Spool(
        spool_dir or Path(config.spool.directory).expanduser(),
        config.spool.quota_mib << 20,
        config.spool.evict_braking_clips,
        _log,
    )
    uploader = build_uploader(config, spool, _log, _log, stop.wait)
    uploader.run(idle_s=1.0, until_empty=until_empty)
    stats = uploader.stats
    _log(f"uploaded {stats.entries} entries, {stats.bytes / 2**20:.1f} MiB; {stats.resumed_parts} parts resumed")
    return 0


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] av-edge upload: {message}", file=sys.stderr, flush=True)
