"""Resumable, paced download of one signed target: ranged GETs appended to a partial file.

The partial file is the progress: a process killed mid-download (``kill -9`` included) resumes from
its size on the next start. Nothing is trusted until the caller checks the whole file's length and
hashes against the signed target; a server that offers another size is refused before a byte lands.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import urllib3

from av_edge.core.errors import AvEdgeError
from av_edge.core.pacing import TokenBucket

PAUSE_POLL_S = 0.2


class DownloadError(AvEdgeError):
    """The server's object does not match the signed target, or it could not be fetched."""


class StopDownload(Exception):  # noqa: N818 - a request, not a fault
    """The owner asked the download to stop (shutdown); the partial file is kept."""


@dataclass(frozen=True)
class Fetched:
    resumed_from: int  # bytes already in the partial file at the start
    fetched: int  # bytes fetched this time
    paused_s: float


@dataclass
class RangedDownload:
    http: urllib3.PoolManager
    chunk_bytes: int
    bucket: TokenBucket
    paused: Callable[[], bool] = lambda: False  # braking or recording a clip: wait
    stopping: Callable[[], bool] = lambda: False
    sleep: Callable[[float], None] = time.sleep
    clock_ns: Callable[[], int] = time.monotonic_ns

    def fetch(self, url: str, length: int, partial: Path) -> Fetched:
        """Bring ``partial`` to ``length`` bytes from ``url``; DownloadError when the server disagrees."""
        partial.parent.mkdir(parents=True, exist_ok=True)
        offset = partial.stat().st_size if partial.exists() else 0
        if offset > length:
            partial.unlink()
            offset = 0
        start, paused_s = offset, 0.0
        with partial.open("ab") as out:
            while offset < length:
                if self.stopping():
                    raise StopDownload
                if self.paused():
                    self.sleep(PAUSE_POLL_S)
                    paused_s += PAUSE_POLL_S
                    continue
                end = min(offset + self.chunk_bytes, length) - 1
                body = self._get(url, offset, end, length)
                out.write(body)
                out.flush()
                offset += len(body)
                self.sleep(self.bucket.reserve(len(body), self.clock_ns()))
            os.fsync(out.fileno())
        return Fetched(start, offset - start, paused_s)

    def _get(self, url: str, first: int, last: int, length: int) -> bytes:
        try:
            response = self.http.request("GET", url, headers={"Range": f"bytes={first}-{last}"}, preload_content=True)
        except urllib3.exceptions.HTTPError as err:
            raise DownloadError(f"{url}: {type(err).__name__}: {err}") from None
        if response.status == 416:
            raise DownloadError(f"{url}: the server's object is shorter than the signed length {length} (truncated)")
        if response.status != 206:
            raise DownloadError(f"{url}: HTTP {response.status} for bytes {first}-{last}")
        total = _content_range_total(response.headers.get("Content-Range", ""))
        if total != length:
            raise DownloadError(f"{url}: the server's object is {total} bytes, the signed target {length}")
        body = bytes(response.data)
        if len(body) != last - first + 1:
            raise DownloadError(f"{url}: {len(body)} bytes for range {first}-{last}")
        return body


def _content_range_total(header: str) -> int | None:
    match = re.fullmatch(r"bytes \d+-\d+/(\d+)", header.strip())
    return int(match.group(1)) if match else None
