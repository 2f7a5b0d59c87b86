"""Upload queue policy: order, disk-quota eviction, retry backoff and the bandwidth token bucket."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SpoolEntry:
    entry_id: str
    priority: int
    created_ns: int
    size_bytes: int
    protected: bool  # an un-uploaded braking clip: never evicted unless configured
    uploaded: bool = False  # kept locally after upload (``delete_after_upload: false``): evicted first


def upload_order(entries: Iterable[SpoolEntry]) -> list[SpoolEntry]:
    """Entries still to upload: highest priority first, oldest first within a priority."""
    return sorted((e for e in entries if not e.uploaded), key=lambda e: (-e.priority, e.created_ns, e.entry_id))


def evictions(
    entries: Iterable[SpoolEntry], quota_bytes: int, incoming: SpoolEntry, evict_protected: bool
) -> tuple[list[SpoolEntry], bool]:
    """Entries to delete so ``incoming`` fits in ``quota_bytes``, and whether it then fits.

    Victims: already uploaded ones first, then lowest priority first, oldest first; never an un-uploaded
    one with a higher priority than ``incoming`` and never a protected one unless ``evict_protected``.
    When ``incoming`` cannot be made to fit the victims are still returned; the caller decides (drop
    ``incoming`` and keep them, or keep both).
    """
    candidates = [
        e for e in entries if e.uploaded or (e.priority <= incoming.priority and (evict_protected or not e.protected))
    ]
    candidates.sort(key=lambda e: (not e.uploaded, e.priority, e.created_ns, e.entry_id))
    used = sum(e.size_bytes for e in entries)
    victims: list[SpoolEntry] = []
    for victim in candidates:
        if used + incoming.size_bytes <= quota_bytes:
            break
        victims.append(victim)
        used -= victim.size_bytes
    return victims, used + incoming.size_bytes <= quota_bytes


def backoff_s(attempt: int, base_s: float, cap_s: float, uniform: float) -> float:
    """Exponential backoff with full jitter (AWS architecture blog): ``uniform`` in [0, 1) from the caller."""
    return uniform * min(cap_s, base_s * 2.0 ** min(attempt, 30))


class TokenBucket:
    """Bandwidth cap: ``rate`` bytes/s with bursts up to ``burst`` bytes. The caller sleeps the returned wait."""

    def __init__(self, rate_bytes_per_s: float, burst_bytes: float) -> None:
        self.rate = rate_bytes_per_s
        self.burst = burst_bytes
        self._tokens = burst_bytes
        self._time_ns: int | None = None

    def reserve(self, size_bytes: int, now_ns: int) -> float:
        """Take ``size_bytes`` (may go into debt); seconds to wait before sending them. 0 rate = no cap."""
        if self.rate <= 0:
            return 0.0
        if self._time_ns is not None:
            self._tokens = min(self.burst, self._tokens + (now_ns - self._time_ns) * 1e-9 * self.rate)
        self._time_ns = now_ns
        self._tokens -= size_bytes
        return max(0.0, -self._tokens / self.rate)
