"""Camera detection at message level: latest image per camera in, one batched inference, detections
and an optional debug image out. The perception node runs ``detect`` on a worker thread, so a slow
camera batch never delays a LiDAR scan."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from sensor_msgs.msg import Image

from av_edge.core.detection.boxes import DETECTION_DTYPE
from av_edge.core.detection.config import DetectionConfig
from av_edge.core.detection.manifest import ModelPackageError
from av_edge.core.diagnostics import Level, Status
from av_edge.core.errors import AvEdgeError, MessageError
from av_edge.core.health import NodeHealth
from av_edge.core.image import array_to_image, to_bgr8
from av_edge.core.sensor_health import CAMERA_STATUS_PREFIX, CameraHealth, CameraHealthConfig
from av_edge.detection.detector import CameraDetector
from av_edge.detection.updates import LiveModelUpdates
from av_edge.ros.messages import image_msg, stamp_to_ns

Log = Callable[[str], None]


@dataclass(frozen=True)
class CameraFrame:
    camera: str
    stamp_ns: int
    frame_id: str
    image: np.ndarray  # BGR
    faulty: bool = False  # its camera's health check had a fault raised: not detected on


@dataclass(frozen=True)
class CameraDetections:
    frame: CameraFrame
    detections: np.ndarray  # DETECTION_DTYPE, image pixels


class CameraDetectionHandler:
    def __init__(
        self, config: DetectionConfig, latency_budget_ms: float, log: Log, health: CameraHealthConfig | None = None
    ) -> None:
        """``health``: check every camera's frames (blank, dark, blinded, frozen, stale) whether or not
        a model is loaded; the node always passes it."""
        self.config = config
        self.log = log
        self.camera_health = {c: CameraHealth(health, config.image_timeout_s) for c in config.cameras} if health else {}
        self.health = NodeHealth(
            "camera_detection",
            {f"image {c}": config.image_timeout_s for c in config.cameras},
            latency_budget_ms,
            1000,
            optional=[f"image {c}" for c in config.cameras],  # LiDAR perception goes on without cameras
        )
        self.detector: CameraDetector | None = None
        self.disabled = ""
        self.updates = LiveModelUpdates(config, log) if config.enabled and config.update_directory != "off" else None
        if not config.enabled:
            self.disabled = "disabled in the params file"
        else:
            self.detector = self._load(config, log)
        self.latest: dict[str, CameraDetections] = {}
        self._pending: dict[str, CameraFrame] = {}
        self._first_pending_ns = 1 << 62  # when the oldest pending image arrived
        self._last_batch_ns = -(1 << 62)
        self._lock = threading.Lock()
        self.failed_batches = 0
        self.batches = 0  # batches that ran to the end
        self.withheld = 0  # frames of a faulty camera (blank, frozen, ...) not detected on
        self.error = ""  # the last batch's exception; cleared by the next batch that succeeds

    def _load(self, config: DetectionConfig, log: Log) -> CameraDetector | None:
        """The detector: the updater's ``current`` package when there is one (the params file's if it
        fails to load), else the params file's."""
        updated = self.updates.startup_config() if self.updates is not None else config
        for candidate in dict.fromkeys((updated, config)):
            try:
                return CameraDetector(candidate, log)
            except (ModelPackageError, AvEdgeError, OSError) as err:
                self.disabled = str(err)
                log(f"model {candidate.model_package} does not load: {err}")
        log(f"camera detection disabled, LiDAR perception continues: {self.disabled}")
        return None

    def on_image(self, camera: str, msg: Image, now_ns: int) -> None:
        self.health.on_input(f"image {camera}", now_ns)
        try:
            image = to_bgr8(msg)
        except MessageError as err:
            self.health.reject(f"{camera}_{err.reason}", f"image from {camera}", err, now_ns, self.log)
            return
        faulty = False
        if camera in self.camera_health:
            health = self.camera_health[camera]
            health.on_frame(image, now_ns)
            faulty = bool(health.conditions.active)
        frame = CameraFrame(camera, stamp_to_ns(msg.header.stamp), msg.header.frame_id, image, faulty)
        with self._lock:
            self._pending[camera] = frame
            self._first_pending_ns = min(self._first_pending_ns, now_ns)

    def due(self, now_ns: int) -> bool:
        """Start a batch now: a model is loaded, the last batch began at least 1/``rate_hz`` ago, and every
        live camera has a new image or the first of them has waited ``batch_wait_s``. Marks it started."""
        if self.detector is None or now_ns - self._last_batch_ns < 1e9 / self.config.rate_hz:
            return False
        if not self.ready(now_ns):
            return False
        self._last_batch_ns = now_ns
        return True

    def ready(self, now_ns: int) -> bool:
        """Every live camera has a new image, or the first one has waited ``batch_wait_s``."""
        with self._lock:
            if not self._pending:
                return False
            live = {c for c in self.config.cameras if self.health.fresh(f"image {c}", now_ns)}
            waited = now_ns - self._first_pending_ns >= self.config.batch_wait_s * 1e9
            return waited or live <= set(self._pending)

    def detect(self, now_ns: Callable[[], int]) -> list[CameraDetections]:
        """One batched inference over the newest unprocessed image of every camera (worker thread)."""
        if self.detector is None:
            return []
        with self._lock:
            frames, self._pending = list(self._pending.values()), {}
            self._first_pending_ns = 1 << 62
        if not frames:
            return []
        # A blank frame shows nothing and a frozen one shows the past (ghosts at stale places): a faulty
        # camera's frame gets no detections, at once, so fusion neither waits for it nor trusts it.
        sound = [f for f in frames if not f.faulty]
        images = [f.image for f in sound]
        found = self.detector.detect(images) if images else []
        self.error = ""
        self.batches += 1
        self.withheld += len(frames) - len(sound)
        done = now_ns()
        if self.updates is not None and self.detector.last is not None and images:
            self.updates.on_live_batch(images, found, self.detector.last, done)
        detected = dict(zip((f.camera for f in sound), found, strict=True))
        results = [CameraDetections(f, detected.get(f.camera, np.zeros(0, DETECTION_DTYPE))) for f in frames]
        for result in results:
            self.health.on_output(result.frame.stamp_ns, done)
            self.latest[result.frame.camera] = result
        return results

    def on_batch_failed(self, error: BaseException, now_ns: int) -> None:
        """A batch raised (pre-processing, inference, fusion): counted, logged once a second, and the
        status is ERROR with its text until a batch succeeds. LiDAR perception is not involved."""
        self.failed_batches += 1
        self.error = f"{type(error).__name__}: {error}"
        if self.updates is not None:
            self.updates.on_live_failure()
        if self.health.should_log("batch_failed", now_ns):
            self.log(f"camera detection batch failed ({self.failed_batches} so far): {self.error}")

    def poll_updates(self, now_ns: int, busy: bool) -> list[Status]:
        """Over-the-air models: shadow evaluation, promotion (not while ``busy``), watch; their events."""
        if self.updates is None or self.detector is None:
            return []
        return self.updates.poll(self.detector, now_ns, busy)

    def reload(self) -> tuple[bool, str]:
        if self.detector is None:
            return False, f"camera detection is disabled: {self.disabled}"
        return self.detector.reload()

    def camera_statuses(self, now_ns: int) -> list[Status]:
        """One status per checked camera: WARN with its faults (LiDAR perception and braking go on)."""
        out = []
        for camera, health in self.camera_health.items():
            faults = health.faults(now_ns)
            stats = health.stats
            values = {"faults": "; ".join(faults)}
            if stats is not None:
                values.update(
                    luma_mean=f"{stats.mean:.1f}",
                    luma_std=f"{stats.std:.1f}",
                    luma_p99=f"{stats.p99:.0f}",
                    saturated=f"{stats.saturated:.3f}",
                )
            level = Level.WARN if faults else Level.OK
            out.append(
                Status(level, f"{CAMERA_STATUS_PREFIX}{camera}", "; ".join(faults) or "ok", "perception", values)
            )
        return out

    def status(self, now_ns: int) -> Status:
        if self.detector is None:
            level = Level.ERROR if self.config.enabled else Level.OK
            return Status(level, "av_edge: camera detection", f"disabled: {self.disabled}", "perception")
        values = self.detector.status_values()
        if self.updates is not None:
            values.update(self.updates.status_values())
        values["batches"] = str(self.batches)
        values["failed_batches"] = str(self.failed_batches)
        values["withheld_frames"] = str(self.withheld)
        problems = [(Level.ERROR, f"detection failing: {self.error}")] if self.error else []
        return self.health.status(now_ns, problems, values=values)


def debug_image(result: CameraDetections, class_names: tuple[str, ...]) -> Image:
    """The camera image with boxes, classes and scores drawn (published only while subscribed)."""
    canvas = result.frame.image.copy()
    for row in result.detections:
        x1, y1, x2, y2 = (round(float(row[k])) for k in ("x1", "y1", "x2", "y2"))
        cls = int(row["class_id"])
        name = class_names[cls] if 0 <= cls < len(class_names) else str(cls)
        colour = tuple(int(c) for c in np.random.default_rng(cls).integers(64, 256, 3))
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        cv2.putText(canvas, f"{name} {float(row['score']):.2f}", (x1, max(y1 - 4, 10)), 0, 0.45, colour, 1)
    return image_msg(array_to_image(canvas, "bgr8"), result.frame.stamp_ns, result.frame.frame_id)
