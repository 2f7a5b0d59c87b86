"""Clustering of obstacle points: connected cells of a 2D grid, then fragments along a ray joined.

A grid alone splits objects that the LiDAR samples sparsely: side faces seen at grazing angles
(successive columns land metres apart along the face) and roofs (one ring lands somewhere on the
roof, up to a car length behind the rear face). Clusters that overlap in azimuth are therefore
merged when they nearly touch in range (a tolerance growing with range), or when the farther one
is only seen over the top of the nearer one within ``merge_over_top_m``. The work is per cluster,
not per point.
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
OVER_TOP_SLACK_M = 0.3


@dataclass(frozen=True)
class ClusterConfig:
    cell_m: float = bounded(0.05, 2.0, "grid cell; points in touching cells join a cluster")
    min_points: int = bounded(1, 10000, "smaller clusters are noise (spray, rain)")
    max_range_m: float = bounded(1.0, 300.0)
    merge_azimuth_deg: float = bounded(0.0, 10.0, "clusters closer than this in azimuth may merge")
    merge_range_m: float = bounded(0.0, 10.0, "... when closer than this in range")
    merge_range_ratio: float = bounded(0.0, 0.5, "... or this fraction of their range, if larger")
    merge_over_top_m: float = bounded(0.0, 20.0, "... or when seen over the top of the nearer one this close")


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
    inside = np.abs(points[:, :2]).max(axis=1, initial=0.0) < config.max_range_m if points.size else labels >= 0
    if not inside.any():
        return labels, 0
    cells = np.floor(points[inside, :2] / config.cell_m).astype(np.intp)
    origin = cells.min(axis=0)
    cells -= origin
    occupied = np.zeros(tuple(cells.max(axis=0) + 1), dtype=bool)
    occupied[cells[:, 0], cells[:, 1]] = True
    cell_labels, n = ndimage.label(occupied, structure=_EIGHT_CONNECTED)
    labels[inside] = cell_labels[cells[:, 0], cells[:, 1]] - 1
    return labels, int(n)


def _merge_along_rays(points: np.ndarray, labels: np.ndarray, n: int, config: ClusterConfig) -> tuple[np.ndarray, int]:
    member = labels >= 0
    rng, azimuth = polar(points[member])
    azimuth = (azimuth + 180.0) % 360.0  # 0 deg behind the vehicle: clusters ahead never wrap
    lab = labels[member]
    lo_az, hi_az = _extent(azimuth, lab, n)
    lo_r, hi_r = _extent(rng, lab, n)
    lo_z, hi_z = _extent(points[member, 2], lab, n)
    az_gap = np.maximum(lo_az[:, None], lo_az[None, :]) - np.minimum(hi_az[:, None], hi_az[None, :])
    r_gap = np.maximum(lo_r[:, None], lo_r[None, :]) - np.minimum(hi_r[:, None], hi_r[None, :])
    tolerance = np.maximum(config.merge_range_m, config.merge_range_ratio * np.minimum(lo_r[:, None], lo_r[None, :]))
    wraps = (hi_az - lo_az) > 180.0
    # over_top[i, j]: j lies behind i and shows only above i's top edge (a roof ring behind a rear face).
    over_top = (lo_r[:, None] < lo_r[None, :]) & (lo_z[None, :] >= hi_z[:, None] - OVER_TOP_SLACK_M)
    over_top &= r_gap < config.merge_over_top_m
    near = (r_gap < tolerance) | over_top | over_top.T
    join = (az_gap < config.merge_azimuth_deg) & near & ~wraps[:, None] & ~wraps[None, :]
    i, j = np.nonzero(np.triu(join, k=1))
    graph = coo_matrix((np.ones(i.size), (i, j)), shape=(n, n))
    n_merged, component = connected_components(graph, directed=False)
    merged = labels.copy()
    merged[member] = component[lab]
    return merged, int(n_merged)


def _extent(values: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(n, np.inf, dtype=np.float32)
    hi = np.full(n, -np.inf, dtype=np.float32)
    np.minimum.at(lo, labels, values)
    np.maximum.at(hi, labels, values)
    return lo, hi
