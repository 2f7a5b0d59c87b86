"""Oriented boxes around clusters: OpenCV's minimum-area rectangle on the ground plane, heights from z."""

from __future__ import annotations

import cv2
import numpy as np

BOX_DTYPE = np.dtype(
    [
        ("x", "f4"),
        ("y", "f4"),
        ("z", "f4"),
        ("length", "f4"),
        ("width", "f4"),
        ("height", "f4"),
        ("yaw", "f4"),
        ("n_points", "i4"),
        ("anchor_x", "f4"),
        ("anchor_y", "f4"),
    ]
)
NEAR_FACE_M = 0.3


def fit_boxes(points: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """One box per cluster label 0..n-1: centre, length >= width, yaw in (-pi/2, pi/2], point count.

    z and height span the cluster's lowest to highest point. The anchor is the centroid of the face
    nearest the sensor (returns within ``NEAR_FACE_M`` of the cluster's closest range): it moves
    with the object, while the box centre also drifts as more of the object comes into view.
    Only the rectangle fit loops, once per cluster; per-point work is vectorised.
    """
    boxes = np.zeros(n_clusters, dtype=BOX_DTYPE)
    if n_clusters == 0:
        return boxes
    member = labels >= 0
    pts, lab = points[member], labels[member]
    z_low = np.full(n_clusters, np.inf, dtype=np.float32)
    z_high = np.full(n_clusters, -np.inf, dtype=np.float32)
    np.minimum.at(z_low, lab, pts[:, 2])
    np.maximum.at(z_high, lab, pts[:, 2])
    boxes["z"], boxes["height"] = (z_low + z_high) / 2, z_high - z_low
    boxes["n_points"] = np.bincount(lab, minlength=n_clusters)
    boxes["anchor_x"], boxes["anchor_y"] = _near_face_centroids(pts, lab, n_clusters)
    order = np.argsort(lab, kind="stable")
    starts = np.searchsorted(lab[order], np.arange(n_clusters + 1))
    xy = np.ascontiguousarray(pts[order, :2], dtype=np.float32)
    for k in range(n_clusters):
        (cx, cy), (w, h), angle = cv2.minAreaRect(xy[starts[k] : starts[k + 1]])
        yaw = np.radians(angle)
        length, width = (w, h) if w >= h else (h, w)
        if h > w:
            yaw += np.pi / 2
        boxes[k]["x"], boxes[k]["y"] = cx, cy
        boxes[k]["length"], boxes[k]["width"] = length, width
        boxes[k]["yaw"] = _half_turn(yaw)
    return boxes


def _near_face_centroids(points: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.hypot(points[:, 0], points[:, 1])
    closest = np.full(n, np.inf, dtype=rng.dtype)
    np.minimum.at(closest, labels, rng)
    near = rng < closest[labels] + NEAR_FACE_M
    count = np.bincount(labels[near], minlength=n)
    return (
        np.bincount(labels[near], weights=points[near, 0], minlength=n) / count,
        np.bincount(labels[near], weights=points[near, 1], minlength=n) / count,
    )


def _half_turn(yaw: float) -> float:
    """A box's heading is ambiguous by pi: map it into (-pi/2, pi/2]."""
    yaw = (yaw + np.pi / 2) % np.pi - np.pi / 2
    return float(np.pi / 2 if yaw == -np.pi / 2 else yaw)
