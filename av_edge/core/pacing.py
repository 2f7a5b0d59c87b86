"""Pacing for anything that talks to the cloud: retry backoff with jitter and a bandwidth cap.

Shared by the clip uploader (up) and the model updater (down); pure, the caller brings time and randomness."""

from __future__ import annotations


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
