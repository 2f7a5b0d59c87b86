"""Per-camera calibration: intrinsics and lens distortion from CameraInfo, extrinsics from the rig file, checked.

Detections are boxes in the camera's own (distorted) image, so object corners are projected through
the same distortion: ``plumb_bob`` (k1, k2, p1, p2, k3) and ``rational_polynomial`` (k1, k2, p1, p2,
k3, k4, k5, k6), OpenCV's model as ``sensor_msgs/CameraInfo`` names it. A CameraInfo whose D is all
zeros (what ``image_proc`` pairs with rectified images, and what a pinhole camera has) means none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from av_edge.core.camera import CameraConfig
from av_edge.core.errors import ConfigError, MessageError


class BadCalibrationError(MessageError):
    reason = "bad_calibration"


DISTORTION_MODELS = {"plumb_bob": 5, "rational_polynomial": 8}  # name -> coefficients
EDGE_MARGIN = 1.2  # the lens model is trusted out to 1.2 x the image's radius (polynomials fold back beyond)


@dataclass(frozen=True)
class CameraCalibration:
    name: str
    k: np.ndarray  # 3x3
    width: int
    height: int
    optical_from_base: np.ndarray  # 4x4
    distortion: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (0,), (5,) or (8,) OpenCV order
    max_r2: float = np.inf  # squared normalised radius up to which ``distortion`` applies

    def pixels(self, normalised: np.ndarray) -> np.ndarray:
        """``(N, 2)`` pixels of ``(N, 2)`` normalised image points (x/z, y/z) through the lens model;
        points beyond ``max_r2`` (far outside the image) go through the pinhole only."""
        xy = distort(normalised, self.distortion, self.max_r2) if self.distortion.size else normalised
        return xy @ self.k[:2, :2].T + self.k[:2, 2]


def distort(xy: np.ndarray, d: np.ndarray, max_r2: float) -> np.ndarray:
    """OpenCV's radial-tangential model (4.x ``projectPoints``), vectorised; identity beyond ``max_r2``."""
    x, y = xy[:, 0], xy[:, 1]
    k1, k2, p1, p2, k3 = d[:5]
    k4, k5, k6 = d[5:8] if d.size == 8 else (0.0, 0.0, 0.0)
    r2 = x * x + y * y
    radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    inside = (r2 <= max_r2)[:, None]
    return np.where(inside, np.stack([xd, yd], axis=1), xy)


def distortion_from_camera_info(model: str, d: Sequence[float], camera: str) -> np.ndarray:
    """The coefficients of a CameraInfo's ``distortion_model`` and ``d`` (empty: none), checked."""
    coefficients = np.asarray(d, float)
    if coefficients.size == 0 or not np.any(coefficients):
        return np.zeros(0)
    expected = DISTORTION_MODELS.get(model)
    if expected is None:
        raise BadCalibrationError(
            f"camera {camera}: distortion_model '{model}' is not supported ({', '.join(DISTORTION_MODELS)}; "
            "or publish rectified images with D all zeros)"
        )
    if coefficients.size < expected or not np.all(np.isfinite(coefficients)):
        raise BadCalibrationError(f"camera {camera}: {model} needs {expected} finite coefficients, got {list(d)}")
    return coefficients[:expected]


def valid_radius2(k: np.ndarray, distortion: np.ndarray, width: int, height: int) -> float:
    """Squared normalised radius of the image border, undistorted, times ``EDGE_MARGIN`` squared."""
    if distortion.size == 0:
        return float(np.inf)
    u = np.array([0, width / 2, width, 0, width, 0, width / 2, width], float)
    v = np.array([0, 0, 0, height / 2, height / 2, height, height, height], float)
    border = cv2.undistortPoints(np.stack([u, v], axis=1)[:, None, :], k, distortion).reshape(-1, 2)
    return float((border**2).sum(axis=1).max() * EDGE_MARGIN**2)


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


def calibration(
    camera: CameraConfig, k: np.ndarray, width: int, height: int, distortion: np.ndarray | None = None
) -> CameraCalibration:
    """The camera's calibration at the resolution its CameraInfo states (a driver may change it: K
    and D come with it); the pose from the rig."""
    if width <= 0 or height <= 0:
        raise BadCalibrationError(f"camera {camera.name}: CameraInfo size {width}x{height}")
    d = np.zeros(0) if distortion is None else distortion
    max_r2 = valid_radius2(k, d, width, height)
    return CameraCalibration(camera.name, k, width, height, camera.optical_from_base(), d, max_r2)
