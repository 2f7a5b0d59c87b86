"""Letterboxing, decoding of detector outputs, class-aware NMS: vectorised numpy (+ OpenCV resize)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from av_edge.core.detection.manifest import ModelManifest

#: one row per detection, in original image pixels
DETECTION_DTYPE = np.dtype(
    [("x1", "<f4"), ("y1", "<f4"), ("x2", "<f4"), ("y2", "<f4"), ("score", "<f4"), ("class_id", "<i4")]
)
PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """Input pixel = original pixel * scale + pad."""

    scale: float
    pad_x: float
    pad_y: float


def letterbox(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio, pad to ``width`` x ``height`` (centred, grey like YOLO)."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = round(w * scale), round(h * scale)
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    if (new_w, new_h) == (w, h) and (pad_x, pad_y) == (0, 0):
        return image, Letterbox(1.0, 0.0, 0.0)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.full((height, width, 3), PAD_VALUE, np.uint8)
    out[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return out, Letterbox(scale, float(pad_x), float(pad_y))


def to_batch(images: list[np.ndarray], manifest: ModelManifest) -> tuple[np.ndarray, list[Letterbox]]:
    """BGR uint8 images (any size) -> one NCHW float32 batch normalised as the manifest says."""
    batch = np.empty((len(images), 3, manifest.input_height, manifest.input_width), np.float32)
    boxes = []
    scale = 1.0 / (255.0 * np.asarray(manifest.std, np.float32))
    offset = np.asarray(manifest.mean, np.float32) / np.asarray(manifest.std, np.float32)
    channels = [2, 1, 0] if manifest.channel_order == "rgb" else [0, 1, 2]
    for i, image in enumerate(images):
        fitted, box = letterbox(image, manifest.input_width, manifest.input_height)
        planar = fitted.transpose(2, 0, 1)[channels]
        np.multiply(planar, scale[:, None, None], out=batch[i], casting="unsafe")
        batch[i] -= offset[:, None, None]
        boxes.append(box)
    return batch, boxes


def decode(
    output: np.ndarray, output_format: str, score_threshold: float, iou_threshold: float, max_detections: int = 300
) -> list[np.ndarray]:
    """Raw network output for a batch -> per image DETECTION_DTYPE arrays in *input* pixels."""
    results = []
    for item in output:
        if output_format == "yolo":  # [4 + nc, N]: cx, cy, w, h, class scores
            scores_all = item[4:]
            class_id = scores_all.argmax(axis=0)
            score = scores_all[class_id, np.arange(item.shape[1])]
            keep = score >= score_threshold
            cx, cy, w, h = item[:4, keep]
            xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
            score, class_id = score[keep], class_id[keep]
        else:  # [N, 6]: x1, y1, x2, y2, score, class
            keep = item[:, 4] >= score_threshold
            xyxy, score, class_id = item[keep, :4], item[keep, 4], item[keep, 5].astype(np.int64)
        chosen = nms(xyxy, score, class_id, iou_threshold)[:max_detections]
        results.append(_detections(xyxy[chosen], score[chosen], class_id[chosen]))
    return results


def nms(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Class-aware greedy NMS (boxes of different classes never suppress each other): kept indices,
    best score first. Vectorised per kept box, as torchvision's batched_nms (coordinate offsets)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    offset = class_ids.astype(np.float64)[:, None] * (float(np.abs(boxes).max()) + 1.0)
    shifted = boxes.astype(np.float64) + offset
    order = np.argsort(-scores, kind="stable")
    areas = (shifted[:, 2] - shifted[:, 0]).clip(0) * (shifted[:, 3] - shifted[:, 1]).clip(0)
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        xx1 = np.maximum(shifted[i, 0], shifted[rest, 0])
        yy1 = np.maximum(shifted[i, 1], shifted[rest, 1])
        xx2 = np.minimum(shifted[i, 2], shifted[rest, 2])
        yy2 = np.minimum(shifted[i, 3], shifted[rest, 3])
        inter = (xx2 - xx1).clip(0) * (yy2 - yy1).clip(0)
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, np.int64)


def to_original(detections: np.ndarray, box: Letterbox, width: int, height: int) -> np.ndarray:
    """Detections in input pixels -> original image pixels, clipped to the image."""
    out = detections.copy()
    for name, pad, limit in (("x1", box.pad_x, width), ("x2", box.pad_x, width), ("y1", box.pad_y, height)):
        out[name] = ((out[name] - pad) / box.scale).clip(0, limit)
    out["y2"] = ((out["y2"] - box.pad_y) / box.scale).clip(0, height)
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every ``a`` (N, 4) xyxy box with every ``b`` (M, 4)."""
    xx1 = np.maximum(a[:, None, 0], b[None, :, 0])
    yy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    xx2 = np.minimum(a[:, None, 2], b[None, :, 2])
    yy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (xx2 - xx1).clip(0) * (yy2 - yy1).clip(0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9))


def _detections(xyxy: np.ndarray, score: np.ndarray, class_id: np.ndarray) -> np.ndarray:
    out = np.zeros(len(score), DETECTION_DTYPE)
    if len(score):
        out["x1"], out["y1"], out["x2"], out["y2"] = xyxy.T
        out["score"], out["class_id"] = score, class_id
    return out
