"""Per-camera calibration: intrinsics from CameraInfo, extrinsics from the rig file, checked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from av_edge.core.camera import CameraConfig
from av_edge.core.errors import ConfigError, MessageError


class BadCalibrationError(MessageError):
    reason = "bad_calibration"


@dataclass(frozen=True)
class CameraCalibration:
    name: str
    k: np.ndarray  # 3x3
    width: int
    height: int
    optical_from_base: np.ndarray  # 4x4


def intrinsics_from_camera_info(k: Sequence[float], width: int, height: int, camera: str) -> np.ndarray:
    """The 3x3 K of a CameraInfo (row-major ``k``), checked: positive focal lengths, principal point
    inside the image, zero skew row; BadCalibrationError otherwise."""
    matrix = np.asarray(k, float).reshape(3, 3)
    fx, fy, cx, cy = matrix[0, 0], matrix[1, 1], matrix[0, 2], matrix[1, 2]
    if not np.all(np.isfinite(matrix)) or fx <= 0 or fy <= 0:
        raise BadCalibrationError(f"camera {camera}: focal lengths must be positive, got fx={fx}, fy={fy}")
    if not (0 <= cx <= width and 0 <= cy <= height):
        raise BadCalibrationError(f"camera {camera}: principal point ({cx}, {cy}) outside {width}x{height}")
    if not np.allclose(matrix[2], [0, 0, 1]) or matrix[1, 0] != 0:
        raise BadCalibrationError(f"camera {camera}: K is not a pinhole matrix: {matrix.tolist()}")
    return matrix


def check_extrinsic(camera: CameraConfig) -> None:
    """Startup check of ``base_link <- camera``: an orthonormal rotation, a mount on the vehicle."""
    transform = camera.optical_from_base()
    rotation = transform[:3, :3]
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6) or not np.isclose(np.linalg.det(rotation), 1.0):
        raise ConfigError(f"camera {camera.name}: extrinsic rotation is not orthonormal")
    e = camera.extrinsic
    if not (abs(e.x) <= 10 and abs(e.y) <= 5 and 0 < e.z <= 5):
        raise ConfigError(f"camera {camera.name}: mount ({e.x}, {e.y}, {e.z}) m is not on a vehicle")


def calibration(camera: CameraConfig, k: np.ndarray, width: int, height: int) -> CameraCalibration:
    if (width, height) != (camera.width, camera.height):
        raise BadCalibrationError(
            f"camera {camera.name}: CameraInfo says {width}x{height}, the rig {camera.width}x{camera.height}"
        )
    return CameraCalibration(camera.name, k, width, height, camera.optical_from_base())
