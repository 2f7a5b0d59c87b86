"""Association of 3D objects with 2D detections: each object's box is projected into every camera that
sees it (vectorised over objects), matched one-to-one per camera by IoU (Hungarian), and the votes of
all cameras are summed per class — one 3D object, one class, however many cameras see it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from av_edge.core.detection.boxes import iou_matrix
from av_edge.core.detection.evaluation import xyxy
from av_edge.core.fusion.calibration import CameraCalibration

NEAR_M = 0.5
_CORNER_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float) / 2


@dataclass(frozen=True)
class EgoMotion:
    """Ego speed and yaw rate, to move objects from the LiDAR stamp to a camera stamp."""

    speed_mps: float
    yaw_rate: float


def box_corners(objects: np.ndarray, dt_s: float, ego: EgoMotion) -> np.ndarray:
    """(M, 8, 3) corners in base_link at ``dt_s`` after the objects' stamp: each object moves with its
    own ground velocity, the frame with the ego (translation and yaw; constant over a few 10 ms)."""
    size = np.stack([objects["length"], objects["width"], objects["height"]], axis=1).astype(float)
    local = _CORNER_SIGNS[None] * size[:, None, :]
    c, s = np.cos(objects["yaw"]), np.sin(objects["yaw"])
    x = c[:, None] * local[..., 0] - s[:, None] * local[..., 1] + objects["x"][:, None]
    y = s[:, None] * local[..., 0] + c[:, None] * local[..., 1] + objects["y"][:, None]
    x = x + (objects["vx"][:, None] - ego.speed_mps) * dt_s
    y = y + objects["vy"][:, None] * dt_s
    turn = -ego.yaw_rate * dt_s  # the frame turns with the ego; points turn the other way
    ct, st = np.cos(turn), np.sin(turn)
    z = local[..., 2] + objects["z"][:, None]
    return np.stack([ct * x - st * y, st * x + ct * y, z], axis=-1)


def project_objects(corners: np.ndarray, camera: CameraCalibration) -> tuple[np.ndarray, np.ndarray]:
    """(M, 4) image boxes of the projected corners (clipped to the image) and a mask of objects the
    camera sees (in front of it, overlapping the image)."""
    m = corners.shape[0]
    if m == 0:
        return np.zeros((0, 4)), np.zeros(0, bool)
    flat = corners.reshape(-1, 3)
    optical = flat @ camera.optical_from_base[:3, :3].T + camera.optical_from_base[:3, 3]
    depth = optical[:, 2].reshape(m, 8)
    z = np.maximum(optical[:, 2:3], NEAR_M)
    pixels = camera.pixels(optical[:, :2] / z)
    pixels = pixels.reshape(m, 8, 2)
    boxes = np.concatenate([pixels.min(axis=1), pixels.max(axis=1)], axis=1)
    clipped = boxes.clip([0, 0, 0, 0], [camera.width, camera.height, camera.width, camera.height])
    area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    visible = (depth.max(axis=1) > NEAR_M) & (area > 4.0)
    return clipped, visible


def camera_votes(
    image_boxes: np.ndarray, visible: np.ndarray, detections: np.ndarray, n_classes: int, min_iou: float
) -> np.ndarray:
    """(M, n_classes) votes (score x IoU) of one camera: one detection per object at most."""
    votes = np.zeros((len(image_boxes), n_classes))
    seen = np.flatnonzero(visible)
    if seen.size == 0 or detections.size == 0:
        return votes
    iou = iou_matrix(image_boxes[seen], xyxy(detections))
    rows, cols = linear_sum_assignment(-iou)
    good = iou[rows, cols] >= min_iou
    rows, cols = rows[good], cols[good]
    classes = detections["class_id"][cols].astype(int)
    valid = (classes >= 0) & (classes < n_classes)
    np.add.at(
        votes, (seen[rows[valid]], classes[valid]), detections["score"][cols[valid]] * iou[rows[valid], cols[valid]]
    )
    return votes


def classify(votes: np.ndarray, min_vote: float) -> tuple[np.ndarray, np.ndarray]:
    """Per object: the winning class index (-1 without enough evidence) and its share of all votes
    times its strength (0..1)."""
    if votes.size == 0:
        return np.zeros(len(votes), int), np.zeros(len(votes))
    best = votes.argmax(axis=1)
    top = votes[np.arange(len(votes)), best]
    total = votes.sum(axis=1)
    confidence = np.where(total > 0, top / np.maximum(total, 1e-9), 0.0) * np.minimum(top, 1.0)
    return np.where(top >= min_vote, best, -1), np.where(top >= min_vote, confidence, 0.0)
