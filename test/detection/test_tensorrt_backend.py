"""The TensorRT backend and engine build against fake ``tensorrt``/``pycuda`` modules (no GPU here):
context discipline per thread, errors mapped to one backend error, shapes checked against the
manifest, builder flags per TensorRT version, DLA with a static profile, fallback to ONNX Runtime."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pytest

from av_edge.core.detection.manifest import ModelPackage
from av_edge.detection.backends import BackendError, BackendUnavailableError, TensorRtBackend, import_tensorrt
from av_edge.detection.detector import CameraDetector
from av_edge.detection.engine import EngineCache, EngineSettings, EngineTarget, build_plan, gpu_identity
from test.detection.conftest import detection_config
from test.detection.fake_tensorrt import OUTPUT_SHAPE, install

CHW = (3, 384, 640)


def batch(n: int, value: float = 0.5) -> np.ndarray:
    return np.full((n, *CHW), value, np.float32) * np.arange(1, n + 1, dtype=np.float32)[:, None, None, None]


THREADS = itertools.count()


def on_another_thread(job):
    """``job()`` on a new thread (a fresh name each time), its exception re-raised here."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = job()
        except BaseException as err:  # handed back to the test
            result["error"] = err

    thread = threading.Thread(target=run, name=f"inference_worker_{next(THREADS)}")
    thread.start()
    thread.join(10)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]


@pytest.mark.parametrize("version", ["8.6.1", "10.3.0"])
def test_inference_on_a_worker_thread_pushes_and_pops_the_primary_context(
    monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    gpu = install(monkeypatch, version)
    backend = TensorRtBackend(b"ENGINE", "images", CHW, 4)  # built on this thread ...
    assert not gpu.stack()  # ... and nothing left current on it
    for n in (1, 3, 3, 2):  # ... served on another (buffers reallocated only when the batch changes)
        out = on_another_thread(lambda n=n: backend.infer(batch(n)))
        assert out.shape == (n, *OUTPUT_SHAPE)
        np.testing.assert_allclose(out[:, 0, 0], batch(n).mean(axis=(1, 2, 3)))
    assert len(gpu.threads_used) == 5  # construction + four worker threads, each with the context pushed
    assert gpu.retained == 1 and gpu.allocated
    backend.close()
    assert gpu.released == 1 and not gpu.allocated and not gpu.stack()
    with pytest.raises(BackendError, match="after close"):
        backend.infer(batch(1))


def test_autoinit_is_not_needed_and_old_versions_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, "10.3.0")
    trt, _ = import_tensorrt()  # pycuda.autoinit cannot be imported under the fakes
    assert trt.__version__ == "10.3.0"
    assert gpu_identity() == ("10.3.0", "Fake GPU")
    install(monkeypatch, "8.5.3")
    with pytest.raises(BackendUnavailableError, match=r"8\.5\.3 is too old"):
        import_tensorrt()


def test_a_shape_the_engine_refuses_is_a_backend_error(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, max_batch=4)
    backend = TensorRtBackend(b"ENGINE", "images", CHW, 4)
    with pytest.raises(BackendError, match=r"rejected input shape \(5, 3, 384, 640\)"):
        backend.infer(batch(5))
    backend.close()


@pytest.mark.parametrize(
    ("options", "chw", "max_batch", "match"),
    [
        ({"chw": (3, 320, 320)}, CHW, 4, r"engine input images is \(-1, 3, 320, 320\)"),
        ({"max_batch": 2}, CHW, 4, "batches up to 2, the detector sends up to 4"),
    ],
)
def test_an_engine_not_matching_the_manifest_is_refused_and_the_context_released(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, object], chw: tuple[int, int, int], max_batch: int, match: str
) -> None:
    gpu = install(monkeypatch, **options)  # type: ignore[arg-type]
    with pytest.raises(BackendError, match=match):
        TensorRtBackend(b"ENGINE", "images", chw, max_batch)
    assert gpu.retained == gpu.released == 1 and not gpu.stack()
    with pytest.raises(BackendError, match="deserialize"):
        TensorRtBackend(b"garbage", "images", chw, max_batch)


def test_a_static_engine_pads_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, static_batch=4)
    backend = TensorRtBackend(b"ENGINE", "images", CHW, 4)
    out = backend.infer(batch(2))
    assert out.shape == (2, *OUTPUT_SHAPE)
    np.testing.assert_allclose(out[:, 0, 0], batch(2).mean(axis=(1, 2, 3)))
    backend.close()


