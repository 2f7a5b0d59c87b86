"""The perception node's camera half in a lock-step run: detection on the rendered images and fusion.

The same handlers as ``perception_node``, built by the same :func:`camera_handlers`, driven
synchronously: each scan's images are detected (one batch for every camera), the scan's
LiDAR objects are fused with them, and the fused list (what the node publishes) goes to the AEB.
Every stage's wall-clock cost is recorded per scan, for the report; the list reaches the AEB after
the run's cost profile (``fused_objects_delay_ms``), so outcomes do not depend on the machine's load.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image, PointCloud2

from av_edge.core.camera import CameraConfig
from av_edge.core.fusion.associate import EgoMotion
from av_edge.core.objects import encode_objects
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.ros.camera_pipeline import camera_handlers
from av_edge.ros.fusion_handler import ScanObjects
from av_edge.ros.messages import camera_info_msg, cloud_msg, diagnostic_array

Log = Callable[[str], None]


class CameraStack:
    def __init__(self, config: PerceptionNodeConfig, rig: Sequence[CameraConfig], log: Log) -> None:
        self.detection, self.fusion = camera_handlers(config, rig, log, log)
        self.rig = self.fusion.rig
        for camera in self.rig.values():
            self.fusion.on_camera_info(camera.name, camera_info_msg(camera, 0))
        self.stage_ms: dict[str, list[float]] = {"lidar": [], "detection": [], "fusion": []}

    def on_images(self, images: Mapping[str, Image], now_ns: int) -> None:
        """The cameras' images of this scan, as they publish them."""
        for name, msg in images.items():
            if name in self.rig:
                self.detection.on_image(name, msg, now_ns)

    def fuse(self, scan: ScanObjects, lidar_ms: float, now_ns: int) -> list[PointCloud2]:
        """This scan's fused object lists (as messages): detection on its images, then fusion."""
        started = time.perf_counter()
        results = self.detection.detect(lambda: now_ns)
        detected = time.perf_counter()
        self.fusion.on_detections(results, now_ns)
        self.fusion.on_scan(scan, now_ns)
        fused = self.fusion.release(now_ns)
        done = time.perf_counter()
        self.stage_ms["lidar"].append(lidar_ms)
        self.stage_ms["detection"].append((detected - started) * 1e3)
        self.stage_ms["fusion"].append((done - detected) * 1e3)
        return [cloud_msg(encode_objects(f.objects), f.stamp_ns, "base_link") for f in fused]

    def camera_only(self, ego: EgoMotion, now_ns: int) -> list[PointCloud2]:
        """With no scan (a dead LiDAR): this moment's camera batch, and its list once the LiDAR has been
        silent for ``lidar_silent_s`` (camera-only objects), as the node does."""
        started = time.perf_counter()
        results = self.detection.detect(lambda: now_ns)
        detected = time.perf_counter()
        self.fusion.on_camera_batch(results, ego, now_ns)
        fused = self.fusion.release(now_ns)
        self.stage_ms["detection"].append((detected - started) * 1e3)
        self.stage_ms["fusion"].append((time.perf_counter() - detected) * 1e3)
        return [cloud_msg(encode_objects(f.objects), f.stamp_ns, "base_link") for f in fused]

    def health(self, now_ns: int) -> DiagnosticArray:
        """Each camera's health as perception publishes it (``CAMERA_HEALTH``)."""
        return diagnostic_array(self.detection.camera_statuses(now_ns), now_ns)

    def summary(self) -> dict[str, float]:
        """p50 and p99 of each stage's cost per scan, ms (wall clock on this machine, CPU only)."""
        out = {}
        for stage, values in self.stage_ms.items():
            if values:
                out[f"{stage}_p50_ms"] = round(float(np.percentile(values, 50)), 2)
                out[f"{stage}_p99_ms"] = round(float(np.percentile(values, 99)), 2)
        return out
