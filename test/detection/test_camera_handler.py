"""When a detection batch starts: all live cameras in, or the first image waited batch_wait_s; at most
rate_hz batches a second; malformed images are rejected and counted."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (make test installs it)", allow_module_level=True)

from av_edge.core.detection.manifest import ModelPackage
from av_edge.core.image import array_to_image
from av_edge.ros.camera_handler import CameraDetectionHandler
from av_edge.ros.messages import image_msg
from test.detection.conftest import detection_config

MS = 1_000_000


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
