"""Clustering of obstacle points: connected cells of a 2D grid, then fragments along a ray joined.

A grid alone splits objects that the LiDAR samples sparsely: side faces seen at grazing angles
(successive columns land metres apart along the face) and roofs (one ring lands somewhere on the
roof, up to a car length behind the rear face). Clusters that overlap in azimuth are therefore
merged when their footprints nearly touch (a tolerance growing with range), or when the farther
one is a thin ring level with the nearer one's top edge within ``merge_over_top_m``. The work is
per cluster, not per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from av_edge.core.config import bounded
from av_edge.core.perception.ground import polar

_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
RING_THICKNESS_M = 0.4


@dataclass(frozen=True)
class ClusterConfig:
    cell_m: float = bounded(0.05, 2.0, "grid cell; points in touching cells join a cluster")
    min_points: int = bounded(1, 10000, "smaller clusters are noise (spray, rain)")
    max_range_m: float = bounded(1.0, 300.0)
    merge_azimuth_deg: float = bounded(0.0, 10.0, "clusters closer than this in azimuth may merge")
    merge_range_m: float = bounded(0.0, 10.0, "... when closer than this in range")
    merge_range_ratio: float = bounded(0.0, 0.5, "... or this fraction of their range, if larger")
    merge_over_top_m: float = bounded(0.0, 20.0, "... or a roof ring level with the nearer one's top this close")


def cluster_points(points: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, int]:
    """Cluster label per point (-1 = noise or out of range) and the number of clusters.

    Labels are 0..n-1 in a deterministic order (identical input, identical labels).
    """
    raw, n = _grid_labels(points, config)
    if n > 1:
        raw, n = _merge_along_rays(points, raw, n, config)
    counts = np.bincount(raw[raw >= 0], minlength=n)
    keep = counts >= config.min_points
    renumber = np.full(n + 1, -1, dtype=np.int32)  # index -1 (noise) maps to the last entry
    renumber[:n][keep] = np.arange(int(keep.sum()), dtype=np.int32)
    return renumber[raw], int(keep.sum())


def _grid_labels(points: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, int]:
    labels = np.full(points.shape[0], -1, dtype=np.intp)
    reach = np.float32(config.max_range_m)
    x, y = points[:, 0], points[:, 1]
    inside = (x > -reach) & (x < reach) & (y > -reach) & (y < reach)
    if not inside.any():
        return labels, 0
    # Shifted to positive coordinates, truncation is floor (cheaper than np.floor).
    scale = np.float32(1.0 / config.cell_m)
    ix = ((x[inside] + reach) * scale).astype(np.intp)
    iy = ((y[inside] + reach) * scale).astype(np.intp)
    x0, y0 = ix.min(), iy.min()
    ix -= x0
    iy -= y0
    occupied = np.zeros((int(ix.max()) + 1, int(iy.max()) + 1), dtype=bool)
    occupied[ix, iy] = True
    cell_labels, n = ndimage.label(occupied, structure=_EIGHT_CONNECTED)
    labels[inside] = cell_labels[ix, iy] - 1
    return labels, int(n)


def _merge_along_rays(points: np.ndarray, labels: np.ndarray, n: int, config: ClusterConfig) -> tuple[np.ndarray, int]:
    member = labels >= 0
    pts, lab = points[member], labels[member]
    rng, azimuth = polar(pts)
    azimuth = (azimuth + 180.0) % 360.0  # 0 deg behind the vehicle: clusters ahead never wrap
    (lo_az, hi_az), (lo_r, _) = _extent(azimuth, lab, n), _extent(rng, lab, n)
    columns = np.ascontiguousarray(pts.T)  # contiguous rows keep ufunc.at on its fast path
    (lo_x, hi_x), (lo_y, hi_y), (lo_z, hi_z) = (_extent(column, lab, n) for column in columns)
    az_gap = _interval_gap(lo_az, hi_az)
    # Footprint (axis-aligned) gaps: polar intervals alone join big objects that are metres apart.
    gap_x = np.maximum(_interval_gap(lo_x, hi_x), 0)
    gap_y = np.maximum(_interval_gap(lo_y, hi_y), 0)
    gap = np.hypot(gap_x, gap_y)
    # Split the gap along / across the line of sight (conservatively): sparse sampling opens gaps
    # along the ray that grow with range; across it, neighbours stay apart beyond merge_range_m.
    centre = np.column_stack([lo_x + hi_x, lo_y + hi_y]) / 2
    sight = np.abs(centre / np.maximum(np.linalg.norm(centre, axis=1, keepdims=True), 1e-6))
    ux, uy = np.maximum(sight[:, None, 0], sight[None, :, 0]), np.maximum(sight[:, None, 1], sight[None, :, 1])
    across = gap_x * uy + gap_y * ux
    along_limit = np.maximum(config.merge_range_m, config.merge_range_ratio * np.minimum(lo_r[:, None], lo_r[None, :]))
    along_ray = (across < config.merge_range_m) & (gap < along_limit)
    # A roof ring: a thin layer behind a nearer cluster, level with that cluster's top edge.
    ring = (hi_z - lo_z) < RING_THICKNESS_M
    level = np.abs(hi_z[None, :] - hi_z[:, None]) < RING_THICKNESS_M
    behind = lo_r[:, None] < lo_r[None, :]
    roof = behind & ring[None, :] & level & (gap < config.merge_over_top_m)
    wraps = (hi_az - lo_az) > 180.0
    join = (az_gap < config.merge_azimuth_deg) & (along_ray | roof | roof.T)
    join &= ~wraps[:, None] & ~wraps[None, :]
    i, j = np.nonzero(np.triu(join, k=1))
    graph = coo_matrix((np.ones(i.size), (i, j)), shape=(n, n))
    n_merged, component = connected_components(graph, directed=False)
    merged = labels.copy()
    merged[member] = component[lab]
    return merged, int(n_merged)


def _interval_gap(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Pairwise gap between intervals [lo_i, hi_i] and [lo_j, hi_j] (negative when they overlap)."""
    return np.maximum(lo[:, None], lo[None, :]) - np.minimum(hi[:, None], hi[None, :])


def _extent(values: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster minimum and maximum of ``values`` (1-D: numpy's fast ``ufunc.at`` path)."""
    lo = np.full(n, np.inf, dtype=np.float32)
    hi = np.full(n, -np.inf, dtype=np.float32)
    np.minimum.at(lo, labels, values)
    np.maximum.at(hi, labels, values)
    return lo, hi
