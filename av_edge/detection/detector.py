"""The camera detector: a verified model package, a backend, shared pre/post-processing, and the
switch from ONNX Runtime to TensorRT once a background engine build is done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from av_edge.core.detection.boxes import decode, to_batch, to_original
from av_edge.core.detection.config import DetectionConfig
from av_edge.core.detection.manifest import ModelManifest, ModelPackage, ModelPackageError, load_package
from av_edge.core.diagnostics import fmt
from av_edge.core.errors import AvEdgeError
from av_edge.detection.backends import Backend, BackendError, BackendUnavailableError, OrtBackend, TensorRtBackend
from av_edge.detection.engine import (
    BackgroundBuild,
    EngineCache,
    EngineSettings,
    EngineTarget,
    build_plan,
    gpu_identity,
)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"

Log = Callable[[str], None]
PlanBuilder = Callable[[bytes, str, tuple[int, int, int], EngineSettings], bytes]
#: (plan, input name, input (C, H, W), largest batch) -> a backend serving that plan
EngineBackend = Callable[[bytes, str, tuple[int, int, int], int], Backend]


@dataclass(frozen=True)
class Timings:
    pre_ms: float
    infer_ms: float
    post_ms: float
    batch: int


def resolve_package(name: str) -> Path:
    """A bare name is one of av_edge's bundled models; anything else is a path."""
    path = Path(name).expanduser()
    return path if path.is_absolute() or len(path.parts) > 1 else MODELS_DIR / name


