"""What a vehicle did in a period, for the fleet: distance, AEB activations and warnings, events,
latency per stage, time each sensor or stage was degraded, and which model it ran.

Fed by the clip recorder from ``/av_edge/events``, ``/diagnostics`` and odometry; written with each
periodic summary (one JSON line next to the clips in S3) and reset. ``av-edge fleet report`` reads
the lines with DuckDB: activations per 1000 km by model version, latency by version, and so on.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from av_edge.core.diagnostics import Level, Status

SCHEMA = 2
MAX_GAP_S = 5.0  # a status or speed older than this does not stretch over the gap
MAX_SPEED_MPS = 100.0  # faster than any road vehicle: a corrupt odometry message
#: (status name, value key) -> summary key: the model state the perception node and updater report.
MODEL_VALUES = {
    ("av_edge: camera detection", "detector.model"): "model",
    ("av_edge: camera detection", "update.candidate"): "candidate",
    ("av_edge: model_updater", "current"): "installed",
    ("av_edge: model_updater", "wanted"): "wanted",
    ("av_edge: model_updater", "rejected"): "rejected",
    ("av_edge: model_updater", "link_up"): "repository_link_up",
}
SHADOW_PREFIX = "shadow."


class DriveLog:
    def __init__(self) -> None:
        self.distance_m = 0.0
        self.events: Counter[str] = Counter()
        self.degraded_s: defaultdict[str, float] = defaultdict(float)
        self.latency_p99_ms: dict[str, float] = {}
        self.model: dict[str, str] = {}
        self.shadow: dict[str, str] = {}
        self._speed: tuple[float, int] | None = None
        self._status_seen: dict[str, int] = {}

    def on_speed(self, speed_mps: float, now_ns: int) -> None:
        """Distance by the trapezoid rule between odometry messages (a gap over MAX_GAP_S adds nothing;
        a speed that is not finite or beyond MAX_SPEED_MPS is a bad message and skipped)."""
        if not math.isfinite(speed_mps) or abs(speed_mps) > MAX_SPEED_MPS:
            return
        if self._speed is not None:
            dt = (now_ns - self._speed[1]) * 1e-9
            if 0.0 < dt <= MAX_GAP_S:
                self.distance_m += 0.5 * (abs(speed_mps) + abs(self._speed[0])) * dt
        self._speed = (speed_mps, now_ns)

    def on_event(self, event: Status) -> None:
        self.events[event.name] += 1

    def on_status(self, status: Status, now_ns: int) -> None:
        """A ``/diagnostics`` status: degraded time (WARN and worse, since its previous report),
        the stage's latency p99, and the model state."""
        seen = self._status_seen.get(status.name)
        self._status_seen[status.name] = now_ns
        if seen is not None and status.level >= Level.WARN and 0 < now_ns - seen <= MAX_GAP_S * 1e9:
            self.degraded_s[status.name] += (now_ns - seen) * 1e-9
        if "latency_p99_ms" in status.values and status.hardware_id:
            self.latency_p99_ms[status.hardware_id] = float(status.values["latency_p99_ms"])
        for key, value in status.values.items():
            if (status.name, key) in MODEL_VALUES and value:
                self.model[MODEL_VALUES[(status.name, key)]] = value
            elif key.startswith(SHADOW_PREFIX):
                self.shadow[key.removeprefix(SHADOW_PREFIX)] = value

    def take(self) -> dict[str, Any]:
        """The period's record, and a fresh period. Every column a fleet query filters, groups or
        aggregates is flat and always present (null when unknown), so a JSON reader infers one schema."""
        shadow = self.shadow
        record = {
            "schema": SCHEMA,
            "distance_km": round(self.distance_m / 1000.0, 4),
            "model_version": self.model.get("model"),
            "updater_installed": self.model.get("installed"),
            "updater_wanted": self.model.get("wanted"),
            "updater_rejected": self.model.get("rejected"),
            "aeb_activations": self.events["aeb/emergency_braking"],
            "aeb_warnings": self.events["aeb/forward_collision_warning"],
            "aeb_latency_p99_ms": self.latency_p99_ms.get("aeb"),
            "perception_latency_p99_ms": self.latency_p99_ms.get("perception"),
            "shadow_candidate": shadow.get("candidate"),
            "shadow_recall_vs_live": _number(shadow.get("recall_vs_live")),
            "shadow_precision_vs_live": _number(shadow.get("precision_vs_live")),
            "shadow_class_agreement": _number(shadow.get("class_agreement")),
            "degraded_s_total": round(sum(self.degraded_s.values()), 1),
            # detail (nested: per-engine syntax differs, so the portable queries leave them alone)
            "events": dict(self.events),
            "degraded_s": {k: round(v, 1) for k, v in self.degraded_s.items()},
            "stage_latency_p99_ms": dict(self.latency_p99_ms),
            "model_state": dict(self.model),
        }
        self.distance_m = 0.0
        self.events.clear()
        self.degraded_s.clear()
        self.shadow.clear()
        return record


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
