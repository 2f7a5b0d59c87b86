"""The detector end to end through ONNX Runtime with a YOLO-layout model the test builds, and the
TensorRT engine cache, background build and backend switch with the GPU parts isolated."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from av_edge.core.detection.manifest import MODEL_FILE, ModelPackage, ModelPackageError
from av_edge.detection.backends import BackendUnavailableError, OrtBackend, import_tensorrt
from av_edge.detection.detector import CameraDetector
from av_edge.detection.engine import EngineCache, EngineSettings, EngineTarget
from test.detection.conftest import detection_config

SETTINGS = EngineSettings(fp16=True, int8=False, workspace_mib=512, dla_core=-1, max_batch=4)


def test_yolo_export_through_onnx_runtime_maps_boxes_to_each_image(yolo_package: ModelPackage, tmp_path: Path) -> None:
    detector = CameraDetector(detection_config(yolo_package.path, tmp_path), print)
    wide = np.zeros((720, 1280, 3), np.uint8)  # letterboxed: scale 0.5, 12 rows of padding
    native = np.zeros((384, 640, 3), np.uint8)
    found_wide, found_native = detector.detect([wide, native])  # one batched call for both cameras
    assert found_native["class_id"].tolist() == [1, 0]  # person (duplicate suppressed), car
    assert found_native[["x1", "y1", "x2", "y2"]][0].tolist() == pytest.approx((80, 60, 120, 140))
    assert found_wide[["x1", "y1", "x2", "y2"]][0].tolist() == pytest.approx((160, 96, 240, 256))
    assert detector.last is not None and detector.last.batch == 2
    assert detector.status_values()["detector.backend"].startswith("onnxruntime")


def test_a_flipped_byte_refuses_the_model_and_reload_keeps_the_previous_one(
    yolo_package: ModelPackage, tmp_path: Path
) -> None:
    detector = CameraDetector(detection_config(yolo_package.path, tmp_path), print)
    data = bytearray((yolo_package.path / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (yolo_package.path / MODEL_FILE).write_bytes(bytes(data))
    ok, message = detector.reload()
    assert not ok and "sha256" in message
    assert len(detector.detect([np.zeros((384, 640, 3), np.uint8)])[0]) == 2  # still serving the old model
    with pytest.raises(ModelPackageError, match="sha256"):  # and a fresh start refuses it
        CameraDetector(detection_config(yolo_package.path, tmp_path), print)


def test_without_tensorrt_the_import_says_so_and_ort_serves(yolo_package: ModelPackage, tmp_path: Path) -> None:
    try:
        import_tensorrt()
    except BackendUnavailableError as err:
        assert "TensorRT" in str(err) or "pycuda" in str(err) or "CUDA" in str(err)
    else:
        pytest.skip("TensorRT and a GPU are present here")
    logs: list[str] = []
    detector = CameraDetector(detection_config(yolo_package.path, tmp_path, backend="tensorrt"), logs.append)
    assert detector.engine_state.startswith("unavailable")
    assert detector.backend.name.startswith("onnxruntime")
    assert any("unavailable" in line for line in logs)


def test_engine_cache_key_covers_everything_a_plan_depends_on(tmp_path: Path) -> None:
    base = EngineTarget("a" * 64, "10.3.0", "NVIDIA A100", SETTINGS)
    variants = [
        EngineTarget("b" * 64, "10.3.0", "NVIDIA A100", SETTINGS),
        EngineTarget("a" * 64, "10.4.0", "NVIDIA A100", SETTINGS),
        EngineTarget("a" * 64, "10.3.0", "Orin", SETTINGS),
        EngineTarget("a" * 64, "10.3.0", "NVIDIA A100", EngineSettings(False, False, 512, -1, 4)),
    ]
    assert len({base.key(), *(v.key() for v in variants)}) == 5
    cache = EngineCache(tmp_path)
    assert cache.load(base) is None
    cache.store(base, b"plan")
    assert cache.load(base) == b"plan" and all(cache.load(v) is None for v in variants)


# -- TensorRT with the GPU parts isolated ------------------------------------------------------------------
# The plan builder runs in a real background process; the "engine" it produces is the ONNX model itself,
# which the stand-in TensorRT backend serves through ONNX Runtime under another name.


def slow_plan_builder(onnx: bytes, input_name: str, chw: tuple[int, int, int], settings: EngineSettings) -> bytes:
    time.sleep(1.0)  # a build takes a while; serving must not wait for it
    return onnx


def failing_plan_builder(onnx: bytes, input_name: str, chw: tuple[int, int, int], settings: EngineSettings) -> bytes:
    raise RuntimeError("out of GPU memory")


class PlanBackend:
    built = 0

    def __init__(self, plan: bytes, input_name: str, chw: tuple[int, int, int], max_batch: int) -> None:
        PlanBackend.built += 1
        self._ort = OrtBackend(plan, input_name, 1, False)
        self.name = "tensorrt (stand-in)"

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self._ort.infer(batch)

    def close(self) -> None:
        self._ort.close()


def target(package: ModelPackage) -> EngineTarget:
    return EngineTarget(package.manifest.sha256, "10.3.0", "test GPU", SETTINGS)


def detector(package: ModelPackage, tmp_path: Path, builder, logs: list[str]) -> CameraDetector:
    return CameraDetector(
        detection_config(package.path, tmp_path, backend="auto"),
        logs.append,
        engine_target=target,
        tensorrt_backend=PlanBackend,
        plan_builder=builder,
    )


def test_serves_with_ort_while_the_engine_builds_then_switches_and_caches(
    yolo_package: ModelPackage, tmp_path: Path
) -> None:
    logs: list[str] = []
    first = detector(yolo_package, tmp_path, slow_plan_builder, logs)
    image = np.zeros((384, 640, 3), np.uint8)
    assert first.engine_state == "building"
    started = time.monotonic()
    assert len(first.detect([image])[0]) == 2  # answered at once, by ONNX Runtime
    assert time.monotonic() - started < 0.9 and first.backend.name.startswith("onnxruntime")
    deadline = time.monotonic() + 60
    while first.engine_state != "ready":
        assert time.monotonic() < deadline, first.engine_state
        first.detect([image])
        time.sleep(0.05)
    assert first.backend.name == "tensorrt (stand-in)"
    assert len(first.detect([image])[0]) == 2
    assert first.status_values()["detector.engine"] == "ready"
    assert first.cache.load(target(yolo_package)) is not None

    second = detector(yolo_package, tmp_path, failing_plan_builder, logs)  # a restart: the cache serves
    assert second.engine_state == "ready" and second.build is None


def test_a_failed_build_leaves_ort_serving_and_says_why(yolo_package: ModelPackage, tmp_path: Path) -> None:
    logs: list[str] = []
    det = detector(yolo_package, tmp_path, failing_plan_builder, logs)
    deadline = time.monotonic() + 60
    while det.build is not None:
        assert time.monotonic() < deadline
        det.detect([np.zeros((384, 640, 3), np.uint8)])
        time.sleep(0.05)
    assert det.engine_state == "build failed: RuntimeError: out of GPU memory"
    assert det.backend.name.startswith("onnxruntime")
    assert any("build failed" in line for line in logs)


def test_seal_model_records_the_hash_of_a_user_export(yolo_package: ModelPackage) -> None:
    from av_edge.cli import main
    from av_edge.core.detection.manifest import MANIFEST_FILE, load_package

    manifest = yolo_package.path / MANIFEST_FILE
    manifest.write_text(manifest.read_text().replace(f"sha256: {yolo_package.manifest.sha256}", "sha256: 000000"))
    with pytest.raises(ModelPackageError):
        load_package(yolo_package.path)
    assert main(["seal-model", str(yolo_package.path)]) == 0
    assert load_package(yolo_package.path).manifest.sha256 == yolo_package.manifest.sha256
