"""The latency-bounded collector: each LiDAR object list waits for camera detections of the same
moment at most ``timeout`` and goes out with whatever arrived, naming the cameras that did not.

Unlike message_filters' ApproximateTimeSynchronizer (waits for a full set, never reports a drop,
stalls on a lagging camera), a dead or stale camera is not waited for at all, and a late one costs at
most the timeout — the pattern of Autoware's per-stamp collector with ``msg3d_timeout_sec``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Payload = TypeVar("Payload")
Scan = TypeVar("Scan")


@dataclass(frozen=True)
class CameraSet(Generic[Payload]):
    stamp_ns: int
    payload: Payload


@dataclass
class Collected(Generic[Scan, Payload]):
    stamp_ns: int
    scan: Scan
    matched: dict[str, CameraSet[Payload]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # camera -> why (stale, late, none yet)
    added_ns: int = 0
    released_ns: int = 0


class FusionCollector(Generic[Scan, Payload]):
    def __init__(
        self, cameras: tuple[str, ...], tolerance_s: float, timeout_s: float, stale_s: float, history: int = 4
    ) -> None:
        """Detections match a scan when their stamps differ by at most ``tolerance_s``; a scan waits at
        most ``timeout_s`` (after it is added) for the rest; a camera silent for ``stale_s``, or one whose
        detections usually arrive after the timeout, is not waited for."""
        self.cameras = cameras
        self.tolerance_ns, self.timeout_ns, self.stale_ns = (int(s * 1e9) for s in (tolerance_s, timeout_s, stale_s))
        self._sets: dict[str, deque[CameraSet[Payload]]] = {c: deque(maxlen=history) for c in cameras}
        self._heard_ns: dict[str, int] = {}
        self._delays_ns: dict[str, deque[int]] = {c: deque(maxlen=8) for c in cameras}  # arrival - stamp
        self._pending: list[tuple[int, Collected[Scan, Payload]]] = []  # (added at, collection)

    def add_camera(self, camera: str, stamp_ns: int, payload: Payload, now_ns: int) -> None:
        self._sets[camera].append(CameraSet(stamp_ns, payload))
        self._heard_ns[camera] = now_ns
        self._delays_ns[camera].append(now_ns - stamp_ns)

    def add_scan(self, stamp_ns: int, scan: Scan, now_ns: int) -> None:
        self._pending.append((now_ns, Collected(stamp_ns, scan, added_ns=now_ns)))

    def release(self, now_ns: int) -> list[Collected[Scan, Payload]]:
        """Scans complete or out of time, oldest first; each names its matched and missing cameras."""
        out, keep = [], []
        for added_ns, collection in self._pending:
            waiting = []
            for camera in self.cameras:
                match = self._match(camera, collection.stamp_ns)
                if match is not None:
                    collection.matched[camera] = match
                elif self._stale(camera, now_ns):
                    collection.missing[camera] = "stale" if camera in self._heard_ns else "no detections yet"
                elif collection.stamp_ns + self.expected_delay_ns(camera) > added_ns + self.timeout_ns:
                    collection.missing[camera] = "late"  # its detections usually come after the timeout
                elif self._newest_stamp(camera) > collection.stamp_ns + self.tolerance_ns:
                    collection.missing[camera] = "dropped"  # a newer frame came first: this one is lost
                else:
                    waiting.append(camera)
            if waiting and now_ns - added_ns < self.timeout_ns:
                keep.append((added_ns, collection))
                continue
            for camera in waiting:
                collection.missing[camera] = "late"
            collection.released_ns = now_ns
            out.append(collection)
        self._pending = keep
        return out

    def expected_delay_ns(self, camera: str) -> int:
        """The camera's usual stamp -> detections delay (median of the last few): the expected offset."""
        delays = sorted(self._delays_ns[camera])
        return delays[len(delays) // 2] if delays else 0

    def deadline_ns(self) -> int | None:
        """When the oldest pending scan times out (for the caller's timer), or None."""
        return min((added + self.timeout_ns for added, _ in self._pending), default=None)

    def _match(self, camera: str, stamp_ns: int) -> CameraSet[Payload] | None:
        best = min(self._sets[camera], key=lambda s: abs(s.stamp_ns - stamp_ns), default=None)
        if best is None or abs(best.stamp_ns - stamp_ns) > self.tolerance_ns:
            return None
        return best

    def _newest_stamp(self, camera: str) -> int:
        return max((s.stamp_ns for s in self._sets[camera]), default=-(1 << 62))

    def _stale(self, camera: str, now_ns: int) -> bool:
        heard = self._heard_ns.get(camera)
        return heard is None or now_ns - heard > self.stale_ns
