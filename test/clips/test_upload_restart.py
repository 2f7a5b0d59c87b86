"""kill -9 of the uploader mid-upload, then a restart: it resumes the multipart upload, loses nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from av_edge.clips.spool import STATE_FILE, Spool
from av_edge.paths import config_file
from test.clips.conftest import s3_client
from test.clips.fault_proxy import FaultProxy
from test.clips.helpers import add_clip, assert_delivered_exactly, expected_objects, spool_at


def params_file(tmp_path: Path, name: str, bandwidth_mbit_s: float) -> Path:
    document = yaml.safe_load(config_file("clip_recorder.params.yaml").read_text())
    uploader = document["clip_recorder_node"]["ros__parameters"]["uploader"]
    uploader.update(
        part_size_mib=5, bandwidth_mbit_s=bandwidth_mbit_s, retry_base_s=0.05, retry_cap_s=0.5, region="us-east-1"
    )
    document["clip_recorder_node"]["ros__parameters"]["vehicle_id"] = "test-car"
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def upload_process(params: Path, spool: Spool, proxy: FaultProxy, bucket: str, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "av_edge.cli", "upload", "--params-file", str(params), "--spool", str(spool.root)]
    command += ["--endpoint", proxy.endpoint, "--bucket", bucket, "--until-empty"]
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def parts_recorded(spool: Spool) -> int:
    states = [json.loads(p.read_text()) for p in spool.root.glob(f"*/{STATE_FILE}")]
    return sum(len(f.get("parts", {})) for s in states for f in s["files"].values())


def test_kill_9_mid_upload_then_restart_resumes(tmp_path: Path, proxy: FaultProxy, bucket: str) -> None:
    spool = spool_at(tmp_path / "spool")
    for i in range(3):
        add_clip(spool, f"clip{i}", mib=12, seed=10 + i)
    expected = expected_objects(spool)
    log = tmp_path / "upload.log"
    slow = upload_process(params_file(tmp_path, "slow.yaml", 40.0), spool, proxy, bucket, log)  # 5 MB/s
    deadline = time.monotonic() + 60
    while parts_recorded(spool) < 2:
        assert slow.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    slow.send_signal(signal.SIGKILL)
    slow.wait(10)
    assert len(spool.entries()) == 3, "killed before finishing the first clip: nothing may be gone yet"
    client = s3_client(proxy.endpoint)
    in_progress = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert len(in_progress) == 1

    fast = upload_process(params_file(tmp_path, "fast.yaml", 0.0), spool, proxy, bucket, log)
    assert fast.wait(120) == 0, log.read_text()
    text = log.read_text()
    resumed = int(text.rsplit("; ", 1)[-1].split()[0])
    assert resumed >= 2, text  # the parts sent before the kill were not sent again
    assert_delivered_exactly(client, bucket, expected, spool)


def test_crash_after_completing_but_before_deleting_does_not_duplicate(
    tmp_path: Path, proxy: FaultProxy, bucket: str
) -> None:
    """The object is complete on the server but the spool still has the clip: the restart verifies it
    against the stored object and deletes it locally, without a second upload."""
    from av_edge.clips.uploader import Uploader, make_client
    from test.clips.helpers import quiet, settings

    spool = spool_at(tmp_path / "spool")
    add_clip(spool, "clip0", mib=6, seed=3)
    expected = expected_objects(spool)
    client = make_client(proxy.endpoint, "us-east-1", 1.0, 5.0)
    keep = Uploader(client, spool, settings(bucket, delete_after_upload=False), quiet, lambda s: False)
    keep.upload_next()
    (spool.path("clip0") / STATE_FILE).unlink()  # as if the crash lost every record of it
    again = Uploader(client, spool, settings(bucket), quiet, lambda s: False)
    again.run(0.01, until_empty=True)
    assert again.stats.parts == 0
    assert_delivered_exactly(s3_client(proxy.endpoint), bucket, expected, spool)
