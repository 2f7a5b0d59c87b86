"""The clip recorder's logic at message level: ring, triggers, cutting, spooling, summaries (no rclpy).

The node hands it serialized messages and triggers; clips stream to the spool on the writer's
thread (:mod:`av_edge.clips.writer`) so disk I/O never stalls the executor.
"""

from __future__ import annotations

import functools
import json
import platform
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import av_edge
from av_edge.clips.journal import ClipJournal
from av_edge.clips.spool import Spool
from av_edge.clips.writer import ClipEntry, ClipWriter
from av_edge.core.clips.config import RecorderConfig
from av_edge.core.clips.cutter import ClipCutter
from av_edge.core.clips.drive_log import DriveLog
from av_edge.core.clips.ring import MessageRing, RecordedMessage
from av_edge.core.clips.triggers import BrakeOnset, RateLimiter, Trigger, TriggerKind, trigger_from_event
from av_edge.core.diagnostics import Level, Status, fmt

RING_MARGIN_S = 1.0  # the ring keeps this much more than the pre-window


def entry_name(kind: str, time_ns: int, sequence: int) -> str:
    """``20261127T004330.123Z_braking_0007``: sorts by time, says why."""
    stamp = datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3]
    return f"{stamp}Z_{kind}_{sequence:04d}"


