"""Fusion at message level while the LiDAR is silent: camera batches make their own object lists."""

from __future__ import annotations

import numpy as np

from av_edge.core.fusion.associate import EgoMotion
from av_edge.core.objects import SOURCE_CAMERA
from av_edge.ros.camera_handler import CameraDetections, CameraFrame
from av_edge.ros.fusion_handler import FusionHandler
from av_edge.ros.messages import camera_info_msg
from test.core.fusion.test_fusion import MODEL_CLASSES, RIG, detection_at, fusion_config, objects

MS = 1_000_000
CAR = objects((22.25, 0.0, 4.5, 1.8, 1.5))


def batch(stamp_ns: int) -> list[CameraDetections]:
    frame = CameraFrame("front", stamp_ns, "front_optical", np.full((480, 640, 3), 120, np.uint8))
    return [CameraDetections(frame, detection_at(CAR, "front", MODEL_CLASSES.index("car")))]


def test_with_no_scan_for_lidar_silent_s_each_camera_batch_makes_a_list_of_camera_only_objects() -> None:
    config = fusion_config()
    fusion = FusionHandler(config, {"front": RIG["front"]}, MODEL_CLASSES, 100.0, print)
    fusion.on_camera_info("front", camera_info_msg(RIG["front"], 0))
    fusion.on_camera_batch(batch(0), EgoMotion(0.0, 0.0), 0)  # a LiDAR just starting is not silent yet
    assert fusion.release(10 * MS) == []
    later = int(config.lidar_silent_s * 1e9) + 100 * MS
    fusion.on_camera_batch(batch(later), EgoMotion(0.0, 0.0), later)
    (fused,) = fusion.release(later + 10 * MS)
    assert fused.stamp_ns == later and fused.objects["source"].tolist() == [SOURCE_CAMERA]
    assert abs(float(fused.objects["x"][0]) - 22.25) < 0.5 and fusion.camera_only_lists == 1
