"""A candidate model judged against the live one on the same live frames, then watched once it serves.

:class:`ShadowEvaluation` collects, frame by frame, how many of the live model's boxes the candidate
also finds (recall against live, same class, IoU >= 0.5), how many of its boxes the live model
confirms (precision against live), whether boxes found by both carry the same class, and both
models' latencies. After ``frames`` frames the gates decide. Agreement with the live model is not
accuracy: it is the guard against a broken export, a wrong class order, a mis-set input size or a
slow build, which would otherwise reach the road. Accuracy is the cloud's job, before publishing.

:class:`PromotionWatch` then watches the promoted model: failed batches or a latency p99 above the
previous model's by more than allowed roll it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from av_edge.core.config import bounded
from av_edge.core.detection.agreement import agreement


@dataclass(frozen=True)
class ShadowConfig:
    rate_hz: float = bounded(0.1, 30.0, "the candidate runs on at most this many live batches a second")
    frames: int = bounded(5, 100_000, "live batches compared before the gates decide")
    min_recall: float = bounded(0.0, 1.0, "live model's boxes the candidate also finds (same class, IoU >= 0.5)")
    min_precision: float = bounded(0.0, 1.0, "candidate boxes the live model also finds")
    min_class_agreement: float = bounded(0.0, 1.0, "boxes both find (any class, IoU >= 0.5) with the same class")
    max_latency_ratio: float = bounded(
        0.5, 20.0, "candidate's batch p99 over the live model's, both timed on the shadow thread in turn"
    )
    calm_s: float = bounded(0.0, 600.0, "s without braking or an event before a passed candidate is promoted")
    watch_s: float = bounded(0.0, 86400.0, "s after promotion with health and latency watched")
    max_watch_latency_ratio: float = bounded(1.0, 20.0, "p99 in the watch over the previous model's: rolled back")
    max_watch_failures: int = bounded(0, 1000, "failed batches in the watch before it rolls back")


@dataclass(frozen=True)
class Verdict:
    state: str  # "running" | "passed" | "failed"
    reasons: tuple[str, ...]
    values: dict[str, str]


@dataclass
class ShadowEvaluation:
    gates: ShadowConfig
    version: str
    matched: int = 0
    only_live: int = 0
    only_candidate: int = 0
    matched_any_class: int = 0
    same_class: int = 0
    frames: int = 0
    failures: list[str] = field(default_factory=list)
    candidate_ms: list[float] = field(default_factory=list)
    live_ms: list[float] = field(default_factory=list)

    def add(self, candidate: list[np.ndarray], live: list[np.ndarray], candidate_ms: float, live_ms: float) -> None:
        """One live batch: per image DETECTION_DTYPE arrays of both models, and their batch times (ms)
        measured in turn on the shadow thread."""
        same = agreement(candidate, live, min_iou=0.5)
        anyclass = agreement([_one_class(c) for c in candidate], [_one_class(r) for r in live], min_iou=0.5)
        self.matched += same.matched
        self.only_live += same.only_reference
        self.only_candidate += same.only_candidate
        self.matched_any_class += anyclass.matched
        self.same_class += min(same.matched, anyclass.matched)
        self.frames += 1
        self.candidate_ms.append(candidate_ms)
        self.live_ms.append(live_ms)

    def fail(self, why: str) -> None:
        """The candidate raised on a frame: it fails at once."""
        self.failures.append(why)

    def verdict(self) -> Verdict:
        recall = _ratio(self.matched, self.matched + self.only_live)
        precision = _ratio(self.matched, self.matched + self.only_candidate)
        classes = _ratio(self.same_class, self.matched_any_class)
        p99_c, p99_l = _p99(self.candidate_ms), _p99(self.live_ms)
        values = {
            "candidate": self.version,
            "frames": f"{self.frames}/{self.gates.frames}",
            "live_boxes": str(self.matched + self.only_live),
            "recall_vs_live": f"{recall:.3f}",
            "precision_vs_live": f"{precision:.3f}",
            "class_agreement": f"{classes:.3f}",
            "candidate_p99_ms": f"{p99_c:.1f}",
            "live_p99_ms": f"{p99_l:.1f}",
        }
        if self.failures:
            return Verdict("failed", (f"candidate raised: {self.failures[0]}",), values)
        if self.frames < self.gates.frames:
            return Verdict("running", (), values)
        gates = self.gates
        reasons = [
            text
            for holds, text in (
                (recall >= gates.min_recall, f"recall vs live {recall:.3f} < {gates.min_recall}"),
                (precision >= gates.min_precision, f"precision vs live {precision:.3f} < {gates.min_precision}"),
                (classes >= gates.min_class_agreement, f"class agreement {classes:.3f} < {gates.min_class_agreement}"),
                (
                    p99_c <= gates.max_latency_ratio * p99_l,
                    f"batch p99 {p99_c:.1f} ms > {gates.max_latency_ratio} x live model's {p99_l:.1f} ms",
                ),
            )
            if not holds
        ]
        return Verdict("failed" if reasons else "passed", tuple(reasons), values)


@dataclass
class PromotionWatch:
    """The promoted model's first ``watch_s``: its failed batches and inference p99 against the previous one's."""

    gates: ShadowConfig
    version: str
    previous: str
    previous_p99_ms: float
    started_ns: int
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def on_batch(self, inference_ms: float) -> None:
        self.latencies_ms.append(inference_ms)

    def on_failure(self) -> None:
        self.failures += 1

    def verdict(self, now_ns: int) -> Verdict:
        p99 = _p99(self.latencies_ms)
        values = {"promoted": self.version, "previous": self.previous, "p99_ms": f"{p99:.1f}"}
        limit = self.gates.max_watch_latency_ratio * self.previous_p99_ms
        if self.failures > self.gates.max_watch_failures:
            return Verdict("failed", (f"{self.failures} failed batches in the watch",), values)
        if len(self.latencies_ms) >= 20 and p99 > limit:
            return Verdict(
                "failed", (f"inference p99 {p99:.1f} ms > {limit:.1f} ms (previous model's x ratio)",), values
            )
        if now_ns - self.started_ns < self.gates.watch_s * 1e9:
            return Verdict("running", (), values)
        return Verdict("passed", (), values)


def _one_class(detections: np.ndarray) -> np.ndarray:
    out = detections.copy()
    out["class_id"] = 0
    return out


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def _p99(samples: list[float]) -> float:
    return float(np.percentile(samples, 99)) if samples else 0.0
