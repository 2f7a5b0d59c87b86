"""Over-the-air models in the perception process: candidate -> shadow evaluation -> promotion -> watch.

The model updater (another process) installs a verified version and points ``candidate`` at it
(:mod:`av_edge.core.update.cache`). Here the candidate runs beside the live model
(:class:`~av_edge.detection.shadow.ShadowRunner`); when its gates hold and the vehicle is not busy
(braking, an event), the live detector switches to it between two batches and ``current`` follows;
a :class:`~av_edge.core.detection.shadow.PromotionWatch` then rolls back on failures or a latency
regression. A candidate that fails anything is recorded as rejected and never offered again.
Every step is a status for ``/av_edge/events``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from av_edge.core.detection.config import DetectionConfig
from av_edge.core.detection.manifest import ModelPackageError
from av_edge.core.detection.shadow import PromotionWatch, ShadowEvaluation
from av_edge.core.diagnostics import Level, Status
from av_edge.core.errors import AvEdgeError
from av_edge.core.update.cache import CANDIDATE, CURRENT, ModelCache
from av_edge.detection.detector import CameraDetector, Timings
from av_edge.detection.shadow import ShadowRunner

EVENT = "av_edge: model_promotion"
LIVE_WINDOW = 300  # batches: the previous model's inference p99 the watch compares with
Log = Callable[[str], None]
MakeDetector = Callable[[DetectionConfig, Log], CameraDetector]


class LiveModelUpdates:
    def __init__(self, config: DetectionConfig, log: Log, make_detector: MakeDetector = CameraDetector) -> None:
        self.config = config
        self.log = log
        self.make_detector = make_detector
        self.cache = ModelCache(Path(config.update_directory).expanduser())
        self.shadow: ShadowRunner | None = None
        self.watch: PromotionWatch | None = None
        self._previous_path: Path | None = None
        self._waiting_logged = ""
        self._live_ms: deque[float] = deque(maxlen=LIVE_WINDOW)  # the serving model's recent inference times

    def startup_config(self) -> DetectionConfig:
        """The config with ``current`` as the model package when the updater installed one."""
        current = self.cache.pointer(CURRENT)
        if current and self.cache.path(current).is_dir():
            return dataclasses.replace(self.config, model_package=str(self.cache.path(current)))
        return self.config

    def on_live_batch(self, images: list[np.ndarray], found: list[np.ndarray], timings: Timings, now_ns: int) -> None:
        """The live detector's batch (detection thread): offered to the candidate, timed for the watch."""
        if self.shadow is not None:
            self.shadow.offer(images, found, now_ns)
        if self.watch is not None:
            self.watch.on_batch(timings.infer_ms)
        else:
            self._live_ms.append(timings.infer_ms)

    def on_live_failure(self) -> None:
        if self.watch is not None:
            self.watch.on_failure()

    def poll(self, detector: CameraDetector, now_ns: int, busy: bool) -> list[Status]:
        """Advance the candidate and the watch (node timer); the events of what changed."""
        events: list[Status] = []
        self._poll_watch(detector, now_ns, events)
        candidate = self.cache.pointer(CANDIDATE)
        if self.shadow is not None and self.shadow.version != candidate:
            events.append(self._event(Level.WARN, f"candidate {self.shadow.version} withdrawn by the updater"))
            self._close_shadow()
        live = detector.package.manifest.version
        idle = self.shadow is None and self.watch is None
        if candidate and idle and candidate != live and not self.cache.rejected(candidate):
            self._start_shadow(candidate, detector, events)
        if self.shadow is not None:
            self._poll_shadow(detector, now_ns, busy, events)
        return events

    def _start_shadow(self, version: str, live: CameraDetector, events: list[Status]) -> None:
        config = dataclasses.replace(self.config, model_package=str(self.cache.path(version)))
        try:
            detector = self.make_detector(config, self.log)
        except (ModelPackageError, AvEdgeError, OSError, RuntimeError) as err:
            self._reject(version, f"does not load: {err}", events)
            return
        if detector.package.manifest.class_names != live.package.manifest.class_names:
            detector.close()  # fusion and downstream consumers are set up for the live classes
            self._reject(
                version, "its class names differ from the live model's (a new class set needs a restart)", events
            )
            return
        try:  # the live model again, timed beside the candidate on the shadow thread
            reference = self.make_detector(dataclasses.replace(config, model_package=str(live.package.path)), self.log)
        except (ModelPackageError, AvEdgeError, OSError, RuntimeError) as err:
            detector.close()
            events.append(self._event(Level.WARN, f"shadow evaluation of {version} cannot start: {err}"))
            return
        evaluation = ShadowEvaluation(self.config.shadow, version)
        self.shadow = ShadowRunner(detector, reference, evaluation, self.config.shadow.rate_hz, niceness=5)
        events.append(self._event(Level.OK, f"shadow evaluation of {version} started"))

    def _poll_shadow(self, detector: CameraDetector, now_ns: int, busy: bool, events: list[Status]) -> None:
        assert self.shadow is not None
        verdict = self.shadow.verdict()
        version = self.shadow.version
        if verdict.state == "failed":
            self._reject(version, "shadow gates: " + "; ".join(verdict.reasons), events, verdict.values)
            self._close_shadow()
            return
        if verdict.state != "passed":
            return
        if busy:
            if self._waiting_logged != version:
                events.append(
                    self._event(Level.OK, f"{version} passed its shadow gates; promotion waits for a calm moment")
                )
                self._waiting_logged = version
            return
        previous, previous_path = detector.package.manifest.version, detector.package.path
        ok, message = detector.reload(self.cache.path(version))
        self._close_shadow()
        if not ok:
            self._reject(version, f"promotion failed: {message}", events)
            return
        self.cache.point(CURRENT, version)
        self.cache.clear(CANDIDATE)
        self._previous_path = previous_path
        live_p99 = float(np.percentile(self._live_ms, 99)) if self._live_ms else float("inf")
        self._live_ms.clear()
        self.watch = PromotionWatch(self.config.shadow, version, previous, live_p99, now_ns)
        events.append(
            self._event(Level.OK, f"promoted {previous} -> {version} ({_summary(verdict.values)})", verdict.values)
        )

    def _poll_watch(self, detector: CameraDetector, now_ns: int, events: list[Status]) -> None:
        if self.watch is None:
            return
        verdict = self.watch.verdict(now_ns)
        watch = self.watch
        if verdict.state == "passed":
            events.append(self._event(Level.OK, f"{watch.version} kept after its watch", verdict.values))
            self.watch = None
        elif verdict.state == "failed":
            assert self._previous_path is not None
            ok, message = detector.reload(self._previous_path)
            if self.cache.path(watch.previous) == self._previous_path:
                self.cache.point(CURRENT, watch.previous)
            else:
                self.cache.clear(CURRENT)  # back to the package the params file names
            self._reject(
                watch.version, "rolled back in its watch: " + "; ".join(verdict.reasons), events, verdict.values
            )
            if not ok:
                events.append(self._event(Level.ERROR, f"rollback to {watch.previous} failed: {message}"))
            self.watch = None

    def _reject(self, version: str, why: str, events: list[Status], values: dict[str, str] | None = None) -> None:
        self.cache.reject(version, why)
        if self.cache.pointer(CANDIDATE) == version:
            self.cache.clear(CANDIDATE)
        events.append(self._event(Level.ERROR, f"{version} rejected ({why})", values))

    def _close_shadow(self) -> None:
        if self.shadow is not None:
            self.shadow.close()
            self.shadow = None

    def close(self) -> None:
        self._close_shadow()

    def status_values(self) -> dict[str, str]:
        values = {"update.current": self.cache.pointer(CURRENT), "update.candidate": self.cache.pointer(CANDIDATE)}
        if self.shadow is not None:
            values.update({f"shadow.{k}": v for k, v in self.shadow.verdict().values.items()})
        if self.watch is not None:
            values["watch.promoted"] = self.watch.version
        return values

    def _event(self, level: Level, message: str, values: dict[str, str] | None = None) -> Status:
        return Status(level, EVENT, message, "perception", dict(values or {}))


def _summary(values: dict[str, str]) -> str:
    keys = ("recall_vs_live", "precision_vs_live", "class_agreement", "candidate_p99_ms", "live_p99_ms")
    return ", ".join(f"{k} {values[k]}" for k in keys if k in values)