def test_a_cuda_error_becomes_a_backend_error(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu = install(monkeypatch, fail_execute=True)
    backend = TensorRtBackend(b"ENGINE", "images", CHW, 4)
    with pytest.raises(BackendError, match="TensorRT inference failed: Error: cuLaunchKernel failed"):
        backend.infer(batch(1))
    assert not gpu.stack()  # popped on the way out
    backend.close()


SETTINGS = EngineSettings(fp16=True, int8=False, workspace_mib=512, dla_core=-1, max_batch=4)


@pytest.mark.parametrize(("version", "flags"), [("8.6.1", 1 << 0), ("10.3.0", 0)])
def test_build_uses_the_installed_versions_api(monkeypatch: pytest.MonkeyPatch, version: str, flags: int) -> None:
    gpu = install(monkeypatch, version)
    assert build_plan(b"onnx", "images", CHW, SETTINGS) == b"ENGINE built"
    assert gpu.network_flags == [flags]
    assert gpu.builder_flags == ["FP16"]
    assert gpu.profile == [((1, *CHW), (4, *CHW), (4, *CHW))]  # dynamic batch on the GPU
    assert gpu.retained == gpu.released == 1


def test_dla_builds_a_static_profile_and_needs_a_dla_core(monkeypatch: pytest.MonkeyPatch) -> None:
    dla = EngineSettings(fp16=True, int8=False, workspace_mib=512, dla_core=0, max_batch=4)
    with pytest.raises(BackendError, match="dla_core 0 requested, this device has 0"):
        install(monkeypatch)
        build_plan(b"onnx", "images", CHW, dla)
    gpu = install(monkeypatch, dla_cores=2)
    build_plan(b"onnx", "images", CHW, dla)
    assert gpu.profile == [((4, *CHW), (4, *CHW), (4, *CHW))]
    assert gpu.device_type == "DLA" and "GPU_FALLBACK" in gpu.builder_flags


def test_a_failing_engine_falls_back_to_onnxruntime_and_says_why(
    monkeypatch: pytest.MonkeyPatch, yolo_package: ModelPackage, tmp_path: Path
) -> None:
    gpu = install(monkeypatch)
    logs: list[str] = []
    config = detection_config(yolo_package.path, tmp_path, backend="tensorrt")
    target = EngineTarget(yolo_package.manifest.sha256, "10.3.0", "Fake GPU", SETTINGS)
    EngineCache(Path(config.engine_cache)).store(target, b"ENGINE cached")
    detector = CameraDetector(config, logs.append, engine_target=lambda package: target)
    assert detector.backend.name == "tensorrt" and detector.engine_state == "ready"
    image = np.zeros((384, 640, 3), np.uint8)
    assert on_another_thread(lambda: detector.detect([image]))[0].size == 0  # the fake engine finds nothing
    gpu.fail_execute = True
    found = on_another_thread(lambda: detector.detect([image]))
    assert len(found[0]) == 2  # the same batch, answered by ONNX Runtime
    assert detector.backend.name.startswith("onnxruntime")
    assert detector.engine_state.startswith("failed, serving with ONNX Runtime: TensorRT inference failed")
    assert any("falling back" in line for line in logs)
    assert gpu.released == 1 and not gpu.allocated


def test_bench_compare_runs_the_tensorrt_path_and_reports_disagreement(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`av-edge bench detection --backend tensorrt --compare onnxruntime` builds the engine, serves it
    and checks its boxes against ONNX Runtime's; the fake engine finds nothing, so they disagree."""
    from av_edge.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))  # the engine cache (~/.cache/av_edge/engines) goes here
    gpu = install(monkeypatch, chw=(3, 480, 640), output_shape=(8, 6300))
    assert main(["bench", "detection", "--backend", "tensorrt", "--compare", "onnxruntime"]) == 1
    out = capsys.readouterr().out
    assert "tensorrt vs onnxruntime: DISAGREE" in out
    assert "detect_tensorrt_ms_per_image_p99" in out and "detect_onnxruntime_ms_per_batch4_max" in out
    assert list((tmp_path / ".cache/av_edge/engines").glob("*.plan"))
    assert gpu.retained == gpu.released == 2  # the build's context and the backend's, both released


def test_seal_model_verify_checks_the_graph_against_the_manifest(
    yolo_package: ModelPackage, capsys: pytest.CaptureFixture[str]
) -> None:
    from av_edge.cli import main
    from av_edge.core.detection.manifest import MANIFEST_FILE

    assert main(["seal-model", "--verify", str(yolo_package.path)]) == 0
    manifest = yolo_package.path / MANIFEST_FILE
    manifest.write_text(manifest.read_text().replace("- pedestrian\n", "- pedestrian\n- cyclist\n"))
    assert main(["seal-model", "--verify", str(yolo_package.path)]) == 1
    assert "format yolo with 3 classes needs [N, 7, candidates]" in capsys.readouterr().err
    (yolo_package.path / "model.onnx").write_bytes(b"tampered")
    assert main(["seal-model", "--verify", str(yolo_package.path)]) == 2
    assert "sha256" in capsys.readouterr().err
