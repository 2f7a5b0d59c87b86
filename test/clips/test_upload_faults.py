"""The uploader against a real S3 API behind a faulty network: every clip arrives exactly once.

moto_server (real HTTP, real boto3 multipart protocol) sits behind a TCP proxy that drops
connections mid-part, answers 503, stalls, or goes down entirely.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from av_edge.clips.spool import Spool
from av_edge.clips.uploader import Uploader, make_client
from test.clips.conftest import s3_client
from test.clips.fault_proxy import FaultProxy
from test.clips.helpers import add_clip, assert_delivered_exactly, expected_objects, settings, spool_at


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    spool = spool_at(tmp_path / "spool")
    for i in range(3):
        add_clip(spool, f"clip{i}", mib=12, seed=i)  # 3 parts of 5 MiB each
    return spool


def uploader(spool: Spool, endpoint: str, bucket: str, stop: threading.Event, read_timeout_s: float = 5.0) -> Uploader:
    client = make_client(endpoint, "us-east-1", connect_timeout_s=1.0, read_timeout_s=read_timeout_s)
    return Uploader(client, spool, settings(bucket), log=print, wait=stop.wait)


def run_in_background(up: Uploader) -> threading.Thread:
    thread = threading.Thread(target=up.run, args=(0.05, True), daemon=True)
    thread.start()
    return thread


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_clean_upload_deletes_local_clips_only_after_verification(spool: Spool, proxy: FaultProxy, bucket: str) -> None:
    expected = expected_objects(spool)
    up = uploader(spool, proxy.endpoint, bucket, threading.Event())
    up.run(idle_s=0.05, until_empty=True)
    assert_delivered_exactly(s3_client(proxy.endpoint), bucket, expected, spool)
    assert up.stats.retries == 0 and up.stats.parts == 3 * (3 + 1 + 1)  # mcap, metadata.yaml, entry.json


def test_connections_dropped_mid_part(spool: Spool, proxy: FaultProxy, bucket: str) -> None:
    expected = expected_objects(spool)
    up = uploader(spool, proxy.endpoint, bucket, threading.Event())
    proxy.reset_after(2 << 20)  # 2 MiB into the first 5 MiB part
    thread = run_in_background(up)
    wait_for(lambda: proxy.resets == 1)
    wait_for(lambda: up.stats.entries >= 1)
    proxy.reset_after(13 << 20)  # and again, into a later file
    thread.join(60)
    assert proxy.resets == 2 and up.stats.retries >= 2
    assert_delivered_exactly(s3_client(proxy.endpoint), bucket, expected, spool)


def test_server_errors_5xx(spool: Spool, proxy: FaultProxy, bucket: str) -> None:
    expected = expected_objects(spool)
    proxy.fail_next(5)
    up = uploader(spool, proxy.endpoint, bucket, threading.Event())
    up.run(idle_s=0.05, until_empty=True)
    assert proxy.failed_requests == 5 and up.stats.retries >= 5
    assert "ServiceUnavailable" in up.stats.last_error or "503" in up.stats.last_error
    assert_delivered_exactly(s3_client(proxy.endpoint), bucket, expected, spool)


def test_stalled_connection_times_out_and_resumes(spool: Spool, proxy: FaultProxy, bucket: str) -> None:
    expected = expected_objects(spool)
    up = uploader(spool, proxy.endpoint, bucket, threading.Event(), read_timeout_s=1.0)
    proxy.stall = True
    thread = run_in_background(up)
    wait_for(lambda: up.stats.retries >= 1)  # the read timeout fired
    proxy.stall = False
    thread.join(60)
    assert_delivered_exactly(s3_client(proxy.endpoint), bucket, expected, spool)


def test_link_down_for_a_while_then_up(spool: Spool, proxy: FaultProxy, bucket: str) -> None:
    expected = expected_objects(spool)
    proxy.set_down(True)
    up = uploader(spool, proxy.endpoint, bucket, threading.Event())
    thread = run_in_background(up)
    wait_for(lambda: up.stats.retries >= 5)
    assert not up.stats.link_up and up.status().level == 1  # WARN: queueing
    assert len(spool.entries()) == 3  # nothing lost, nothing given up
    proxy.set_down(False)
    thread.join(60)
    assert up.stats.link_up
    assert_delivered_exactly(s3_client(proxy.endpoint), bucket, expected, spool)


def test_link_drops_in_the_middle_of_an_upload(spool: Spool, proxy: FaultProxy, bucket: str) -> None:
    expected = expected_objects(spool)
    up = uploader(spool, proxy.endpoint, bucket, threading.Event())
    thread = run_in_background(up)
    wait_for(lambda: up.stats.parts >= 4)
    proxy.set_down(True)
    wait_for(lambda: up.stats.retries >= 3)
    proxy.set_down(False)
    thread.join(60)
    assert_delivered_exactly(s3_client(proxy.endpoint), bucket, expected, spool)


def test_stop_while_link_is_down_leaves_the_spool_intact(spool: Spool, proxy: FaultProxy, bucket: str) -> None:
    proxy.set_down(True)
    stop = threading.Event()
    up = uploader(spool, proxy.endpoint, bucket, stop)
    thread = run_in_background(up)
    wait_for(lambda: up.stats.retries >= 2)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert [e.entry_id for e in spool.entries()] == ["clip0", "clip1", "clip2"]


def test_an_upload_created_but_never_answered_is_aborted(spool: Spool, proxy: FaultProxy, bucket: str) -> None:
    """A create_multipart_upload the server ran while the link lost its answer leaves an orphan
    upload of the same key (billed, never completed); the uploader aborts it once its own completes."""
    expected = expected_objects(spool)
    client = s3_client(proxy.endpoint)
    for key in expected:
        client.create_multipart_upload(Bucket=bucket, Key=key)  # the orphans a lost answer leaves
    up = uploader(spool, proxy.endpoint, bucket, threading.Event())
    thread = run_in_background(up)
    thread.join(60)
    assert_delivered_exactly(client, bucket, expected, spool)
