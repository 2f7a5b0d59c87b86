"""Resumable S3 multipart upload of spool entries: retries with backoff, bandwidth cap, integrity check.

Works against any S3-compatible endpoint (AWS S3, MinIO, Ceph RGW). Credentials come from boto3's
standard chain (environment, shared files, instance role) and are never logged. Each file goes up as
a multipart upload whose id and finished parts are persisted after every part; a restart asks the
server (``ListParts``) what it already has and continues. An entry is deleted locally only after
every object's size, sha256 (object metadata) and multipart ETag match the local file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from av_edge.clips.spool import STATE_FILE, Spool, sha256_file, write_json_atomic
from av_edge.core.clips.policy import upload_order
from av_edge.core.diagnostics import Level, Status, fmt
from av_edge.core.pacing import TokenBucket, backoff_s


class StopRequestedError(Exception):
    """The uploader was asked to stop while waiting."""


class IntegrityError(RuntimeError):
    """The stored object does not match the local file."""


@dataclass(frozen=True)
class UploadSettings:
    bucket: str
    prefix: str
    vehicle_id: str
    part_size_bytes: int
    bandwidth_bytes_per_s: float  # 0 = no cap
    burst_bytes: float
    retry_base_s: float
    retry_cap_s: float
    delete_after_upload: bool


@dataclass
class UploadStats:
    entries: int = 0
    bytes: int = 0
    parts: int = 0
    resumed_parts: int = 0
    retries: int = 0
    link_up: bool = True
    last_error: str = ""
    busy_s: float = 0.0
    uploaded: list[str] = field(default_factory=list)


def make_client(endpoint_url: str | None, region: str, connect_timeout_s: float, read_timeout_s: float) -> Any:
    """A boto3 S3 client with our own retry loop (botocore's is off) and short timeouts."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},  # one try; our loop retries
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        s3={"addressing_style": "path"},
    )
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


