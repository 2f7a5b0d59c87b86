"""Over-the-air models in the perception process: a candidate is shadow-evaluated on live batches,
promoted between two batches when its gates hold and the vehicle is calm, watched, and rolled back;
one that fails is rejected for good. Real ONNX Runtime sessions on small YOLO-layout models."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from av_edge.core.detection.manifest import ModelPackage, write_package
from av_edge.core.diagnostics import Level, Status
from av_edge.core.update.cache import CANDIDATE, CURRENT, ModelCache
from av_edge.detection.detector import CameraDetector
from av_edge.detection.updates import LiveModelUpdates
from test.detection.conftest import HEIGHT, WIDTH, candidates, detection_config
from test.detection.yolo_onnx import yolo_layout_model

IMAGES = [np.full((HEIGHT, WIDTH, 3), 90, np.uint8)]


def install(
    cache: ModelCache, live: ModelPackage, version: str, boxes: np.ndarray | None = None, **changes: object
) -> None:
    """``version`` in the cache as the candidate: the live model (same boxes) unless ``boxes`` differ."""
    manifest = dataclasses.replace(live.manifest, version=version, **changes)  # type: ignore[arg-type]
    onnx = live.onnx_bytes if boxes is None else yolo_layout_model(boxes, WIDTH, HEIGHT)
    write_package(cache.path(version), manifest, onnx)
    cache.point(CANDIDATE, version)


@pytest.fixture
def setup(yolo_package: ModelPackage, tmp_path: Path) -> tuple[LiveModelUpdates, CameraDetector, ModelCache]:
    config = detection_config(yolo_package.path, tmp_path, update_directory=str(tmp_path / "updates"))
    updates = LiveModelUpdates(config, lambda message: None)
    live = CameraDetector(updates.startup_config(), lambda message: None)
    return updates, live, updates.cache


def drive(updates: LiveModelUpdates, live: CameraDetector, now_ns: int, busy: bool = False) -> list[Status]:
    """Live batches until the candidate's evaluation is decided (or the watch runs), then one poll."""
    events = updates.poll(live, now_ns, busy)
    deadline = time.monotonic() + 30
    while updates.shadow is not None and updates.shadow.verdict().state == "running":
        assert time.monotonic() < deadline, updates.shadow.verdict()
        found = live.detect(IMAGES)
        assert live.last is not None
        updates.on_live_batch(IMAGES, found, live.last, time.monotonic_ns())
        time.sleep(0.005)
    return events + updates.poll(live, now_ns, busy)


def messages(events: list[Status], level: Level) -> str:
    return " | ".join(e.message for e in events if e.level == level)


def test_a_candidate_that_agrees_is_promoted_between_batches_and_kept(setup, yolo_package) -> None:
    updates, live, cache = setup
    install(cache, yolo_package, "9.0")
    events = drive(updates, live, 0)
    assert "shadow evaluation of 9.0 started" in messages(events, Level.OK)
    assert "promoted 8.3 -> 9.0" in messages(events, Level.OK), events
    assert live.package.manifest.version == "9.0" and cache.pointer(CURRENT) == "9.0" and not cache.pointer(CANDIDATE)
    promoted = next(e for e in events if "promoted" in e.message)
    assert float(promoted.values["recall_vs_live"]) == 1.0 and int(promoted.values["frames"].split("/")[0]) >= 5
    assert "9.0 kept after its watch" in messages(updates.poll(live, 1, False), Level.OK)  # watch_s 0
    restarted = LiveModelUpdates(updates.config, lambda message: None)
    assert CameraDetector(restarted.startup_config(), lambda m: None).package.manifest.version == "9.0"


def test_a_candidate_that_disagrees_is_rejected_and_never_offered_again(setup, yolo_package) -> None:
    updates, live, cache = setup
    swapped = candidates()
    swapped[[4, 5]] = swapped[[5, 4]]  # class scores swapped: a wrong class order in the export
    install(cache, yolo_package, "9.0", swapped)
    rejected = messages(drive(updates, live, 0), Level.ERROR)
    assert "9.0 rejected (shadow gates:" in rejected and "recall vs live 0.000" in rejected
    assert live.package.manifest.version == "8.3" and cache.rejected("9.0") and not cache.pointer(CANDIDATE)
    cache.point(CANDIDATE, "9.0")  # offered again (a stale updater): ignored
    assert updates.poll(live, 0, False) == [] and updates.shadow is None


def test_promotion_waits_for_a_calm_moment(setup, yolo_package) -> None:
    updates, live, cache = setup
    install(cache, yolo_package, "9.0")
    events = drive(updates, live, 0, busy=True)
    assert "promotion waits for a calm moment" in messages(events, Level.OK)
    assert live.package.manifest.version == "8.3" and cache.pointer(CANDIDATE) == "9.0"
    assert "promoted 8.3 -> 9.0" in messages(updates.poll(live, 1, busy=False), Level.OK)


def test_a_promoted_model_that_fails_in_its_watch_is_rolled_back(setup, yolo_package) -> None:
    updates, live, cache = setup
    updates.config = dataclasses.replace(
        updates.config, shadow=dataclasses.replace(updates.config.shadow, watch_s=60.0)
    )
    install(cache, yolo_package, "9.0")
    drive(updates, live, 0)
    assert live.package.manifest.version == "9.0" and updates.watch is not None
    updates.on_live_failure()  # a batch raised on the new model (max_watch_failures 0)
    rolled = messages(updates.poll(live, 10**9, False), Level.ERROR)
    assert "9.0 rejected (rolled back in its watch: 1 failed batches" in rolled
    assert live.package.manifest.version == "8.3" and cache.pointer(CURRENT) == "" and cache.rejected("9.0")


def test_a_candidate_with_other_classes_is_rejected(setup, yolo_package) -> None:
    updates, live, cache = setup
    install(cache, yolo_package, "9.0", class_names=("car", "person"))
    assert "class names differ" in messages(updates.poll(live, 0, False), Level.ERROR)
    assert live.package.manifest.version == "8.3"


def test_a_candidate_that_raises_fails_at_once(setup, yolo_package, monkeypatch) -> None:
    updates, live, cache = setup
    install(cache, yolo_package, "9.0")
    updates.poll(live, 0, False)
    assert updates.shadow is not None

    def broken(images: list[np.ndarray]) -> list[np.ndarray]:
        raise RuntimeError("CUDA error: an illegal memory access")

    monkeypatch.setattr(updates.shadow.detector, "detect", broken)
    rejected = messages(drive(updates, live, 0), Level.ERROR)
    assert "candidate raised: RuntimeError: CUDA error" in rejected
    assert live.package.manifest.version == "8.3"
