"""Oriented boxes around clusters: OpenCV's minimum-area rectangle on the ground plane, heights from z."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from av_edge.core.geometry import polar
from av_edge.core.perception.clustering import sort_by_label

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
        ("anchor_sxx", "f4"),  # second moments of the near face's returns about the anchor, m^2
        ("anchor_syy", "f4"),
        ("anchor_sxy", "f4"),
    ]
)
NEAR_FACE_M = 0.3
# A near face whose returns spread less than this (m^2, along its longer axis: 0.5 m of face) has no
# direction to speak of: a walker, a sliver.
FACE_MIN_VARIANCE = 0.5**2 / 12
OUTLINE_BIN_DEG = 0.1  # finer than a spinning LiDAR's column spacing (0.1-0.35 deg)


def fit_boxes(
    xyz: np.ndarray, labels: np.ndarray, n_clusters: int, above_ground: np.ndarray | None = None
) -> np.ndarray:
    """One box per cluster label 0..n-1 of points ``xyz`` (rows x, y, z): centre, length >= width,
    yaw in (-pi/2, pi/2], point count.

    z and height span the cluster's lowest to highest point; given each point's height
    ``above_ground``, from the local ground instead: what shows of a walker behind a parked car is
    his head, but he stands on the road (the cameras' 2D boxes are matched against that).
    The anchor is the centroid of the face nearest the sensor (returns within ``NEAR_FACE_M`` of the
    cluster's closest range): it moves with the object, while the box centre also drifts as more of
    the object comes into view. Its spread is the covariance of those returns about it: a walker's
    near face is a hand's width, a car's a metre or more along the face, and the anchor slides along
    it as returns come and go, while its range holds.
    Only the rectangle fit loops, once per cluster; per-point work is vectorised.
    """
    boxes = np.zeros(n_clusters, dtype=BOX_DTYPE)
    if n_clusters == 0:
        return boxes
    # Sorted once by label, every per-cluster quantity is a reduceat over contiguous runs
    # (ufunc.at scatters cost several times more) and each run keeps its points' input order.
    order, starts = sort_by_label(np.where(labels >= 0, labels, n_clusters), n_clusters)
    order = order[: starts[-1]]  # noise sorts last and is dropped
    grouped = np.take(xyz, order, axis=1)
    x, y, z = grouped
    counts, heads = np.diff(starts), starts[:-1]
    label = np.repeat(np.arange(n_clusters, dtype=np.intp), counts)
    z_low, z_high = np.minimum.reduceat(z, heads), np.maximum.reduceat(z, heads)
    if above_ground is not None:
        z_low = z_low - np.minimum.reduceat(np.take(above_ground, order), heads)
    boxes["z"], boxes["height"] = (z_low + z_high) / 2, z_high - z_low
    boxes["n_points"] = counts
    rng, azimuth = polar(x, y)
    outline = _outline(rng, azimuth, label, n_clusters)
    near_face = np.repeat(np.minimum.reduceat(rng, heads) + np.float32(NEAR_FACE_M), counts)
    centroids = _near_face_centroids(x, y, rng < near_face, label, n_clusters)
    for name, value in zip(("anchor_x", "anchor_y", "anchor_sxx", "anchor_syy", "anchor_sxy"), centroids, strict=True):
        boxes[name] = value
    kept = np.flatnonzero(outline)  # still grouped by label
    kept_starts = np.concatenate([[0], np.cumsum(np.add.reduceat(outline, heads))]).tolist()
    xy = np.ascontiguousarray(np.take(grouped[:2], kept, axis=1).T, dtype=np.float32)
    rects = [cv2.minAreaRect(xy[a:b]) for a, b in itertools.pairwise(kept_starts)]
    centre = np.array([rect[0] for rect in rects])
    w, h = np.array([rect[1] for rect in rects]).T
    yaw = np.radians([rect[2] for rect in rects]) + np.where(h > w, np.pi / 2, 0.0)
    boxes["x"], boxes["y"] = centre[:, 0], centre[:, 1]
    boxes["length"], boxes["width"] = np.maximum(w, h), np.minimum(w, h)
    boxes["yaw"] = half_turn(yaw)
    return boxes


def _outline(rng: np.ndarray, azimuth: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Mask of the returns that can be corners of their cluster's footprint.

    The corners are among the nearest and farthest returns of each cluster in every OUTLINE_BIN_DEG
    of azimuth: the points between them along a ray lie on the segment between them (to within the
    bin's width, ~5 cm at 30 m), so the rectangle is the same, while a near car's 10k returns shrink
    to a few hundred and its hull no longer dominates the p99.
    """
    n_bins = round(360.0 / OUTLINE_BIN_DEG) + 1  # azimuths that round up to 360 get their own
    key = labels * n_bins + (azimuth * np.float32(1.0 / OUTLINE_BIN_DEG)).astype(np.intp)
    nearest = np.full(n * n_bins, np.inf, dtype=np.float32)
    farthest = np.full(n * n_bins, -np.inf, dtype=np.float32)
    np.minimum.at(nearest, key, rng)
    np.maximum.at(farthest, key, rng)
    return (rng <= np.take(nearest, key)) | (rng >= np.take(farthest, key))


def _near_face_centroids(
    x: np.ndarray, y: np.ndarray, on_face: np.ndarray, labels: np.ndarray, n: int
) -> tuple[np.ndarray, ...]:
    """Centroid (x, y) of each cluster's returns ``on_face`` (within NEAR_FACE_M of its closest
    range), and their second moments about it (xx, yy, xy)."""
    near = np.flatnonzero(on_face)
    label = np.take(labels, near)
    count = np.bincount(label, minlength=n)
    near_x, near_y = np.take(x, near).astype(np.float64), np.take(y, near).astype(np.float64)
    cx = np.bincount(label, weights=near_x, minlength=n) / count
    cy = np.bincount(label, weights=near_y, minlength=n) / count
    # Second moments about the centroid (not the origin: float cancellation at 100 m).
    dx, dy = near_x - np.take(cx, label), near_y - np.take(cy, label)
    moments = [np.bincount(label, weights=w, minlength=n) / count for w in (dx * dx, dy * dy, dx * dy)]
    return cx, cy, *moments


def near_face_axis(sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray) -> np.ndarray:
    """Unit vectors (K, 2) along each near face from its returns' second moments (the principal
    axis); 0 where they spread less than ``FACE_MIN_VARIANCE`` along it (no direction to speak of)."""
    angle = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    spread = (sxx + syy) / 2 + np.hypot((sxx - syy) / 2, sxy)  # the larger eigenvalue
    return np.column_stack([np.cos(angle), np.sin(angle)]) * (spread >= FACE_MIN_VARIANCE)[:, None]


def half_turn(yaw: np.ndarray) -> np.ndarray:
    """A box's heading is ambiguous by pi: map it into (-pi/2, pi/2]."""
    turned = (yaw + np.pi / 2) % np.pi - np.pi / 2
    return np.where(turned == -np.pi / 2, np.pi / 2, turned)
