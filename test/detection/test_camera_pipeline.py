"""The perception node's camera half without a node: batches on the worker (never two at once), object
lists released when their cameras answered or their wait is over, a failing batch an ERROR that holds
no list back, and the rig checked at start-up."""

from __future__ import annotations

import dataclasses
import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("rclpy") is None or importlib.util.find_spec("onnxruntime") is None:
    pytest.skip("rclpy and onnxruntime are not installed (make test installs them)", allow_module_level=True)

from av_edge.core.camera import CameraConfig, load_rig
from av_edge.core.detection.manifest import ModelPackage
from av_edge.core.diagnostics import Level
from av_edge.core.errors import ConfigError
from av_edge.core.fusion.associate import EgoMotion
from av_edge.core.image import array_to_image
from av_edge.core.objects import OBJECT_DTYPE
from av_edge.paths import config_file
from av_edge.ros.camera_handler import CameraDetections
from av_edge.ros.camera_pipeline import CameraPipeline
from av_edge.ros.fusion_handler import ScanObjects
from av_edge.ros.messages import camera_info_msg, image_msg
from av_edge.suite.stack import StackConfig
from test.detection.conftest import HEIGHT, WIDTH, detection_config

MS = 1_000_000
STACK = StackConfig.load()
FRONT = dataclasses.replace(
    next(c for c in load_rig(config_file("vehicle.yaml")) if c.name == "front"), width=WIDTH, height=HEIGHT
)


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def image(stamp_ns: int):
    return image_msg(array_to_image(np.zeros((HEIGHT, WIDTH, 3), np.uint8), "bgr8"), stamp_ns, "front_optical")


def scan(stamp_ns: int) -> ScanObjects:
    return ScanObjects(stamp_ns, np.zeros(0, OBJECT_DTYPE), EgoMotion(0.0, 0.0))


def pipeline(
    package: ModelPackage, tmp_path: Path, clock: Clock, batches: list[list[CameraDetections]], rig=(FRONT,)
) -> CameraPipeline:
    config = dataclasses.replace(STACK.perception, camera_detection=detection_config(package.path, tmp_path))
    out = CameraPipeline(
        config, rig, "vehicle.yaml", clock, lambda now: EgoMotion(0.0, 0.0), batches.append, print, print
    )
    out.fusion.on_camera_info("front", camera_info_msg(FRONT, 0))
    return out


def test_a_list_goes_out_when_its_camera_answered_or_its_wait_is_over(
    yolo_package: ModelPackage, tmp_path: Path
) -> None:
    clock, batches = Clock(), list[list[CameraDetections]]()
    cameras = pipeline(yolo_package, tmp_path, clock, batches)
    assert cameras.waits_for_cameras
    cameras.on_image("front", image(0))  # the camera's image of the moment is in: a batch starts on the worker
    cameras.wait(10.0)
    assert [len(b) for b in batches] == [1]
    clock.now = 5 * MS
    (first,) = cameras.on_scan(scan(0)).lists  # its detections are already in: out at once
    assert first.stamp_ns == 0 and first.missing == {} and cameras.fusion.fused["front"] == 1
    clock.now = 105 * MS
    assert cameras.on_scan(scan(100 * MS)).lists == []  # a live camera's detections are still coming
    cameras.on_image("front", image(100 * MS))
    cameras.wait(10.0)
    (second,) = cameras.tick().lists
    assert second.stamp_ns == 100 * MS and cameras.fusion.fused["front"] == 2
    clock.now = 205 * MS
    assert cameras.on_scan(scan(200 * MS)).lists == []
    wait_ns = int(STACK.perception.fusion.timeout_s * 1e9)
    clock.now = 200 * MS + wait_ns - MS
    assert cameras.tick().lists == []
    clock.now = 200 * MS + wait_ns + 5 * MS
    (third,) = cameras.tick().lists  # no image came: the list goes out without it when the wait is over
    assert third.stamp_ns == 200 * MS and "front" in third.missing
    cameras.shutdown()


def test_never_two_batches_at_once_the_next_takes_the_newest_image(yolo_package: ModelPackage, tmp_path: Path) -> None:
    clock, batches = Clock(), list[list[CameraDetections]]()
    cameras = pipeline(yolo_package, tmp_path, clock, batches)
    detector = cameras.detection.detector
    assert detector is not None
    started, go = threading.Event(), threading.Event()
    backend = detector.backend

    class Held:
        name = "held"

        def infer(self, batch: np.ndarray) -> np.ndarray:
            started.set()
            go.wait(10.0)
            return backend.infer(batch)

        def close(self) -> None:
            """Nothing held."""

    detector.backend = Held()
    cameras.on_image("front", image(0))
    assert started.wait(10.0)
    for t in (100, 200):  # the first batch still runs: these wait, the newer replacing the older
        clock.now = t * MS
        cameras.on_image("front", image(t * MS))
    assert cameras.detection.batches == 0
    go.set()
    cameras.wait(10.0)
    clock.now = 201 * MS
    cameras.tick()
    cameras.wait(10.0)
    assert [[r.frame.stamp_ns for r in b] for b in batches] == [[0], [200 * MS]]
    cameras.shutdown()


def test_a_failing_batch_is_an_error_and_holds_no_list_back(yolo_package: ModelPackage, tmp_path: Path) -> None:
    clock, batches = Clock(), list[list[CameraDetections]]()
    cameras = pipeline(yolo_package, tmp_path, clock, batches)
    assert cameras.detection.detector is not None

    class Raising:
        name = "raising"

        def infer(self, batch: np.ndarray) -> np.ndarray:
            raise ValueError("inference exploded")

        def close(self) -> None:
            """Nothing held."""

    cameras.detection.detector.backend = Raising()
    cameras.on_image("front", image(0))
    cameras.wait(10.0)
    assert batches == [] and cameras.detection.failed_batches == 1
    status = cameras.detection.status(10 * MS)
    assert status.level is Level.ERROR and "ValueError: inference exploded" in status.message
    clock.now = 10 * MS
    (fused,) = cameras.on_scan(scan(0)).lists  # a camera with no detections yet is not waited for
    assert fused.stamp_ns == 0 and fused.missing == {"front": "no detections yet"}
    cameras.shutdown()


def test_a_camera_not_in_the_rig_is_refused_naming_the_file(yolo_package: ModelPackage, tmp_path: Path) -> None:
    other: CameraConfig = dataclasses.replace(FRONT, name="rear")
    with pytest.raises(
        ConfigError, match=r"camera_detection.cameras \['front'\] are not in vehicle.yaml \(\['rear'\]\)"
    ):
        pipeline(yolo_package, tmp_path, Clock(), [], rig=(other,))