class ClipRecorder:
    def __init__(self, config: RecorderConfig, spool: Spool, log: Callable[[str], None]) -> None:
        self.config = config
        self.spool = spool
        self.log = log
        self.ring = MessageRing(config.pre_trigger_s + RING_MARGIN_S, config.ring_max_mib << 20)
        self.cutter = ClipCutter(config.pre_trigger_s, config.post_trigger_s, config.max_clip_s)
        self.rules = config.triggers.rules()
        self.limiter = RateLimiter(self.rules)
        self.brake_onset = BrakeOnset(config.triggers.brake_threshold_mps2)
        self.msgtypes: dict[str, str] = {}
        self.received: Counter[str] = Counter()
        self.journal = ClipJournal(spool.root)
        self.lost_in_restart = 0
        self.drive = DriveLog()
        self._scores: list[np.ndarray] = []
        self._sequence = 0
        # the queue may hold as much as the ring: past that the disk cannot keep up anyway
        self.writer = ClipWriter(spool, self.msgtypes, log, config.ring_max_mib << 20, config.bag)

    # -- inputs ----------------------------------------------------------------------------------------

    def add_topic(self, topic: str, msgtype: str) -> None:
        self.msgtypes[topic] = msgtype

    def on_message(self, topic: str, data: bytes, now_ns: int) -> None:
        message = RecordedMessage(topic, now_ns, bytes(data))
        self.received[topic] += 1
        self.ring.add(message)
        if self.cutter.on_message(message):
            assert self.cutter.open is not None
            self.writer.write(self.cutter.open, (message,))

    def on_brake_request(self, accel_mps2: float, now_ns: int) -> None:
        trigger = self.brake_onset.update(accel_mps2, now_ns)
        if trigger is not None:
            self.on_trigger(trigger)

    def on_event(self, event: Status, now_ns: int) -> None:
        self.drive.on_event(event)
        trigger = trigger_from_event(event, now_ns)
        if trigger is not None:
            self.on_trigger(trigger)

    def on_manual(self, reason: str, now_ns: int) -> tuple[bool, str]:
        trigger = Trigger(TriggerKind.MANUAL, now_ns, reason or "manual")
        if not self.on_trigger(trigger):
            return False, f"rate-limited: one manual clip per {self.rules[TriggerKind.MANUAL].min_interval_s} s"
        return True, f"clip until {self.config.post_trigger_s:.1f} s from now"

    def on_trigger(self, trigger: Trigger) -> bool:
        if not self.limiter.allow(trigger):
            return False
        self.log(f"clip trigger {trigger.kind.value}: {trigger.reason}")
        before = self.cutter.open
        messages = self.cutter.trigger(trigger, self.ring)
        clip = self.cutter.open
        assert clip is not None
        if clip is not before:  # a new clip
            self.journal.opened(clip.start_ns, trigger)
            self.writer.open(clip)
        self.writer.write(clip, messages)
        return True

    def recover(self, warn: Callable[[str], None]) -> int:
        """At start-up: report the clips a previous process died holding (their window was in memory);
        returns how many."""
        for marker in self.journal.orphans():
            self.lost_in_restart += 1
            warn(f"clip lost: the recorder stopped during its window ({json.dumps(marker, sort_keys=True)})")
        return self.lost_in_restart

    def on_status(self, status: Status, now_ns: int) -> None:
        """A ``/diagnostics`` status: latency, degraded time and model state for the summary."""
        self.drive.on_status(status, now_ns)

    def on_speed(self, speed_mps: float, now_ns: int) -> None:
        self.drive.on_speed(speed_mps, now_ns)

    def on_scores(self, scores: np.ndarray) -> None:
        self._scores.append(np.asarray(scores, dtype=np.float32))

    # -- outputs ---------------------------------------------------------------------------------------

    def poll(self, now_ns: int) -> None:
        """Close the clips no later trigger can reach any more: the writer publishes them."""
        for clip in self.cutter.poll(now_ns):
            self._sequence += 1
            kind = max(clip.triggers, key=lambda t: self.rules[t.kind].priority).kind
            meta: dict[str, Any] = {
                "kind": "clip",
                "vehicle_id": self.config.vehicle_id,
                "window_ns": [clip.start_ns, clip.end_ns],
                "pre_trigger_s": self.config.pre_trigger_s,
                "post_trigger_s": self.config.post_trigger_s,
                "triggers": [{"kind": t.kind.value, "time_ns": t.time_ns, "reason": t.reason} for t in clip.triggers],
                "versions": {
                    "av_edge": av_edge.__version__,
                    "python": platform.python_version(),
                    "models": list(self.config.model_versions),
                },
            }
            entry = ClipEntry(
                name=entry_name(kind.value, clip.first.time_ns, self._sequence),
                kind=kind.value,
                priority=self.rules[kind].priority,
                protected=kind is TriggerKind.BRAKING,
                meta=meta,
                done=functools.partial(self.journal.closed, clip.start_ns),  # in the spool, refused or failed
            )
            self.writer.close(clip, entry)

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait for clips being written (shutdown, tests)."""
        self.writer.flush(timeout_s)

    def close(self) -> None:
        self.writer.stop()

    @property
    def clips_written(self) -> Counter[str]:
        return self.writer.written

    @property
    def write_failures(self) -> int:
        return self.writer.failures

    def write_summary(self, now_ns: int, period_s: float, uploaded: int | None = None) -> Path | None:
        """The periodic JSON summary as a low-priority spool entry; ``uploaded``: entries the uploader
        in this process has sent so far (None when it runs elsewhere)."""
        scores = np.concatenate(self._scores) if self._scores else np.zeros(0, np.float32)
        self._scores = []
        confidence: dict[str, float] = {"count": float(scores.size)}
        if scores.size:
            p10, p50, p90 = np.percentile(scores, [10, 50, 90]).round(3).tolist()
            confidence.update(p10=p10, p50=p50, p90=p90)
        summary = {
            "vehicle_id": self.config.vehicle_id,
            "time_ns": now_ns,
            "period_s": period_s,
            "package_version": av_edge.__version__,
            **self.drive.take(),
            "messages_received": dict(self.received),
            "triggers_accepted": {k.value: n for k, n in self.limiter.accepted.items()},
            "triggers_suppressed": {k.value: n for k, n in self.limiter.suppressed.items()},
            "clips_written": dict(self.clips_written),
            "entries_uploaded_total": uploaded,
            "ring_evicted_for_bytes": self.ring.evicted_for_bytes,
            "spool_evicted": len(self.spool.evicted),
            "spool_refused": len(self.spool.refused),
            "detection_confidence": confidence,
        }
        self._sequence += 1
        name = entry_name("summary", now_ns, self._sequence)
        payload = json.dumps(summary, sort_keys=True).encode() + b"\n"  # one JSON line: DuckDB, Athena, Spark
        return self.spool.add(
            name, 0, now_ns, False, {"kind": "summary"}, lambda tmp: _write_bytes(tmp / "summary.json", payload)
        )

    def status(self, now_ns: int) -> Status:
        problems: list[tuple[Level, str]] = []
        missing = [t for t in self.config.topics if t not in self.msgtypes]
        if missing:
            problems.append((Level.WARN, f"not yet published: {', '.join(missing)}"))
        if self.ring.evicted_for_bytes:
            problems.append((Level.WARN, f"ring over {self.config.ring_max_mib} MiB: pre-window shortened"))
        if self.write_failures:
            problems.append((Level.ERROR, f"{self.write_failures} clips could not be written"))
        if self.writer.dropped_messages:
            problems.append(
                (Level.WARN, f"{self.writer.dropped_messages} messages dropped from clips: the disk fell behind")
            )
        if self.lost_in_restart:
            problems.append((Level.WARN, f"{self.lost_in_restart} clips lost: the recorder restarted during them"))
        if self.spool.evicted or self.spool.refused:
            problems.append(
                (Level.WARN, f"disk quota: {len(self.spool.evicted)} clips evicted, {len(self.spool.refused)} refused")
            )
        values = {
            "ring.messages": str(len(self.ring)),
            "ring.mib": fmt(self.ring.bytes / 2**20),
            "ring.span_s": fmt(self.ring.span_s()),
            "ring.evicted_for_bytes": str(self.ring.evicted_for_bytes),
            "clip.open": str(self.cutter.open is not None),
            "spool.evicted": str(len(self.spool.evicted)),
            "spool.refused": str(len(self.spool.refused)),
            "clips.write_failures": str(self.write_failures),
            "clips.messages_dropped": str(self.writer.dropped_messages),
            "clips.lost_in_restart": str(self.lost_in_restart),
        }
        values.update({f"clips.{kind}": str(n) for kind, n in sorted(self.clips_written.items())})
        values.update({f"triggers.suppressed.{k.value}": str(n) for k, n in self.limiter.suppressed.items() if n})
        level = max((lvl for lvl, _ in problems), default=Level.OK)
        message = "; ".join(m for _, m in problems) or "recording"
        return Status(level, "av_edge: clip_recorder", message, "clip_recorder", values)


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)
