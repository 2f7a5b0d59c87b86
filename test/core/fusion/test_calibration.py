"""Lens distortion and CameraInfo updates: projections match OpenCV's, calibrations follow the camera."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo

from av_edge.core.camera import load_rig
from av_edge.core.detection.boxes import DETECTION_DTYPE
from av_edge.core.fusion.associate import box_corners, project_objects
from av_edge.core.fusion.calibration import BadCalibrationError, calibration, distortion_from_camera_info
from av_edge.paths import config_file
from av_edge.ros.camera_handler import CameraDetections, CameraFrame
from av_edge.ros.fusion_handler import FusionHandler, ScanObjects
from test.core.fusion.test_fusion import MODEL_CLASSES, STILL, fusion_config, objects

RIG = {c.name: c for c in load_rig(config_file("vehicle.yaml"))}
FRONT = RIG["front"]
LENSES = {
    "plumb_bob": [-0.30, 0.10, 0.001, -0.002, -0.015],  # a wide automotive lens: strong barrel
    "rational_polynomial": [0.5, -0.2, 0.001, 0.0005, 0.02, 0.8, -0.05, 0.03],
}


@pytest.mark.parametrize("model", LENSES)
def test_projection_through_the_lens_matches_opencv(model: str) -> None:
    d = distortion_from_camera_info(model, LENSES[model], "front")
    calibrated = calibration(FRONT, FRONT.intrinsics(), FRONT.width, FRONT.height, d)
    rng = np.random.default_rng(5)
    # points in view: the image's pixels, undistorted to rays, at random depths
    pixels = rng.uniform([0, 0], [FRONT.width, FRONT.height], (500, 2))
    rays = cv2.undistortPoints(pixels[:, None, :], calibrated.k, d, criteria=(3, 100, 1e-12)).reshape(-1, 2)
    points = np.column_stack([rays, np.ones(len(rays))]) * rng.uniform(2, 80, (len(rays), 1))
    expected, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), calibrated.k, d)
    ours = calibrated.pixels(points[:, :2] / points[:, 2:])
    np.testing.assert_allclose(ours, expected.reshape(-1, 2), atol=1e-6)
    np.testing.assert_allclose(ours, pixels, atol=0.05)  # and back to where they came from


def test_far_outside_the_image_the_lens_polynomial_is_not_trusted() -> None:
    d = distortion_from_camera_info("plumb_bob", LENSES["plumb_bob"], "front")
    calibrated = calibration(FRONT, FRONT.intrinsics(), FRONT.width, FRONT.height, d)
    far = np.array([[4.0, 0.0], [8.0, 0.0]])  # 76 and 83 deg off axis: the barrel polynomial folds back there
    pinhole = far @ calibrated.k[:2, :2].T + calibrated.k[:2, 2]
    np.testing.assert_allclose(calibrated.pixels(far), pinhole)
    assert np.all(np.diff(calibrated.pixels(np.linspace([0, 0], [8, 0], 200))[:, 0]) > 0)  # monotonic outwards


def test_a_car_projects_where_a_distorting_camera_sees_it() -> None:
    d = distortion_from_camera_info("plumb_bob", LENSES["plumb_bob"], "front")
    calibrated = calibration(FRONT, FRONT.intrinsics(), FRONT.width, FRONT.height, d)
    car = objects((12.0, 3.0, 4.5, 1.8, 1.5))
    corners = box_corners(car, 0.0, STILL)
    optical = corners.reshape(-1, 3) @ FRONT.optical_from_base()[:3, :3].T + FRONT.optical_from_base()[:3, 3]
    seen, _ = cv2.projectPoints(optical, np.zeros(3), np.zeros(3), calibrated.k, d)
    expected = np.concatenate([seen.reshape(-1, 2).min(axis=0), seen.reshape(-1, 2).max(axis=0)])
    boxes, visible = project_objects(corners, calibrated)
    assert visible[0]
    np.testing.assert_allclose(boxes[0], expected.clip(0, [FRONT.width, FRONT.height] * 2), atol=1e-3)
    pinhole, _ = project_objects(corners, calibration(FRONT, FRONT.intrinsics(), FRONT.width, FRONT.height))
    assert np.abs(pinhole[0] - boxes[0]).max() > 10  # without the lens model the box would miss by pixels


def test_distortion_models_are_checked() -> None:
    assert distortion_from_camera_info("plumb_bob", [0.0] * 5, "front").size == 0  # rectified / pinhole
    assert distortion_from_camera_info("", [], "front").size == 0
    with pytest.raises(BadCalibrationError, match=r"equidistant.*plumb_bob, rational_polynomial"):
        distortion_from_camera_info("equidistant", [0.1, 0.0, 0.0, 0.0], "front")
    with pytest.raises(BadCalibrationError, match="needs 8"):
        distortion_from_camera_info("rational_polynomial", [0.1] * 5, "front")


def camera_info(k: np.ndarray, width: int, height: int, d: list[float] | None = None) -> CameraInfo:
    return CameraInfo(width=width, height=height, k=k.ravel().tolist(), distortion_model="plumb_bob", d=d or [0.0] * 5)


def test_camera_info_updates_are_taken_and_a_resolution_change_waits_for_its_camera_info() -> None:
    lines: list[str] = []
    handler = FusionHandler(fusion_config(), {"front": FRONT}, MODEL_CLASSES, 100.0, lines.append)
    k = FRONT.intrinsics()
    for _ in range(30):  # the driver repeats it with every frame: taken once, logged never
        handler.on_camera_info("front", camera_info(k, FRONT.width, FRONT.height))
    assert handler.calibrations["front"].width == FRONT.width and lines == []
    handler.on_camera_info("front", camera_info(k, FRONT.width, FRONT.height, LENSES["plumb_bob"]))
    assert handler.calibrations["front"].distortion.size == 5 and "changed" in lines[-1]
    for _ in range(5):  # a bad one (f = 0) keeps the last good calibration, said once
        handler.on_camera_info("front", camera_info(np.zeros((3, 3)), FRONT.width, FRONT.height))
    assert handler.calibrations["front"].distortion.size == 5
    assert sum("rejected" in line for line in lines) == 1
    # The driver switches to twice the resolution: its frames are not fused with the old K ...
    big = (2 * FRONT.width, 2 * FRONT.height)
    assert fuse_once(handler, big, 1) == {"front": "image size differs from camera_info"}
    assert fuse_once(handler, (FRONT.width, FRONT.height), 2) == {}
    # ... until the CameraInfo of the new resolution comes
    handler.on_camera_info("front", camera_info(k * [[2], [2], [1]], *big))
    assert fuse_once(handler, big, 3) == {}


def fuse_once(handler: FusionHandler, size: tuple[int, int], second: int) -> dict[str, str]:
    """One scan and one camera frame of ``size`` at the same stamp, released: what was missing."""
    t = second * 1_000_000_000
    frame = CameraFrame("front", t, "front_optical", np.zeros((size[1], size[0], 3), np.uint8))
    handler.on_detections([CameraDetections(frame, np.zeros(0, DETECTION_DTYPE))], t)
    handler.on_scan(ScanObjects(t, objects((12.0, 0.0, 4.5, 1.8, 1.5)), STILL), t)
    (fused,) = handler.release(t + 500_000_000)
    return fused.missing
