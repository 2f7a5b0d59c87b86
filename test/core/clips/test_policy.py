"""Upload order, quota eviction, backoff and the bandwidth bucket."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from av_edge.core.clips.policy import SpoolEntry, evictions, upload_order
from av_edge.core.pacing import TokenBucket, backoff_s


def entry(name: str, priority: int, created: int, size: int = 10, protected: bool = False) -> SpoolEntry:
    return SpoolEntry(name, priority, created, size, protected)


def test_upload_order_is_priority_then_age() -> None:
    entries = [entry("w1", 50, 1), entry("b2", 100, 2), entry("s", 0, 0), entry("b1", 100, 1)]
    assert [e.entry_id for e in upload_order(entries)] == ["b1", "b2", "w1", "s"]


def test_eviction_takes_lowest_priority_oldest_first() -> None:
    queued = [entry("warn_old", 50, 1), entry("warn_new", 50, 2), entry("summary", 0, 3), entry("brake", 100, 0)]
    victims, fits = evictions(queued, quota_bytes=40, incoming=entry("new", 50, 9, size=20), evict_protected=False)
    assert fits and [v.entry_id for v in victims] == ["summary", "warn_old"]


def test_braking_clips_are_never_evicted_unless_configured() -> None:
    queued = [entry(f"brake{i}", 100, i, protected=True) for i in range(4)]
    incoming = entry("brake9", 100, 9, protected=True)
    victims, fits = evictions(queued, 40, incoming, evict_protected=False)
    assert victims == [] and not fits
    victims, fits = evictions(queued, 40, incoming, evict_protected=True)
    assert fits and [v.entry_id for v in victims] == ["brake0"]


def test_a_lower_priority_clip_never_evicts_a_higher_one() -> None:
    victims, fits = evictions([entry("brake", 100, 0, size=30)], 35, entry("warn", 50, 1), evict_protected=True)
    assert not fits and victims == []


@given(
    st.lists(st.tuples(st.integers(0, 100), st.integers(1, 50), st.booleans()), max_size=20),
    st.integers(1, 100),
    st.integers(0, 100),
    st.integers(1, 500),
)
def test_eviction_properties(specs: list[tuple[int, int, bool]], size: int, priority: int, quota: int) -> None:
    queued = [entry(f"e{i}", p, i, s, prot) for i, (p, s, prot) in enumerate(specs)]
    incoming = entry("in", priority, 999, size)
    victims, fits = evictions(queued, quota, incoming, evict_protected=False)
    assert all(not v.protected and v.priority <= priority for v in victims)
    remaining = sum(e.size_bytes for e in queued) - sum(v.size_bytes for v in victims)
    assert fits == (remaining + size <= quota)
    if fits and victims:  # no needless eviction: without the last victim it would not have fitted
        assert remaining + victims[-1].size_bytes + size > quota


def test_backoff_grows_exponentially_up_to_the_cap_with_full_jitter() -> None:
    assert [backoff_s(a, 0.5, 8.0, 1.0) for a in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_s(3, 0.5, 8.0, 0.25) == pytest.approx(1.0)
    assert backoff_s(10_000, 0.5, 8.0, 0.999) < 8.0  # no overflow


def test_token_bucket_caps_the_average_rate() -> None:
    bucket = TokenBucket(rate_bytes_per_s=1000.0, burst_bytes=500.0)
    now, sent = 0, 0
    for _ in range(20):
        wait = bucket.reserve(250, now)
        now += int(wait * 1e9)
        sent += 250
    assert (sent - 500) / (now / 1e9) == pytest.approx(1000.0, rel=0.02)  # beyond the burst
    assert TokenBucket(0.0, 0.0).reserve(10**9, 0) == 0.0  # 0 = uncapped
