"""Pinhole camera models and the camera rig file (``config/vehicle.yaml``), shared by simulator and fusion.

Frames: a camera's body frame is x forward, y left, z up (like base_link); its optical frame
(``<name>_optical``, what images and CameraInfo refer to) is x right, y down, z forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from av_edge.core.config import bounded, build_config
from av_edge.core.errors import ConfigError
from av_edge.core.geometry import Extrinsic

#: optical <- body rotation: x_opt = -y_body, y_opt = -z_body, z_opt = x_body
OPTICAL_FROM_BODY = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


@dataclass(frozen=True)
class CameraConfig:
    name: str
    extrinsic: Extrinsic  # base_link <- camera body frame
    width: int = bounded(16, 8192)
    height: int = bounded(16, 8192)
    horizontal_fov_deg: float = bounded(10.0, 170.0)

    @property
    def optical_frame(self) -> str:
        return f"{self.name}_optical"

    def intrinsics(self) -> np.ndarray:
        """3x3 K with square pixels and the principal point at the image centre."""
        f = (self.width / 2) / math.tan(math.radians(self.horizontal_fov_deg) / 2)
        return np.array([[f, 0.0, self.width / 2], [0.0, f, self.height / 2], [0.0, 0.0, 1.0]])

    def optical_from_base(self) -> np.ndarray:
        """4x4 transform taking base_link points into the optical frame."""
        base_from_body = self.extrinsic.matrix()
        transform = np.eye(4)
        transform[:3, :3] = OPTICAL_FROM_BODY @ base_from_body[:3, :3].T
        transform[:3, 3] = -transform[:3, :3] @ base_from_body[:3, 3]
        return transform


def project(points_optical: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Pixel coordinates ``(N, 2)`` of optical-frame points (z > 0 assumed)."""
    return (points_optical[:, :2] / points_optical[:, 2:3]) @ k[:2, :2].T + k[:2, 2]


def load_rig(path: Path) -> tuple[CameraConfig, ...]:
    """The cameras of a rig file; names unique, rotations sane, fields validated."""
    try:
        document = yaml.safe_load(path.read_text())
        entries = document["cameras"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise ConfigError(f"camera rig {path}: {err}") from None
    cameras = []
    for entry in entries:
        flat = {k: v for k, v in entry.items() if k != "extrinsic"}
        flat.update({f"extrinsic.{k}": v for k, v in (entry.get("extrinsic") or {}).items()})
        cameras.append(build_config(CameraConfig, flat, where=f"camera '{entry.get('name')}' in {path}"))
    names = [c.name for c in cameras]
    if len(set(names)) != len(names) or not names:
        raise ConfigError(f"camera rig {path}: camera names must be unique and at least one: {names}")
    return tuple(cameras)
