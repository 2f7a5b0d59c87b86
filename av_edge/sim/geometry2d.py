"""Distances between convex footprints (rectangles), vectorised over their edges."""

from __future__ import annotations

import numpy as np


def polygons_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test for two convex polygons ``(N, 2)`` and ``(M, 2)``."""
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        normals = np.column_stack([-edges[:, 1], edges[:, 0]])
        pa, pb = a @ normals.T, b @ normals.T
        if np.any((pa.max(axis=0) < pb.min(axis=0)) | (pb.max(axis=0) < pa.min(axis=0))):
            return False
    return True


def polygon_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest distance between two convex polygons (0 when they overlap)."""
    if polygons_overlap(a, b):
        return 0.0
    return float(min(_points_to_edges(a, b).min(), _points_to_edges(b, a).min()))


def _points_to_edges(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    start, end = poly, np.roll(poly, -1, axis=0)
    edge = end - start
    rel = points[:, None, :] - start[None, :, :]
    t = np.clip((rel * edge).sum(-1) / np.maximum((edge * edge).sum(-1), 1e-12), 0.0, 1.0)
    closest = start[None] + t[..., None] * edge[None]
    return np.linalg.norm(points[:, None, :] - closest, axis=-1)
