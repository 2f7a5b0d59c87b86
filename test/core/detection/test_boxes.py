"""Letterbox, batching, decoding of both output layouts, class-aware NMS, mapping back to pixels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from av_edge.core.detection.boxes import DETECTION_DTYPE, decode, iou_matrix, letterbox, nms, to_batch, to_original
from av_edge.core.detection.manifest import ModelManifest

MANIFEST = ModelManifest(
    "m", "1", "images", 640, 384, "rgb", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "yolo", ("car", "person"), "0" * 64
)


def test_letterbox_keeps_aspect_and_maps_back() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    image[100:200, 300:500] = 255
    fitted, box = letterbox(image, 640, 384)
    assert fitted.shape == (384, 640, 3) and box.scale == pytest.approx(0.5)
    assert box.pad_x == 0 and box.pad_y == 12  # 360 rows of image, 12 rows of padding above and below
    rows, cols = np.nonzero(fitted[:, :, 0] == 255)
    found = np.array([(cols.min(), rows.min(), cols.max() + 1, rows.max() + 1, 1.0, 0)], DETECTION_DTYPE)
    back = to_original(found, box, 1280, 720)
    assert [back["x1"][0], back["y1"][0], back["x2"][0], back["y2"][0]] == pytest.approx([300, 100, 500, 200], abs=2)


def test_to_batch_normalises_and_orders_channels() -> None:
    blue = np.zeros((384, 640, 3), np.uint8)
    blue[..., 0] = 255  # BGR
    batch, _ = to_batch([blue, blue], MANIFEST)
    assert batch.shape == (2, 3, 384, 640) and batch.dtype == np.float32
    assert batch[0, 2].min() == 1.0 and batch[0, :2].max() == 0.0  # RGB: blue is the last plane
    bgr = dataclasses.replace(MANIFEST, channel_order="bgr", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    batch, _ = to_batch([blue], bgr)
    assert batch[0, 0].min() == pytest.approx(1.0) and batch[0, 1].max() == pytest.approx(-1.0)


def yolo_output(rows: list[tuple[float, float, float, float, int, float]], n: int = 50, nc: int = 2) -> np.ndarray:
    """[1, 4 + nc, n]: the given (cx, cy, w, h, class, score) first, background after."""
    out = np.zeros((1, 4 + nc, n), np.float32)
    out[0, :4] = 10.0
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[0, :4, i] = cx, cy, w, h
        out[0, 4 + cls, i] = score
    return out


def test_decode_yolo_layout_with_class_aware_nms() -> None:
    output = yolo_output(
        [
            (100, 100, 40, 80, 1, 0.9),  # person
            (102, 101, 40, 80, 1, 0.8),  # the same person again: suppressed
            (101, 100, 40, 80, 0, 0.7),  # a car at the same place: another class, kept
            (300, 200, 50, 50, 0, 0.2),  # below the threshold
        ]
    )
    (found,) = decode(output, "yolo", score_threshold=0.25, iou_threshold=0.5)
    assert found["class_id"].tolist() == [1, 0]
    assert found["score"].tolist() == pytest.approx([0.9, 0.7])
    assert [found["x1"][0], found["y1"][0], found["x2"][0], found["y2"][0]] == [80, 60, 120, 140]


def test_decode_nms_layout() -> None:
    output = np.array([[[10, 20, 30, 60, 0.9, 1], [0, 0, 5, 5, 0.1, 0], [50, 50, 70, 90, 0.6, 0]]], np.float32)
    (found,) = decode(output, "nms", score_threshold=0.25, iou_threshold=0.5)
    assert found[["x1", "y1", "x2", "y2"]].tolist() == [(10, 20, 30, 60), (50, 50, 70, 90)]
    assert found["class_id"].tolist() == [1, 0]


def brute_force_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, threshold: float) -> list[int]:
    keep: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        same = [k for k in keep if classes[k] == classes[i]]
        if not same or iou_matrix(boxes[[i]], boxes[same]).max() <= threshold:
            keep.append(int(i))
    return keep


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(0, 10_000), st.floats(0.1, 0.9))
def test_nms_matches_the_definition(n: int, seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    boxes = np.column_stack([xy, xy + rng.uniform(5, 40, (n, 2))])
    scores = rng.permutation(n).astype(float) / max(n, 1)  # distinct
    classes = rng.integers(0, 3, n)
    assert nms(boxes, scores, classes, threshold).tolist() == brute_force_nms(boxes, scores, classes, threshold)
