"""The perception node's camera half: detection on one worker thread, fusion, release of object lists.

A batch starts on the worker as soon as every live camera's image of a moment is in (never two at
once: while one runs, the next takes the newest images when it is done). A scan's object list waits,
bounded, for the cameras' detections of its moment and goes out when they all answered or the wait
is over; fusion's events go out rate-limited with the lists. ``perception_node`` wires this to
topics; the lock-step suite builds the same handlers with :func:`camera_handlers` and drives them
synchronously.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sensor_msgs.msg import Image

from av_edge.core.camera import CameraConfig
from av_edge.core.diagnostics import EventLimiter, Status
from av_edge.core.errors import ConfigError
from av_edge.core.fusion.associate import EgoMotion
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.ros.camera_handler import CameraDetectionHandler, CameraDetections
from av_edge.ros.fusion_handler import FusedScan, FusionHandler, ScanObjects
from av_edge.runtime.worker import Worker

Log = Callable[[str], None]
Clock = Callable[[], int]


@dataclass(frozen=True)
class Released:
    """Object lists ready to publish, and the events due with them."""

    lists: list[FusedScan]
    events: list[Status]


def camera_handlers(
    config: PerceptionNodeConfig, rig: Sequence[CameraConfig], log: Log, warn: Log
) -> tuple[CameraDetectionHandler, FusionHandler]:
    """Detection over ``camera_detection.cameras``, and fusion with those of them that ``rig`` has
    (none when no model loads)."""
    budget = config.latency_budget_ms
    detection = CameraDetectionHandler(config.camera_detection, budget, log, config.camera_health)
    detector = detection.detector
    classes = detector.package.manifest.class_names if detector is not None else ()
    wanted = set(config.camera_detection.cameras)
    fused = {c.name: c for c in rig if c.name in wanted} if detector is not None else {}
    return detection, FusionHandler(config.fusion, fused, classes, budget, warn)


def check_rig(config: PerceptionNodeConfig, rig: Sequence[CameraConfig], source: str) -> None:
    """ConfigError naming the cameras ``camera_detection.cameras`` names that ``rig`` (from ``source``)
    does not have."""
    unknown = sorted(set(config.camera_detection.cameras) - {c.name for c in rig})
    if unknown:
        raise ConfigError(f"camera_detection.cameras {unknown} are not in {source} ({sorted(c.name for c in rig)})")


class CameraPipeline:
    """Images and scans in, fused object lists out; ``on_batch`` sees every finished batch (worker
    thread), ``ego`` gives the ego motion at a node time, ``clock`` the node time (read on the worker
    when a batch ends). A batch that raises goes to the detection handler's error count and status."""

    def __init__(
        self,
        config: PerceptionNodeConfig,
        rig: Sequence[CameraConfig],
        rig_source: str,
        clock: Clock,
        ego: Callable[[int], EgoMotion],
        on_batch: Callable[[list[CameraDetections]], None],
        log: Log,
        warn: Log,
    ) -> None:
        check_rig(config, rig, rig_source)
        self.detection, self.fusion = camera_handlers(config, rig, log, warn)
        self._clock = clock
        self._ego = ego
        self._on_batch = on_batch
        self._events = EventLimiter(config.events_min_interval_s)
        self._worker = Worker(
            "camera_detection",
            lambda err: self.detection.on_batch_failed(err, clock()),
            initializer=_nice_this_thread,
            initargs=(config.camera_detection.niceness,),
        )

    @property
    def waits_for_cameras(self) -> bool:
        """Lists may wait for detections, so a timer must release those whose wait timed out."""
        return bool(self.fusion.rig)

    def on_image(self, camera: str, msg: Image) -> None:
        self.detection.on_image(camera, msg, self._clock())
        self._schedule()

    def on_scan(self, scan: ScanObjects) -> Released:
        """A scan's LiDAR objects: out at once unless a live camera's detections are still coming."""
        self.fusion.on_scan(scan, self._clock())
        return self.release()

    def tick(self) -> Released:
        """Every few ms: start a batch that is due, release lists whose wait is over."""
        self._schedule()
        return self.release()

    def release(self) -> Released:
        now = self._clock()
        lists = self.fusion.release(now)
        for fused in lists:
            for event in fused.events:
                self._events.push(event)
        return Released(lists, self._events.drain(now))  # held repeats go with a later list

    def wait(self, timeout_s: float | None = None) -> None:
        """Until the running batch (if any) is done."""
        self._worker.wait(timeout_s)

    def shutdown(self) -> None:
        self._worker.shutdown()  # a batch still running finishes first

    def _schedule(self) -> None:
        if not self._worker.busy and self.detection.due(self._clock()):
            self._worker.submit(self._detect)

    def _detect(self) -> None:
        results = self.detection.detect(self._clock)
        now = self._clock()
        self.fusion.on_camera_batch(results, self._ego(now), now)
        self._on_batch(results)


def _nice_this_thread(niceness: int) -> None:
    """Camera detection yields the CPU to LiDAR perception and to the AEB process (Linux: per thread)."""
    if hasattr(os, "setpriority"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
