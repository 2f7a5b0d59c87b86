"""Shadow gates and the post-promotion watch, on hand-made detections (pure)."""

from __future__ import annotations

import numpy as np

from av_edge.core.detection.boxes import DETECTION_DTYPE
from av_edge.core.detection.shadow import PromotionWatch, ShadowConfig, ShadowEvaluation

GATES = ShadowConfig(
    rate_hz=2.0,
    frames=3,
    min_recall=0.9,
    min_precision=0.8,
    min_class_agreement=0.95,
    max_latency_ratio=1.5,
    calm_s=0.0,
    watch_s=10.0,
    max_watch_latency_ratio=1.5,
    max_watch_failures=0,
)


def dets(*rows: tuple[float, float, float, float, int]) -> list[np.ndarray]:
    out = np.zeros(len(rows), DETECTION_DTYPE)
    for i, (x1, y1, x2, y2, cls) in enumerate(rows):
        out[i]["x1"], out[i]["y1"], out[i]["x2"], out[i]["y2"] = x1, y1, x2, y2
        out[i]["score"], out[i]["class_id"] = 0.9, cls
    return [out]


CAR, PERSON = (100, 100, 200, 180, 0), (300, 100, 330, 190, 1)


def test_agreeing_candidate_passes_after_enough_frames() -> None:
    evaluation = ShadowEvaluation(GATES, "2.0")
    for frame in range(3):
        assert evaluation.verdict().state == "running", frame
        evaluation.add(dets(CAR, PERSON), dets(CAR, PERSON), 10.0, 9.0)
    verdict = evaluation.verdict()
    assert verdict.state == "passed" and verdict.values["recall_vs_live"] == "1.000"


def test_each_gate_names_its_failure() -> None:
    extra = ShadowEvaluation(GATES, "2.0")  # finds a ghost in every frame: precision 0.5
    swapped = ShadowEvaluation(GATES, "2.0")  # same boxes, other classes
    slow = ShadowEvaluation(GATES, "2.0")
    for _ in range(3):
        extra.add(dets(CAR, (500, 100, 560, 160, 0)), dets(CAR), 10.0, 10.0)
        swapped.add(dets((*CAR[:4], 1), (*PERSON[:4], 0)), dets(CAR, PERSON), 10.0, 10.0)
        slow.add(dets(CAR), dets(CAR), 20.0, 10.0)
    assert extra.verdict().reasons == ("precision vs live 0.500 < 0.8",)
    assert set(swapped.verdict().reasons) == {
        "recall vs live 0.000 < 0.9",
        "precision vs live 0.000 < 0.8",
        "class agreement 0.000 < 0.95",
    }
    assert slow.verdict().reasons == ("batch p99 20.0 ms > 1.5 x live model's 10.0 ms",)


def test_nothing_seen_by_either_agrees_and_a_raise_fails_at_once() -> None:
    evaluation = ShadowEvaluation(GATES, "2.0")
    evaluation.add(dets(), dets(), 10.0, 10.0)
    evaluation.fail("RuntimeError: boom")
    assert evaluation.verdict().state == "failed" and "boom" in evaluation.verdict().reasons[0]


def test_the_watch_rolls_back_on_failures_or_a_latency_regression_and_keeps_otherwise() -> None:
    fine = PromotionWatch(GATES, "2.0", "1.0", previous_p99_ms=10.0, started_ns=0)
    slow = PromotionWatch(GATES, "2.0", "1.0", previous_p99_ms=10.0, started_ns=0)
    for _ in range(30):
        fine.on_batch(12.0)
        slow.on_batch(16.0)
    assert fine.verdict(5 * 10**9).state == "running" and fine.verdict(10 * 10**9).state == "passed"
    assert slow.verdict(5 * 10**9).state == "failed" and "16.0 ms > 15.0 ms" in slow.verdict(0).reasons[0]
    fine.on_failure()
    assert fine.verdict(10 * 10**9).reasons == ("1 failed batches in the watch",)