class CameraDetector:
    def __init__(
        self,
        config: DetectionConfig,
        log: Log,
        engine_target: Callable[[ModelPackage], EngineTarget] | None = None,
        tensorrt_backend: EngineBackend = TensorRtBackend,
        plan_builder: PlanBuilder = build_plan,
        build_context: str = "spawn",
    ) -> None:
        """Loads and verifies the package (ModelPackageError if it is not sound) and serves with ONNX
        Runtime; with backend auto/tensorrt, uses a cached engine at once or starts building one.
        ``engine_target``, ``tensorrt_backend`` and ``plan_builder`` (a module-level function: it runs in
        another process) are the GPU-specific parts, injectable for tests."""
        self.config = config
        self.log = log
        self.package = load_package(resolve_package(config.model_package))
        check_training_domain(self.package.manifest, config.allow_simulation_trained, log)
        self._engine_target = engine_target or _machine_target(config)
        self._tensorrt_backend = tensorrt_backend
        self._plan_builder = plan_builder
        self._build_context = build_context
        self.cache = EngineCache(Path(config.engine_cache).expanduser())
        self.backend: Backend = self._ort(self.package)
        self.build: BackgroundBuild | None = None
        self.engine_state = "not used" if config.backend == "onnxruntime" else "pending"
        self.last: Timings | None = None
        self._lock = threading.Lock()
        if config.backend != "onnxruntime":
            self._start_engine(self.package)

    # -- serving -----------------------------------------------------------------------------------

    def detect(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """BGR images -> per image DETECTION_DTYPE arrays in that image's pixels (thread-safe against
        ``reload``: a batch runs on one model from start to end)."""
        with self._lock:
            return self._detect(images)

    def _detect(self, images: list[np.ndarray]) -> list[np.ndarray]:
        self.poll_engine()
        manifest = self.package.manifest
        t0 = time.perf_counter()
        batch, boxes = to_batch(images, manifest)
        t1 = time.perf_counter()
        try:
            output = self.backend.infer(batch)
        except BackendError as err:
            if self.backend.name.startswith("onnxruntime"):
                raise
            self._fall_back(err)
            output = self.backend.infer(batch)
        t2 = time.perf_counter()
        found = decode(output, manifest.output_format, self.config.score_threshold, self.config.iou_threshold)
        result = [
            to_original(d, box, image.shape[1], image.shape[0])
            for d, box, image in zip(found, boxes, images, strict=True)
        ]
        t3 = time.perf_counter()
        self.last = Timings((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, len(images))
        return result

    def reload(self, path: Path | None = None) -> tuple[bool, str]:
        """Re-read the configured package (a new model delivered), or load the one at ``path`` (a
        promotion): on any problem keep serving the previous model and say why. The batch in flight
        finishes on the previous model and the next one runs on the new: no frame is dropped."""
        try:
            package = load_package(path or resolve_package(self.config.model_package))
            backend = self._ort(package)
        except (AvEdgeError, OSError, RuntimeError) as err:
            self.log(f"model reload refused, keeping {self._describe()}: {err}")
            return False, str(err)
        with self._lock:
            if self.build is not None:
                self.build.cancel()
            self.backend.close()
            self.package, self.backend, self.build = package, backend, None
        if self.config.backend != "onnxruntime":
            self._start_engine(package)
        return True, f"serving {self._describe()}"

    def close(self) -> None:
        with self._lock:
            if self.build is not None:
                self.build.cancel()
            self.backend.close()

    # -- TensorRT engine ---------------------------------------------------------------------------

    def poll_engine(self) -> None:
        """Switch to TensorRT when the background build delivers; never blocks."""
        if self.build is None:
            return
        plan = self.build.poll()
        if self.build.state == "failed":
            self.engine_state = f"build failed: {self.build.error}"
            self.log(f"TensorRT engine build failed, staying on {self.backend.name}: {self.build.error}")
            self.build = None
        elif plan is not None:
            self.build = None
            self.cache.store(self._target, plan)
            self._switch(plan)

    def _start_engine(self, package: ModelPackage) -> None:
        try:
            self._target = self._engine_target(package)
        except BackendUnavailableError as err:
            self.engine_state = f"unavailable: {err}"
            level = self.log if self.config.backend == "tensorrt" else (lambda _: None)
            level(f"TensorRT requested but unavailable, serving with {self.backend.name}: {err}")
            return
        plan = self.cache.load(self._target)
        if plan is not None:
            self._switch(plan)
            return
        manifest = package.manifest
        chw = (3, manifest.input_height, manifest.input_width)
        settings = self._target.settings
        self.build = BackgroundBuild(
            _Build(self._plan_builder, package.onnx_bytes, manifest.input_name, chw, settings),
            context=self._build_context,
        )
        self.engine_state = "building"
        self.log(f"building a TensorRT engine in the background; serving with {self.backend.name} meanwhile")

    def _switch(self, plan: bytes) -> None:
        m = self.package.manifest
        try:
            engine = self._tensorrt_backend(
                plan, m.input_name, (3, m.input_height, m.input_width), self.config.max_batch
            )
        except BackendError as err:
            self.engine_state = f"engine unusable: {err}"
            self.log(f"TensorRT engine unusable, staying on {self.backend.name}: {err}")
            return
        self.backend.close()
        self.backend = engine
        self.engine_state = "ready"
        self.log(f"switched to TensorRT ({self.cache.path(self._target).name})")

    def _fall_back(self, err: BackendError) -> None:
        """TensorRT failed at run time: serve this and every later batch with ONNX Runtime (until a
        reload), and say why in the status."""
        failed = self.backend
        self.backend = self._ort(self.package)
        self.engine_state = f"failed, serving with ONNX Runtime: {err}"
        self.log(f"TensorRT failed, falling back to {self.backend.name}: {err}")
        try:
            failed.close()
        except BackendError as close_err:
            self.log(f"TensorRT backend did not close cleanly: {close_err}")

    # -- diagnostics -------------------------------------------------------------------------------

    def status_values(self) -> dict[str, str]:
        values = {
            "detector.backend": self.backend.name,
            "detector.model": self._describe(),
            "detector.engine": self.engine_state,
        }
        if self.last is not None:
            values.update(
                {
                    "detector.pre_ms": fmt(self.last.pre_ms),
                    "detector.infer_ms": fmt(self.last.infer_ms),
                    "detector.post_ms": fmt(self.last.post_ms),
                    "detector.batch": str(self.last.batch),
                }
            )
        return values

    def _describe(self) -> str:
        m = self.package.manifest
        return f"{m.name} {m.version} ({m.sha256[:12]})"

    def _ort(self, package: ModelPackage) -> Backend:
        c = self.config
        return OrtBackend(package.onnx_bytes, package.manifest.input_name, c.threads, c.use_cuda)


@dataclass(frozen=True)
class _Build:
    """The picklable build job for the background process."""

    builder: PlanBuilder
    onnx_bytes: bytes
    input_name: str
    chw: tuple[int, int, int]
    settings: EngineSettings

    def __call__(self) -> bytes:
        return self.builder(self.onnx_bytes, self.input_name, self.chw, self.settings)


def _machine_target(config: DetectionConfig) -> Callable[[ModelPackage], EngineTarget]:
    settings = EngineSettings(config.fp16, config.int8, config.workspace_mib, config.dla_core, config.max_batch)

    def target(package: ModelPackage) -> EngineTarget:
        trt_version, gpu = gpu_identity()
        return EngineTarget(package.manifest.sha256, trt_version, gpu, settings)

    return target


def check_training_domain(manifest: ModelManifest, allowed: bool, log: Log) -> None:
    """Refuse (ModelPackageError) a simulation-trained model unless allowed; when allowed, say so loudly."""
    if manifest.training_domain != "simulation":
        return
    what = f"model {manifest.name} {manifest.version} is trained on simulation only (manifest: training_domain)"
    if not allowed:
        raise ModelPackageError(
            f"{what}: refused on a vehicle. Set camera_detection.allow_simulation_trained "
            "(launch: allow_sim_model:=true) to run it anyway"
        )
    log(f"WARNING: {what}: its detections mean nothing on real roads")
