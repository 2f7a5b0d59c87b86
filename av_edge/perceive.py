"""``av-edge perceive FILE``: the LiDAR pipeline on a point cloud file, obstacles as a table and JSON.

Reads KITTI ``.bin`` (float32 x, y, z, intensity), ``.npy`` ((N, >=3) or structured x/y/z), and
``.pcd``/``.ply`` (through open3d, installed with ``pip install open3d-cpu``). Results are in the
sensor frame.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from av_edge.core.config import build_config
from av_edge.core.geometry import Extrinsic, transform_points
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.perception.pipeline import LidarPipeline, PerceptionConfig, SelfCropConfig
from av_edge.core.vehicle import load_node_params
from av_edge.paths import config_file


class CloudFileError(ValueError):
    """A point cloud file that cannot be read."""


def read_points(path: Path) -> np.ndarray:
    """``(N, 3)`` float32 finite points from a KITTI .bin, .npy, .pcd or .ply file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".bin":
            raw = np.fromfile(path, dtype="<f4")
            if raw.size % 4:
                raise CloudFileError(f"{path}: {raw.size} floats is not a multiple of 4 (KITTI x, y, z, intensity)")
            xyz = raw.reshape(-1, 4)[:, :3]
        elif suffix == ".npy":
            xyz = _npy_points(np.load(path, allow_pickle=False), path)
        elif suffix in (".pcd", ".ply"):
            xyz = _open3d_points(path)
        else:
            raise CloudFileError(f"{path}: unsupported extension '{suffix}' (.bin, .npy, .pcd, .ply)")
    except OSError as err:
        raise CloudFileError(f"{path}: {err}") from None
    xyz = np.asarray(xyz, dtype=np.float32)
    return xyz[np.isfinite(xyz).all(axis=1)]


def _npy_points(array: np.ndarray, path: Path) -> np.ndarray:
    if array.dtype.names:
        if not {"x", "y", "z"} <= set(array.dtype.names):
            raise CloudFileError(f"{path}: structured array without x/y/z fields")
        return np.column_stack([array["x"].ravel(), array["y"].ravel(), array["z"].ravel()])
    if array.ndim != 2 or array.shape[1] < 3:
        raise CloudFileError(f"{path}: expected an (N, >=3) array, got shape {array.shape}")
    return array[:, :3]


def _open3d_points(path: Path) -> np.ndarray:
    try:
        import open3d as o3d
    except ImportError as err:
        raise CloudFileError(f"{path}: reading .pcd/.ply needs open3d (pip install open3d-cpu): {err}") from None
    return np.asarray(o3d.io.read_point_cloud(path).points)


def perceive(xyz_sensor: np.ndarray, extrinsic: Extrinsic, params_file: Path | None = None) -> list[dict[str, Any]]:
    """Obstacles in the sensor frame, nearest first: centre, size, yaw, point count, range."""
    params = load_node_params(params_file or config_file("perception.params.yaml"), "perception_node")
    pipeline_config: PerceptionConfig = build_config(PerceptionNodeConfig, params).pipeline
    # The file's sensor is mounted by `extrinsic`; its own vehicle body is unknown, so nothing is cropped.
    pipeline_config = dataclasses.replace(
        pipeline_config, lidar_extrinsic=extrinsic, self_crop=SelfCropConfig(0.0, 0.0, 0.0)
    )
    frame = LidarPipeline(pipeline_config).process(xyz_sensor, 0, None)
    objects = frame.objects
    counts = np.bincount(frame.cluster_ids[frame.cluster_ids >= 0], minlength=objects.size)
    base_to_sensor = np.linalg.inv(extrinsic.matrix())
    centres = transform_points(base_to_sensor, np.column_stack([objects["x"], objects["y"], objects["z"]]))
    records = [
        {
            "x": round(float(c[0]), 3),
            "y": round(float(c[1]), 3),
            "z": round(float(c[2]), 3),
            "length": round(float(o["length"]), 3),
            "width": round(float(o["width"]), 3),
            "height": round(float(o["height"]), 3),
            "yaw": round(float(o["yaw"] - extrinsic.yaw), 4),
            "n_points": int(n),
            "range": round(float(np.hypot(c[0], c[1])), 3),
        }
        for c, o, n in zip(centres, objects, counts, strict=True)
    ]
    return sorted(records, key=lambda r: r["range"])


def format_table(records: Sequence[dict[str, Any]]) -> str:
    keys = ("range", "x", "y", "z", "length", "width", "height", "yaw", "n_points")
    lines = ["  ".join(f"{k:>8s}" for k in keys)]
    lines += ["  ".join(f"{r[k]:8.2f}" if isinstance(r[k], float) else f"{r[k]:8d}" for k in keys) for r in records]
    return "\n".join(lines)


def main(path: Path, sensor_height: float, extrinsic: Sequence[float] | None, json_path: Path | None) -> int:
    try:
        xyz = read_points(path)
    except CloudFileError as err:
        print(f"av-edge perceive: {err}")
        return 2
    mount = Extrinsic(*extrinsic) if extrinsic else Extrinsic(0.0, 0.0, sensor_height, 0.0, 0.0, 0.0)
    records = perceive(xyz, mount)
    print(f"{path}: {xyz.shape[0]} points, {len(records)} obstacles (sensor frame)")
    print(format_table(records))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(
            json.dumps({"file": str(path), "points": int(xyz.shape[0]), "obstacles": records}, indent=2) + "\n"
        )
        print(f"written to {json_path}")
    return 0
