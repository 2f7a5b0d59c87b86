"""The per-cause event limiter: nothing lost, nothing flooded, the last state always told."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from av_edge.core.diagnostics import EventLimiter, Level, Status

MS = 1_000_000
pushes: st.SearchStrategy[list[tuple[int, str, Level]]] = st.lists(
    st.tuples(st.integers(0, 300), st.sampled_from(["aeb/watchdog", "aeb/released"]), st.sampled_from(list(Level))),
    max_size=60,
)


@given(pushes)
def test_every_event_is_sent_or_counted_and_each_cause_ends_on_its_last_state(
    steps: list[tuple[int, str, Level]],
) -> None:
    limiter, now, sent = EventLimiter(min_interval_s=1.0), 0, []
    last: dict[str, Status] = {}
    for k, (gap_ms, name, level) in enumerate(steps):
        now += gap_ms * MS
        event = Status(level, name, f"#{k}")
        limiter.push(event)
        last[name] = event
        sent += [(now, e) for e in limiter.drain(now)]
    sent += [(now + 1000 * MS, e) for e in limiter.drain(now + 1000 * MS)]  # held ones go out in time
    assert len(sent) + sum(int(e.values.get("suppressed", "0")) for _, e in sent) == len(steps)
    for name, event in last.items():
        assert [e for _, e in sent if e.name == name][-1].message == event.message
    for name in last:
        times = [(t, e) for t, e in sent if e.name == name]
        assert all(b - a >= 1000 * MS or e.level > p.level for (a, p), (b, e) in pairwise(times))


def test_a_first_event_goes_out_at_once_and_repeats_wait_for_the_interval() -> None:
    limiter = EventLimiter(min_interval_s=1.0)
    limiter.push(Status(Level.ERROR, "aeb/watchdog", "stale"))
    assert [e.message for e in limiter.drain(0)] == ["stale"]
    for k in range(5):
        limiter.push(Status(Level.OK if k % 2 == 0 else Level.ERROR, "aeb/watchdog", f"flap {k}"))
        assert limiter.drain(k * 100 * MS) == []
    (event,) = limiter.drain(1000 * MS)
    assert (event.message, event.values["suppressed"]) == ("flap 4", "4")
    limiter.push(Status(Level.ERROR, "aeb/watchdog", "stale again"))  # after an OK: an escalation, told at once
    assert [e.message for e in limiter.drain(1100 * MS)] == ["stale again"]
