"""Average precision at an IoU threshold (PASCAL VOC all-point interpolation), per class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from av_edge.core.detection.boxes import iou_matrix


def xyxy(rows: np.ndarray) -> np.ndarray:
    """(N, 4) float boxes of a DETECTION_DTYPE (or any x1..y2) structured array."""
    return np.stack([rows["x1"], rows["y1"], rows["x2"], rows["y2"]], axis=1).astype(np.float64).reshape(-1, 4)


def average_precision(
    detections: Sequence[np.ndarray], truths: Sequence[np.ndarray], class_id: int, iou_threshold: float = 0.5
) -> float:
    """AP of one class over a dataset: ``detections[i]`` and ``truths[i]`` (both with x1, y1, x2, y2,
    class_id; detections also score) for image i. NaN when the class never occurs in ``truths``."""
    records = []  # (score, is true positive)
    n_truth = 0
    for image_found, image_truth in zip(detections, truths, strict=True):
        found = image_found[image_found["class_id"] == class_id]
        truth = image_truth[image_truth["class_id"] == class_id]
        n_truth += len(truth)
        if not len(found):
            continue
        found = found[np.argsort(-found["score"], kind="stable")]
        taken = np.zeros(len(truth), bool)
        ious = iou_matrix(xyxy(found), xyxy(truth)) if len(truth) else np.zeros((len(found), 0))
        for k in range(len(found)):
            best = int(ious[k].argmax()) if ious.shape[1] else -1
            hit = best >= 0 and ious[k, best] >= iou_threshold and not taken[best]
            if hit:
                taken[best] = True
            records.append((float(found["score"][k]), hit))
    if n_truth == 0:
        return float("nan")
    if not records:
        return 0.0
    records.sort(key=lambda r: -r[0])
    hits = np.array([r[1] for r in records], float)
    tp = np.cumsum(hits)
    recall = tp / n_truth
    precision = tp / np.arange(1, len(hits) + 1)
    # all-point interpolation: area under the monotone precision envelope
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    recall_steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(recall_steps * envelope))
