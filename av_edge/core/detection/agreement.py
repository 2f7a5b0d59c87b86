"""Do two backends detect the same things? Match boxes per image and class, report the worst pair.

Used to accept a TensorRT engine against ONNX Runtime on the same images: every box matched with
IoU >= ``min_iou`` and scores within ``max_score_diff``, nothing left unmatched on either side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from av_edge.core.detection.boxes import iou_matrix
from av_edge.core.detection.evaluation import xyxy


@dataclass(frozen=True)
class Agreement:
    matched: int
    only_candidate: int  # boxes the candidate backend found that the reference did not
    only_reference: int
    worst_iou: float  # over matched pairs (1.0 when none)
    worst_score_diff: float
    min_iou: float
    max_score_diff: float

    @property
    def ok(self) -> bool:
        return (
            self.only_candidate == 0
            and self.only_reference == 0
            and self.worst_iou >= self.min_iou
            and self.worst_score_diff <= self.max_score_diff
        )


def agreement(
    candidate: list[np.ndarray], reference: list[np.ndarray], min_iou: float = 0.9, max_score_diff: float = 0.02
) -> Agreement:
    """Greedy one-to-one matching (highest IoU first) of DETECTION_DTYPE arrays, image by image and
    class by class; a pair needs IoU >= 0.5 to count as the same object at all."""
    matched = only_c = only_r = 0
    ious: list[float] = []
    diffs: list[float] = []
    for c_dets, r_dets in zip(candidate, reference, strict=True):
        for cls in np.union1d(c_dets["class_id"], r_dets["class_id"]):
            c, r = c_dets[c_dets["class_id"] == cls], r_dets[r_dets["class_id"] == cls]
            pairs = _greedy(iou_matrix(xyxy(c), xyxy(r))) if len(c) and len(r) else []
            for i, j, iou in pairs:
                ious.append(iou)
                diffs.append(abs(float(c["score"][i]) - float(r["score"][j])))
            matched += len(pairs)
            only_c += len(c) - len(pairs)
            only_r += len(r) - len(pairs)
    return Agreement(matched, only_c, only_r, min(ious, default=1.0), max(diffs, default=0.0), min_iou, max_score_diff)


def _greedy(iou: np.ndarray, floor: float = 0.5) -> list[tuple[int, int, float]]:
    pairs = []
    iou = iou.copy()
    while iou.size and iou.max() >= floor:
        i, j = np.unravel_index(int(np.argmax(iou)), iou.shape)
        pairs.append((int(i), int(j), float(iou[i, j])))
        iou[i, :] = -1.0
        iou[:, j] = -1.0
    return pairs
