"""Fusion at message level: scans' object lists wait (bounded) for the cameras' detections of the same
moment, then go out with classes; per-camera success, staleness and latency for ``/diagnostics``;
disagreement events for the clip recorder. Thread-safe: detections arrive from the detection worker."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import CameraInfo

from av_edge.core.camera import CameraConfig
from av_edge.core.diagnostics import Level, Status, fmt
from av_edge.core.errors import MessageError
from av_edge.core.fusion.associate import EgoMotion
from av_edge.core.fusion.calibration import (
    CameraCalibration,
    calibration,
    check_extrinsic,
    distortion_from_camera_info,
    intrinsics_from_camera_info,
)
from av_edge.core.fusion.collector import FusionCollector
from av_edge.core.fusion.fuser import CameraInput, Fuser, FusionConfig
from av_edge.core.latency import LatencyTracker
from av_edge.core.objects import OBJECT_DTYPE
from av_edge.ros.camera_handler import CameraDetections

Log = Callable[[str], None]


@dataclass(frozen=True)
class ScanObjects:
    stamp_ns: int
    objects: np.ndarray  # OBJECT_DTYPE
    ego: EgoMotion


@dataclass(frozen=True)
class FusedScan:
    stamp_ns: int
    objects: np.ndarray
    events: list[Status]
    missing: dict[str, str]


class FusionHandler:
    def __init__(
        self,
        config: FusionConfig,
        cameras: Mapping[str, CameraConfig],
        model_classes: tuple[str, ...],
        latency_budget_ms: float,
        log: Log,
    ) -> None:
        for camera in cameras.values():
            check_extrinsic(camera)  # ConfigError at startup
        self.config = config
        self.rig = dict(cameras)
        self.log = log
        self.fuser = Fuser(config, model_classes)
        self.collector: FusionCollector[ScanObjects, CameraInput] = FusionCollector(
            tuple(cameras), config.tolerance_s, config.timeout_s, config.stale_s
        )
        self.calibrations: dict[str, CameraCalibration] = {}
        self._info_keys: dict[str, tuple[object, ...]] = {}  # the CameraInfo each calibration came from
        self.fused: Counter[str] = Counter()
        self.missing: dict[str, Counter[str]] = {c: Counter() for c in cameras}
        self.added_ms = LatencyTracker(1000, latency_budget_ms)  # wait added to the object list
        self.latency = LatencyTracker(1000, latency_budget_ms)  # scan stamp -> fused object list
        self.scans = 0
        self.camera_only_lists = 0  # lists made from camera batches alone while the LiDAR was silent
        self._last_scan_ns: int | None = None  # node time of the last scan (or of the first batch before one)
        self._lock = threading.Lock()

    def on_camera_info(self, camera: str, msg: CameraInfo) -> None:
        """Take a camera's CameraInfo when it changes (a recalibration, another resolution); a bad one
        keeps the last good calibration and is logged once per distinct problem."""
        if camera not in self.rig:
            return
        key = (tuple(msg.k), msg.distortion_model, tuple(msg.d), msg.width, msg.height)
        if self._info_keys.get(camera) == key:
            return
        self._info_keys[camera] = key
        try:
            k = intrinsics_from_camera_info(msg.k, msg.width, msg.height, camera)
            d = distortion_from_camera_info(msg.distortion_model, msg.d, camera)
            calibrated = calibration(self.rig[camera], k, msg.width, msg.height, d)
        except MessageError as err:
            kept = "the last good one kept" if camera in self.calibrations else "camera not fused"
            self.log(f"camera_info of {camera} rejected, {kept}: {err}")
            return
        previous = self.calibrations.get(camera)
        self.calibrations[camera] = calibrated
        if previous is not None:
            self.log(
                f"camera_info of {camera} changed: now {msg.width}x{msg.height}, "
                f"distortion {msg.distortion_model if d.size else 'none'}"
            )

    def on_detections(self, results: list[CameraDetections], now_ns: int) -> None:
        with self._lock:
            for result in results:
                frame = result.frame
                brightness = float(frame.image[::8, ::8].mean())
                height, width = frame.image.shape[:2]
                payload = CameraInput(frame.stamp_ns, result.detections, brightness, (width, height))
                self.collector.add_camera(frame.camera, frame.stamp_ns, payload, now_ns)

    def on_scan(self, scan: ScanObjects, now_ns: int) -> None:
        with self._lock:
            self._last_scan_ns = now_ns
            self.collector.add_scan(scan.stamp_ns, scan, now_ns)

    def on_camera_batch(self, results: list[CameraDetections], ego: EgoMotion, now_ns: int) -> None:
        """A batch's detections (:meth:`on_detections`); while no scan has come for ``lidar_silent_s``
        (a dead LiDAR), also an empty LiDAR list at the batch's stamp, so its camera-only objects go out."""
        self.on_detections(results, now_ns)
        with self._lock:
            if self._last_scan_ns is None:  # a LiDAR starting up is not silent yet
                self._last_scan_ns = now_ns
            silent = now_ns - self._last_scan_ns > self.config.lidar_silent_s * 1e9
        if silent and results and self.config.camera_objects.enabled:
            stamp = max(r.frame.stamp_ns for r in results)
            with self._lock:
                self.collector.add_scan(stamp, ScanObjects(stamp, np.zeros(0, OBJECT_DTYPE), ego), now_ns)
                self.camera_only_lists += 1

    def release(self, now_ns: int) -> list[FusedScan]:
        """Object lists whose cameras all answered or whose wait is over, fused."""
        with self._lock:
            collected = self.collector.release(now_ns)
        out = []
        for c in collected:
            scan = c.scan
            missing = dict(c.missing)
            inputs = {}
            for name, s in c.matched.items():
                calibrated = self.calibrations.get(name)
                if calibrated is None:
                    missing[name] = "no camera_info"
                elif s.payload.size is not None and s.payload.size != (calibrated.width, calibrated.height):
                    missing[name] = "image size differs from camera_info"  # until the new CameraInfo comes
                else:
                    inputs[name] = (calibrated, s.payload)
            objects, matched, events = self.fuser.fuse(scan.objects, scan.stamp_ns, inputs, scan.ego)
            self.scans += 1
            for name in matched:
                self.fused[name] += 1
            for name, why in missing.items():
                self.missing[name][why] += 1
            self.added_ms.add(c.added_ns, c.released_ns)
            self.latency.add(scan.stamp_ns, now_ns)
            out.append(FusedScan(scan.stamp_ns, objects, events, missing))
        return out

    def status(self, now_ns: int) -> Status:
        problems = []
        latency = self.latency.summary()
        values = {
            "scans": str(self.scans),
            "camera_only_lists": str(self.camera_only_lists),
            "wait_p99_ms": fmt(self.added_ms.summary().p99_ms),
            "objects_latency_p50_ms": fmt(latency.p50_ms),
            "objects_latency_p99_ms": fmt(latency.p99_ms),
        }
        for camera in self.rig:
            share = self.fused[camera] / self.scans if self.scans else 0.0
            values[f"{camera}.fused_share"] = fmt(share)
            for why, n in self.missing[camera].items():
                values[f"{camera}.missing.{why}"] = str(n)
            if camera not in self.calibrations:
                problems.append(f"{camera}: no camera_info")
        level = Level.WARN if problems else Level.OK
        return Status(level, "av_edge: fusion", "; ".join(problems) or "ok", "fusion", values)