class Uploader:
    def __init__(
        self,
        client: Any,
        spool: Spool,
        settings: UploadSettings,
        log: Callable[[str], None],
        wait: Callable[[float], bool],
        rng: random.Random | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        """``wait(seconds)`` sleeps and returns True when the uploader should stop; ``warn`` logs
        failures (default: ``log``)."""
        self.client = client
        self.spool = spool
        self.settings = settings
        self.log = log
        self.warn = warn or log
        self.wait = wait
        self.rng = rng or random.Random()
        self.bucket = TokenBucket(settings.bandwidth_bytes_per_s, settings.burst_bytes)
        self.stats = UploadStats()

    def status(self) -> Status:
        """Queue and link health for ``/diagnostics``: WARN while the endpoint is unreachable."""
        queue = self.spool.entries()
        stats = self.stats
        values = {
            "queue.entries": str(len(queue)),
            "queue.mib": fmt(sum(e.size_bytes for e in queue) / 2**20),
            "queue.protected": str(sum(e.protected for e in queue)),
            "uploaded.entries": str(stats.entries),
            "uploaded.mib": fmt(stats.bytes / 2**20),
            "uploaded.mb_per_s": fmt(stats.bytes / 1e6 / stats.busy_s if stats.busy_s else 0.0),
            "parts.resumed": str(stats.resumed_parts),
            "retries": str(stats.retries),
            "link_up": str(stats.link_up),
            "last_error": stats.last_error,
        }
        level = Level.OK if stats.link_up else Level.WARN
        message = "uploading" if stats.link_up else f"endpoint unreachable, queueing ({stats.last_error})"
        return Status(level, "av_edge: clip_uploader", message, "clip_uploader", values)

    def key(self, entry_id: str, relative: str = "") -> str:
        """``<prefix>/<vehicle_id>/<entry_id>/<relative>`` (the entry's folder when ``relative`` is empty)."""
        return "/".join((self.settings.prefix, self.settings.vehicle_id, entry_id, relative))

    def run(self, idle_s: float, until_empty: bool = False) -> None:
        """Upload until stopped (``wait`` says so) or, with ``until_empty``, until the spool is empty."""
        failures = 0
        while True:
            try:
                if self.upload_next() is None and (until_empty or self.wait(idle_s)):
                    return
                failures = 0
            except StopRequestedError:
                return
            except (IntegrityError, OSError) as err:  # OSError: e.g. the entry was removed meanwhile
                self.warn(f"upload of an entry failed ({err}); trying again")
                failures += 1
                delay = backoff_s(failures, self.settings.retry_base_s, self.settings.retry_cap_s, self.rng.random())
                if self.wait(delay):
                    return

    def upload_next(self) -> str | None:
        """Upload the most urgent spool entry; its id, or None when the spool is empty."""
        queue = upload_order(self.spool.entries())
        if not queue:
            return None
        entry_id = queue[0].entry_id
        started = time.monotonic()
        try:
            with self.spool.claim(entry_id) as present:
                if present:  # else evicted while we waited for the claim
                    self.upload_entry(entry_id)
        finally:
            self.stats.busy_s += time.monotonic() - started
        return entry_id

    def upload_entry(self, entry_id: str) -> None:
        base = self.spool.path(entry_id)
        state_path = base / STATE_FILE
        state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.is_file() else {"files": {}}
        for relative in self.spool.payload_files(entry_id):
            record = state["files"].setdefault(relative.as_posix(), {})
            if not record.get("done"):
                self._upload_file(
                    base / relative, self.key(entry_id, relative.as_posix()), record, lambda: _save(state_path, state)
                )
        self.stats.entries += 1
        self.stats.uploaded.append(entry_id)
        if self.settings.delete_after_upload:
            self.spool.remove(entry_id)
        else:
            state["done"] = True
            _save(state_path, state)
        self.log(f"uploaded {entry_id} to s3://{self.settings.bucket}/{self.key(entry_id)}")

    # -- one file ------------------------------------------------------------------------------------

    def _upload_file(self, path: Path, key: str, record: dict[str, Any], save: Callable[[], None]) -> None:
        size = path.stat().st_size
        if record.get("size") != size or "sha256" not in record:
            record.clear()
            record.update(size=size, sha256=sha256_file(path), part_size=self.settings.part_size_bytes, parts={})
            save()
        part_size = int(record["part_size"])
        n_parts = max(1, -(-size // part_size))
        md5s = [
            hashlib.md5(_read_part(path, n, part_size), usedforsecurity=False).digest() for n in range(1, n_parts + 1)
        ]
        expected_etag = f"{hashlib.md5(b''.join(md5s), usedforsecurity=False).hexdigest()}-{n_parts}"
        if self._stored_matches(key, record, expected_etag):  # completed before a crash lost the record
            record["done"] = True
            save()
            return
        parts: dict[str, str] = record["parts"]
        if record.get("upload_id"):
            parts.clear()
            parts.update(self._server_parts(key, record, md5s))
            save()
        if not record.get("upload_id"):
            response = self._call(
                "create_multipart_upload", Bucket=self.settings.bucket, Key=key, Metadata={"sha256": record["sha256"]}
            )
            record.update(upload_id=response["UploadId"], parts={})
            parts = record["parts"]
            save()
        for n in range(1, n_parts + 1):
            if str(n) in parts:
                continue
            chunk = _read_part(path, n, part_size)
            self._throttle(len(chunk))
            response = self._call(
                "upload_part",
                Bucket=self.settings.bucket,
                Key=key,
                UploadId=record["upload_id"],
                PartNumber=n,
                Body=chunk,
                ContentMD5=base64.b64encode(md5s[n - 1]).decode(),
            )
            parts[str(n)] = response["ETag"]
            self.stats.parts += 1
            self.stats.bytes += len(chunk)
            save()
        self._call(
            "complete_multipart_upload",
            Bucket=self.settings.bucket,
            Key=key,
            UploadId=record["upload_id"],
            MultipartUpload={"Parts": [{"PartNumber": int(n), "ETag": parts[n]} for n in sorted(parts, key=int)]},
        )
        if not self._stored_matches(key, record, expected_etag):
            record.clear()  # start over: the stored object is not our file
            save()
            raise IntegrityError(f"s3://{self.settings.bucket}/{key} does not match {path} after upload")
        self._abort_orphans(key, record["upload_id"])
        record["done"] = True
        save()

    def _abort_orphans(self, key: str, ours: str) -> None:
        """Abort other multipart uploads of ``key``: a create the server ran but whose answer the link
        lost leaves one behind (storage billed, never completed), found by CI's link-drop test."""
        response = self._call("list_multipart_uploads", Bucket=self.settings.bucket, Prefix=key)
        for upload in response.get("Uploads", []):
            if upload["Key"] == key and upload["UploadId"] != ours:
                self._call("abort_multipart_upload", Bucket=self.settings.bucket, Key=key, UploadId=upload["UploadId"])

    def _stored_matches(self, key: str, record: dict[str, Any], expected_etag: str) -> bool:
        try:
            head = self._call("head_object", Bucket=self.settings.bucket, Key=key, missing_ok=True)
        except _MissingError:
            return False
        return bool(
            head["ContentLength"] == record["size"]
            and head.get("Metadata", {}).get("sha256") == record["sha256"]
            and head["ETag"].strip('"') == expected_etag
        )

    def _server_parts(self, key: str, record: dict[str, Any], md5s: list[bytes]) -> dict[str, str]:
        """Parts the server holds for our upload id that match the local bytes (empty id if it forgot it)."""
        try:
            response = self._call(
                "list_parts", Bucket=self.settings.bucket, Key=key, UploadId=record["upload_id"], missing_ok=True
            )
        except _MissingError:
            record["upload_id"] = None
            return {}
        found = {}
        for part in response.get("Parts", []):
            n = int(part["PartNumber"])
            if n <= len(md5s) and part["ETag"].strip('"') == md5s[n - 1].hex():
                found[str(n)] = part["ETag"]
        self.stats.resumed_parts += len(found)
        return found

    def _throttle(self, size: int) -> None:
        delay = self.bucket.reserve(size, time.monotonic_ns())
        if delay > 0 and self.wait(delay):
            raise StopRequestedError

    def _call(self, operation: str, missing_ok: bool = False, **kwargs: Any) -> Any:
        """One S3 call, retried with backoff and jitter until it succeeds or the uploader stops."""
        attempt = 0
        while True:
            try:
                response = getattr(self.client, operation)(**kwargs)
            except ClientError as err:
                code = str(err.response.get("Error", {}).get("Code", ""))
                if missing_ok and code in ("404", "NoSuchKey", "NoSuchUpload", "NotFound"):
                    raise _MissingError from None
                problem = f"{operation}: {code} {err.response.get('Error', {}).get('Message', '')}".strip()
            except BotoCoreError as err:
                problem = f"{operation}: {type(err).__name__}: {err}"
            else:
                if not self.stats.link_up:
                    self.log("S3 endpoint reachable again; resuming")
                self.stats.link_up = True
                return response
            delay = backoff_s(attempt, self.settings.retry_base_s, self.settings.retry_cap_s, self.rng.random())
            if self.stats.link_up or attempt == 0:
                self.warn(f"upload failed ({problem}); retrying with backoff")
            self.stats.link_up = False
            self.stats.last_error = problem
            self.stats.retries += 1
            attempt += 1
            if self.wait(delay):
                raise StopRequestedError


class _MissingError(Exception):
    pass


def _read_part(path: Path, number: int, part_size: int) -> bytes:
    with path.open("rb") as f:
        f.seek((number - 1) * part_size)
        return f.read(part_size)


def _save(path: Path, state: dict[str, Any]) -> None:
    write_json_atomic(path, state)
