"""Backend agreement: boxes matched one-to-one per image and class; the worst pair decides."""

from __future__ import annotations

import numpy as np

from av_edge.core.detection.agreement import agreement
from av_edge.core.detection.boxes import DETECTION_DTYPE


def dets(*rows: tuple[float, float, float, float, float, int]) -> np.ndarray:
    out = np.zeros(len(rows), DETECTION_DTYPE)
    for i, (x1, y1, x2, y2, score, cls) in enumerate(rows):
        out[i] = (x1, y1, x2, y2, score, cls)
    return out


REFERENCE = [dets((0, 0, 100, 100, 0.9, 0), (200, 0, 250, 80, 0.6, 2)), dets()]


def test_identical_detections_agree() -> None:
    result = agreement(REFERENCE, REFERENCE)
    assert result.ok and result.matched == 2 and result.worst_iou > 0.999999 and result.worst_score_diff == 0.0


def test_order_does_not_matter_but_class_does() -> None:
    swapped = [dets((200, 0, 250, 80, 0.6, 2), (0, 0, 100, 100, 0.9, 0)), dets()]
    assert agreement(swapped, REFERENCE).ok
    other_class = [dets((0, 0, 100, 100, 0.9, 1), (200, 0, 250, 80, 0.6, 2)), dets()]
    result = agreement(other_class, REFERENCE)
    assert not result.ok and result.only_candidate == result.only_reference == 1


def test_a_shifted_box_or_score_fails_with_the_worst_value() -> None:
    shifted = [dets((6, 0, 106, 100, 0.9, 0), (200, 0, 250, 80, 0.6, 2)), dets()]  # IoU 94/106
    result = agreement(shifted, REFERENCE)
    assert not result.ok and abs(result.worst_iou - 94 / 106) < 1e-6
    rescored = [dets((0, 0, 100, 100, 0.87, 0), (200, 0, 250, 80, 0.6, 2)), dets()]
    result = agreement(rescored, REFERENCE)
    assert not result.ok and abs(result.worst_score_diff - 0.03) < 1e-6 and result.worst_iou > 0.999999


def test_a_missing_or_extra_box_fails() -> None:
    assert agreement([REFERENCE[0][:1], dets()], REFERENCE).only_reference == 1
    extra = [REFERENCE[0], dets((10, 10, 20, 20, 0.5, 3))]
    result = agreement(extra, REFERENCE)
    assert not result.ok and result.only_candidate == 1 and result.matched == 2
