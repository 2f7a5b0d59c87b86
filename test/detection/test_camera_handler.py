"""When a detection batch starts: all live cameras in, or the first image waited batch_wait_s; at most
rate_hz batches a second; malformed images are rejected and counted; a failing batch is an ERROR."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (make test installs it)", allow_module_level=True)

from av_edge.core.detection.manifest import ModelPackage
from av_edge.core.diagnostics import Level
from av_edge.core.image import array_to_image
from av_edge.core.pointcloud import xyz_to_cloud
from av_edge.ros.camera_handler import CameraDetectionHandler
from av_edge.ros.handlers import PerceptionHandler
from av_edge.ros.messages import cloud_msg, image_msg
from av_edge.runtime.worker import Worker
from av_edge.suite.stack import StackConfig
from test.detection.conftest import detection_config

MS = 1_000_000
STACK = StackConfig.load()


def image(stamp_ns: int):
    return image_msg(array_to_image(np.zeros((384, 640, 3), np.uint8), "bgr8"), stamp_ns, "front_optical")


def test_a_batch_waits_for_every_live_camera_or_the_batch_wait(yolo_package: ModelPackage, tmp_path: Path) -> None:
    config = dataclasses.replace(detection_config(yolo_package.path, tmp_path), cameras=("front", "left"))
    handler = CameraDetectionHandler(config, 100.0, print)
    assert not handler.due(0)
    handler.on_image("front", image(0), 0)
    assert handler.due(1 * MS)  # "left" never sent anything: it is not waited for
    assert len(handler.detect(lambda: 2 * MS)) == 1
    for t in (100, 101):  # both cameras alive now
        handler.on_image("front", image(t * MS), t * MS)
        handler.on_image("left", image(t * MS), t * MS)
    handler.detect(lambda: 102 * MS)
    handler.on_image("front", image(200 * MS), 200 * MS)
    assert not handler.due(205 * MS)  # waiting for "left" of the same moment ...
    assert handler.due(221 * MS)  # ... at most batch_wait_s (20 ms)
    handler.detect(lambda: 222 * MS)
    handler.on_image("front", image(230 * MS), 230 * MS)
    handler.on_image("left", image(230 * MS), 230 * MS)
    assert not handler.due(231 * MS)  # a batch began 10 ms ago: rate_hz 10 caps it
    assert handler.due(321 * MS)


def test_malformed_images_are_rejected_and_counted(yolo_package: ModelPackage, tmp_path: Path) -> None:
    handler = CameraDetectionHandler(detection_config(yolo_package.path, tmp_path), 100.0, print)
    bad = image(0)
    bad.step = 7
    handler.on_image("front", bad, 0)
    assert handler.health.rejected == {"front_malformed_image": 1}
    assert not handler.ready(0)


class RaisingBackend:
    name = "raising"

    def infer(self, batch: np.ndarray) -> np.ndarray:
        raise ValueError(f"inference exploded on a {batch.shape} batch")

    def close(self) -> None:
        """Nothing held."""


def test_a_raising_backend_turns_detection_to_error_and_lidar_goes_on(
    yolo_package: ModelPackage, tmp_path: Path
) -> None:
    """The worker's exception is read, counted, logged once a second and named in the status; the
    next good batch clears it. LiDAR perception in the same process keeps publishing meanwhile."""
    logged: list[str] = []
    handler = CameraDetectionHandler(detection_config(yolo_package.path, tmp_path), 100.0, logged.append)
    assert handler.detector is not None
    good_backend, handler.detector.backend = handler.detector.backend, RaisingBackend()
    clock = {"now": 0}
    worker = Worker("test_detection", lambda err: handler.on_batch_failed(err, clock["now"]))
    lidar = PerceptionHandler(STACK.perception, logged.append)
    for i in range(3):
        clock["now"] = t = i * 100 * MS
        handler.on_image("front", image(t), t)
        assert handler.due(t) and worker.submit(lambda: handler.detect(lambda: clock["now"]))
        worker.wait(10.0)
        assert lidar.on_cloud(lidar_scan(t), t) is not None  # LiDAR objects still come
    status = handler.status(250 * MS)
    assert (
        status.level is Level.ERROR and "ValueError: inference exploded on a (1, 3, 384, 640) batch" in status.message
    )
    assert status.values["failed_batches"] == "3"
    assert len([line for line in logged if "batch failed" in line]) == 1  # rate-limited: once a second
    handler.detector.backend = good_backend
    handler.on_image("front", image(300 * MS), 300 * MS)
    assert handler.due(300 * MS) and worker.submit(lambda: handler.detect(lambda: 301 * MS))
    worker.wait(10.0)
    assert handler.status(310 * MS).level is not Level.ERROR
    worker.shutdown()


def lidar_scan(stamp_ns: int):
    rng = np.random.default_rng(stamp_ns)
    ground = np.column_stack([rng.uniform(2, 40, 2000), rng.uniform(-10, 10, 2000), np.full(2000, -1.9)])
    car = np.column_stack([np.full(300, 15.0), rng.uniform(-0.9, 0.9, 300), rng.uniform(-1.6, -0.5, 300)])
    return cloud_msg(xyz_to_cloud(np.vstack([ground, car]).astype(np.float32)), stamp_ns, "lidar")


def test_a_covered_camera_is_a_warning_of_its_own_and_detection_goes_on(
    yolo_package: ModelPackage, tmp_path: Path
) -> None:
    """Camera health runs on every decoded frame, named per camera; a stale one is said too."""
    config = dataclasses.replace(detection_config(yolo_package.path, tmp_path), cameras=("front", "left"))
    handler = CameraDetectionHandler(config, 100.0, print, STACK.perception.camera_health)
    rng = np.random.default_rng(0)
    for k in range(8):  # 0.7 s: a lens cap on "front" (read noise only); "left" sees texture
        t = k * 100 * MS
        cap = np.clip(rng.normal(8.0, 2.0, (384, 640, 3)), 0, 255).astype(np.uint8)
        scene = rng.integers(0, 255, (384, 640, 3), dtype=np.uint8)
        for camera, frame in (("front", cap), ("left", scene)):
            handler.on_image(camera, image_msg(array_to_image(frame, "bgr8"), t, f"{camera}_optical"), t)
        if handler.due(t):
            handler.detect(lambda: 700 * MS)
    statuses = {s.name: s for s in handler.camera_statuses(700 * MS)}
    assert statuses["av_edge: camera front"].level == Level.WARN
    assert statuses["av_edge: camera front"].message.startswith("blank")
    assert statuses["av_edge: camera left"].level == Level.OK
    assert handler.batches > 0  # the detector kept running on both
    later = {s.name: s for s in handler.camera_statuses(1_400 * MS)}
    assert "stale" in later["av_edge: camera left"].message


def test_a_faulty_camera_is_not_detected_on_and_fusion_is_not_kept_waiting(
    yolo_package: ModelPackage, tmp_path: Path
) -> None:
    """A blank or frozen frame shows nothing or the past (ghosts): once the camera's fault is raised
    its frames skip the model, each gets an empty detection set at once (fusion does not wait for
    it), and the frames withheld are counted in the status."""
    config = dataclasses.replace(detection_config(yolo_package.path, tmp_path), cameras=("front", "left"))
    handler = CameraDetectionHandler(config, 100.0, print, STACK.perception.camera_health)
    assert handler.detector is not None
    model_inputs: list[int] = []
    detect = handler.detector.detect

    def counted(images: list[np.ndarray]) -> list[np.ndarray]:
        model_inputs.append(len(images))
        return detect(images)

    handler.detector.detect = counted  # type: ignore[method-assign]
    rng = np.random.default_rng(0)
    results = []
    for k in range(8):
        t = k * 100 * MS
        cap = np.clip(rng.normal(8.0, 2.0, (384, 640, 3)), 0, 255).astype(np.uint8)
        scene = rng.integers(0, 255, (384, 640, 3), dtype=np.uint8)
        for camera, frame in (("front", cap), ("left", scene)):
            handler.on_image(camera, image_msg(array_to_image(frame, "bgr8"), t, f"{camera}_optical"), t)
        results = handler.detect(functools.partial(int, t + MS))
    assert model_inputs[0] == 2 and model_inputs[-1] == 1  # both at first; "left" alone once "front" is blank
    assert {r.frame.camera: r.detections.size for r in results}["front"] == 0
    assert len(results) == 2  # "front" answered (empty), so nothing waits for it
    assert handler.withheld == model_inputs.count(1)
    assert handler.status(800 * MS).values["withheld_frames"] == str(handler.withheld)
