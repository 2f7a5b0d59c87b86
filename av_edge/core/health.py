"""Input and output health of a node (like openpilot's SubMaster): rates, staleness, latency, rejections.

Every node keeps one; its ``status`` becomes the node's entry in ``/diagnostics``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from av_edge.core.diagnostics import Level, Status, fmt, worst
from av_edge.core.latency import LatencyTracker, RateTracker

LOG_EVERY_NS = 1_000_000_000
REJECTION_WINDOW_NS = 5_000_000_000  # a rejection keeps the status WARN this long (counters stay forever)


class NodeHealth:
    def __init__(
        self,
        name: str,
        inputs: Mapping[str, float],
        latency_budget_ms: float,
        latency_window: int,
        optional: Iterable[str] = (),
    ) -> None:
        """``inputs`` maps each input's name to the age (s) beyond which it counts as stale; a stale
        ``optional`` input is a warning (the node degrades), any other an error."""
        self.name = name
        self.timeouts = dict(inputs)
        self.optional = frozenset(optional)
        self.rates = {key: RateTracker() for key in inputs}
        self.latency = LatencyTracker(latency_window, latency_budget_ms)
        self.rejected: dict[str, int] = {}
        self.lost: dict[str, int] = {}  # input -> messages the middleware dropped before they reached us
        self._lost_ns: dict[str, int] = {}
        self._logged_ns: dict[str, int] = {}
        self._rejected_ns: dict[str, int] = {}  # reason -> last rejection

    def on_input(self, key: str, now_ns: int) -> None:
        self.rates[key].add(now_ns)

    def age_s(self, key: str, now_ns: int) -> float:
        return self.rates[key].age_s(now_ns)

    def fresh(self, key: str, now_ns: int) -> bool:
        return self.age_s(key, now_ns) <= self.timeouts[key]

    def on_rejected(self, reason: str, now_ns: int) -> bool:
        """Count a rejected input; True when this reason should be logged now (once a second per reason,
        so a flood of one kind cannot hide another)."""
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        self._rejected_ns[reason] = now_ns
        return self.should_log(reason, now_ns)

    def on_lost(self, key: str, count: int, now_ns: int) -> None:
        """Count ``count`` messages of input ``key`` lost in transport (the middleware's sample-lost
        event: a best-effort sample dropped, a history overrun); the status warns while recent."""
        self.lost[key] = self.lost.get(key, 0) + count
        self._lost_ns[key] = now_ns

    def should_log(self, key: str, now_ns: int) -> bool:
        """True at most once a second per ``key``, so a flood of one kind cannot hide another."""
        last = self._logged_ns.get(key)
        if last is not None and now_ns - last < LOG_EVERY_NS:
            return False
        self._logged_ns[key] = now_ns
        return True

    def reject(self, key: str, what: str, err: Exception, now_ns: int, log: Callable[[str], None]) -> None:
        """Count a rejected ``what`` (an input's name) under ``key`` and log it, rate-limited per key."""
        if self.on_rejected(key, now_ns):
            log(f"rejected {what} ({key}, {self.rejected[key]} so far): {err}")

    def on_output(self, stamp_ns: int, now_ns: int) -> float:
        """Record sensor stamp -> output latency; returns ms."""
        return self.latency.add(stamp_ns, now_ns)

    def status(
        self, now_ns: int, problems: Iterable[tuple[Level, str]] = (), values: Mapping[str, str] | None = None
    ) -> Status:
        """The node's diagnostic status: the caller's problems plus stale inputs, rejections, deadline misses."""
        found = list(problems)
        summary = self.latency.summary()
        merged: dict[str, str] = {}
        for key, rate in self.rates.items():
            age = rate.age_s(now_ns)
            if age > self.timeouts[key]:
                level = Level.WARN if key in self.optional else Level.ERROR
                found.append((level, f"no {key}" if rate.count == 0 else f"{key} stale {age:.1f}s"))
            merged[f"{key}.rate_hz"] = fmt(rate.rate_hz())
            merged[f"{key}.age_s"] = fmt(age)
        recent = sorted(r for r, t in self._rejected_ns.items() if now_ns - t < REJECTION_WINDOW_NS)
        if recent:
            found.append(
                (Level.WARN, f"inputs rejected in the last {REJECTION_WINDOW_NS // 10**9} s: {', '.join(recent)}")
            )
        lost = sorted(k for k, t in self._lost_ns.items() if now_ns - t < REJECTION_WINDOW_NS)
        if lost:
            window_s = REJECTION_WINDOW_NS // 10**9
            found.append((Level.WARN, f"inputs lost in transport in the last {window_s} s: {', '.join(lost)}"))
        if summary.deadline_misses:
            found.append(
                (Level.WARN, f"{summary.deadline_misses} outputs over the {self.latency.budget_ms:.0f} ms budget")
            )
        merged.update(
            latency_p50_ms=fmt(summary.p50_ms),
            latency_p99_ms=fmt(summary.p99_ms),
            latency_max_ms=fmt(summary.max_ms),
            deadline_misses=str(summary.deadline_misses),
            outputs=str(summary.count),
        )
        merged.update({f"rejected.{reason}": str(n) for reason, n in sorted(self.rejected.items())})
        merged.update({f"lost.{key}": str(n) for key, n in sorted(self.lost.items())})
        merged.update(values or {})
        level = worst(Level.OK, *(lvl for lvl, _ in found))
        return Status(level, f"av_edge: {self.name}", "; ".join(m for _, m in found) or "ok", self.name, merged)
