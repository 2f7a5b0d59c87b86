"""The candidate model on live frames, on its own low-priority thread, never in the live model's way.

The live detection thread hands each batch (images and the live model's detections) to
:meth:`ShadowRunner.offer`, which never blocks: a batch is taken only when the shadow thread is idle
and ``rate_hz`` allows, else it is skipped. Detections are compared with the live model's in
:class:`av_edge.core.detection.shadow.ShadowEvaluation`; an exception in the candidate fails it.

Latency is an A/B on the shadow thread: a second session of the *live* model (the reference) runs
the same batch right before or after the candidate, in alternating order. Both see the same
priority, core and contention, so their p99s compare; the live detector's own times would not (the
niced shadow thread is preempted by everything the vehicle runs, and caches go cold each time).
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np

from av_edge.core.detection.shadow import ShadowEvaluation, Verdict
from av_edge.detection.detector import CameraDetector

Batch = tuple[list[np.ndarray], list[np.ndarray]]


class ShadowRunner:
    def __init__(
        self,
        detector: CameraDetector,
        reference: CameraDetector,
        evaluation: ShadowEvaluation,
        rate_hz: float,
        niceness: int,
    ) -> None:
        self.detector = detector
        self.reference = reference
        self.evaluation = evaluation
        self.version = evaluation.version
        self._period_ns = 1e9 / rate_hz
        self._niceness = niceness
        self._last_ns = -(1 << 62)
        self._slot: Batch | None = None
        self._busy = False
        self._stopping = False
        self._cv = threading.Condition()
        self._lock = threading.Lock()  # the evaluation: written by the worker, read by verdict()
        self.offered = self.skipped = 0
        self.warmed_up = False
        self._thread = threading.Thread(target=self._run, name=f"shadow {self.version}", daemon=True)
        self._thread.start()

    def offer(self, images: list[np.ndarray], live: list[np.ndarray], now_ns: int) -> None:
        with self._cv:
            if self._busy or self._slot is not None or now_ns - self._last_ns < self._period_ns:
                self.skipped += 1
                return
            self._slot, self._last_ns = (images, live), now_ns
            self.offered += 1
            self._cv.notify()

    def verdict(self) -> Verdict:
        with self._lock:
            return self.evaluation.verdict()

    def close(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join(10.0)
        self.detector.close()
        self.reference.close()

    def _run(self) -> None:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + self._niceness))
        while True:
            with self._cv:
                while self._slot is None and not self._stopping:
                    self._cv.wait()
                if self._stopping:
                    return
                assert self._slot is not None
                (images, live), self._slot, self._busy = self._slot, None, True
            try:
                order = (self.detector, self.reference) if self.offered % 2 else (self.reference, self.detector)
                times = {}
                for model in order:
                    started = time.perf_counter()
                    found = model.detect(images)
                    times[id(model)] = (time.perf_counter() - started) * 1e3
                    if model is self.detector:
                        candidate_found = found
                if self.warmed_up:
                    with self._lock:
                        ms = times[id(self.detector)], times[id(self.reference)]
                        self.evaluation.add(candidate_found, live, *ms)
                self.warmed_up = True  # fresh sessions' first run (allocation, kernel choice) is not counted
            except Exception as err:  # any exception fails the candidate, with its text
                with self._lock:
                    self.evaluation.fail(f"{type(err).__name__}: {err}")
            finally:
                with self._cv:
                    self._busy = False
