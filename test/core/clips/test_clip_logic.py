"""Ring, triggers and clip cutting: pure, no clock, no ROS."""

from __future__ import annotations

import pytest

from av_edge.core.clips.cutter import ClipCutter
from av_edge.core.clips.ring import MessageRing, RecordedMessage
from av_edge.core.clips.triggers import (
    BrakeOnset,
    RateLimiter,
    Trigger,
    TriggerKind,
    TriggerRule,
    trigger_from_event,
)
from av_edge.core.diagnostics import Level, Status

S = 1_000_000_000


def msg(t_s: float, size: int = 10, topic: str = "/a") -> RecordedMessage:
    return RecordedMessage(topic, int(t_s * S), bytes(size))


def test_ring_ages_out_old_messages_without_counting_them_as_drops() -> None:
    ring = MessageRing(max_age_s=2.0, max_bytes=10_000)
    for i in range(50):
        ring.add(msg(i * 0.1))
    assert next(m.log_time_ns for m in ring.since(0)) == int(2.9 * S)
    assert ring.span_s() == pytest.approx(2.0)
    assert ring.evicted_for_bytes == 0
    assert ring.bytes == 10 * len(ring)


def test_ring_byte_bound_evicts_oldest_and_counts_it() -> None:
    ring = MessageRing(max_age_s=100.0, max_bytes=95)
    for i in range(20):
        ring.add(msg(i, size=10))
    assert len(ring) == 9 and ring.bytes == 90
    assert ring.evicted_for_bytes == 11 and ring.evicted_bytes_for_bytes == 110
    assert ring.since(0)[0].log_time_ns == 11 * S


def run_cutter(triggers: dict[float, Trigger], until_s: float, pre: float = 2.0, post: float = 1.0):
    """10 Hz messages from t=0; triggers at the given times; returns the finished clips and the
    messages handed out for each (by ``id`` of the clip), as the recorder streams them."""
    ring = MessageRing(pre + 1.0, 10**9)
    cutter = ClipCutter(pre, post, max_clip_s=10.0)
    clips = []
    streamed: dict[int, list[RecordedMessage]] = {}
    for i in range(int(until_s * 10) + 1):
        t = i / 10
        m = msg(t)
        ring.add(m)
        if cutter.on_message(m):
            streamed[id(cutter.open)].append(m)
        if round(t, 3) in triggers:
            handed = cutter.trigger(triggers[round(t, 3)], ring)
            streamed.setdefault(id(cutter.open), []).extend(handed)
        clips += cutter.poll(int(t * S))
    return clips, cutter, streamed


def trig(kind: TriggerKind, t_s: float) -> Trigger:
    return Trigger(kind, int(t_s * S), kind.value)


def test_clip_spans_pre_and_post_window() -> None:
    clips, cutter, streamed = run_cutter({5.0: trig(TriggerKind.BRAKING, 5.0)}, until_s=7.9)
    assert clips == [] and cutter.open is not None  # a later trigger could still overlap it
    clips += cutter.poll(int(8.1 * S))
    assert cutter.open is None
    (clip,) = clips
    times = [m.log_time_ns / S for m in streamed[id(clip)]]
    assert times[0] == pytest.approx(3.0) and times[-1] == pytest.approx(6.0)
    assert times == sorted(times) and len(times) == 31  # every message in [3, 6] s, in order, none missing
    assert len(set(times)) == 31 and clip.messages == 31  # none twice


def test_overlapping_triggers_merge_into_one_clip_with_all_reasons() -> None:
    # braking 1.5 s after the warning's window ended, but its pre-window reaches back into it
    clips, _, streamed = run_cutter(
        {4.0: trig(TriggerKind.WARNING, 4.0), 5.5: trig(TriggerKind.BRAKING, 5.5)}, until_s=9.0
    )
    (clip,) = clips
    assert [t.kind for t in clip.triggers] == [TriggerKind.WARNING, TriggerKind.BRAKING]
    times = [m.log_time_ns for m in streamed[id(clip)]]  # 5.1-5.5 s declined, then handed out by the extension
    assert times == [int(t / 10 * S) for t in range(20, 66)]


def test_separate_triggers_make_separate_clips() -> None:
    clips, _, _ = run_cutter({3.0: trig(TriggerKind.MANUAL, 3.0), 9.0: trig(TriggerKind.MANUAL, 9.0)}, until_s=13.0)
    assert [(c.start_ns / S, c.end_ns / S) for c in clips] == [(1.0, 4.0), (7.0, 10.0)]


def test_a_clip_never_grows_beyond_max_clip_s() -> None:
    ring = MessageRing(10.0, 10**9)
    cutter = ClipCutter(pre_s=2.0, post_s=2.0, max_clip_s=6.0)
    for t in (2.0, 4.0, 6.0, 8.0):
        cutter.trigger(trig(TriggerKind.WARNING, t), ring)
    clips = cutter.poll(100 * S)
    assert all(c.end_ns - c.start_ns <= 6 * S for c in clips)
    assert sum(len(c.triggers) for c in clips) == 4


def test_rate_limiter_suppresses_repeats_per_kind_and_counts_them() -> None:
    limiter = RateLimiter({k: TriggerRule(1, 5.0) for k in TriggerKind})
    assert limiter.allow(trig(TriggerKind.WARNING, 0.0))
    assert not limiter.allow(trig(TriggerKind.WARNING, 4.9))
    assert limiter.allow(trig(TriggerKind.BRAKING, 4.9))  # other kinds unaffected
    assert limiter.allow(trig(TriggerKind.WARNING, 5.0))
    assert limiter.suppressed[TriggerKind.WARNING] == 1 and limiter.accepted[TriggerKind.WARNING] == 2


def test_brake_onset_fires_once_per_braking_episode() -> None:
    onset = BrakeOnset(threshold_mps2=2.0)
    fired = [onset.update(a, i) for i, a in enumerate([0.0, -1.0, -5.0, -8.0, -4.0, 0.0, -3.0])]
    assert [i for i, t in enumerate(fired) if t is not None] == [2, 6]


@pytest.mark.parametrize(
    ("name", "level", "kind"),
    [
        ("aeb/emergency_braking", Level.ERROR, TriggerKind.BRAKING),
        ("aeb/forward_collision_warning", Level.WARN, TriggerKind.WARNING),
        ("fusion/camera_lidar_disagreement", Level.WARN, TriggerKind.DISAGREEMENT),
        ("aeb/watchdog", Level.ERROR, TriggerKind.WATCHDOG),
        ("aeb/watchdog", Level.OK, None),  # "recovered"
        ("aeb/released", Level.OK, None),
    ],
)
def test_events_map_to_trigger_kinds(name: str, level: Level, kind: TriggerKind | None) -> None:
    trigger = trigger_from_event(Status(level, name, "msg"), 7)
    assert (trigger.kind if trigger else None) == kind
