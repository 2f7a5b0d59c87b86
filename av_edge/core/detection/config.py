"""Camera detection parameters (the ``camera_detection`` section of perception_node's params file)."""

from __future__ import annotations

from dataclasses import dataclass

from av_edge.core.config import bounded, choice, described
from av_edge.core.detection.shadow import ShadowConfig


@dataclass(frozen=True)
class DetectionConfig:
    shadow: ShadowConfig
    enabled: bool = described("run camera detection and fusion")
    model_package: str = described(
        "a directory with model.onnx + manifest.yaml; a bare name means av_edge's models/<name>"
    )
    backend: str = choice(
        "auto", "onnxruntime", "tensorrt", doc="'auto': TensorRT once its engine is built (ONNX Runtime meanwhile)"
    )
    update_directory: str = described(
        "off: no over-the-air models; else the model updater's models/<name>: its current package is loaded "
        "at start (over model_package) and a candidate is shadow-evaluated, then promoted"
    )
    cameras: tuple[str, ...] = described("names from config/vehicle.yaml; one batched inference for all")
    allow_simulation_trained: bool = described(
        "load a model whose manifest says training_domain: simulation (false: refused, camera detection off)"
    )
    engine_cache: str = described("TensorRT engines, keyed by ONNX sha256 + TensorRT version + GPU + settings")
    fp16: bool = described("TensorRT FP16 kernels")
    int8: bool = described("TensorRT INT8 (only for models exported with Q/DQ nodes)")
    use_cuda: bool = described("ONNX Runtime's CUDA provider when installed")
    score_threshold: float = bounded(0.01, 1.0, "detections below this confidence are dropped")
    iou_threshold: float = bounded(0.05, 1.0, "non-maximum suppression overlap")
    rate_hz: float = bounded(0.5, 60.0, "at most this many batched inferences a second")
    batch_wait_s: float = bounded(
        0.0, 0.5, "a batch starts when every live camera sent an image, or this after the first"
    )
    threads: int = bounded(1, 64, "ONNX Runtime intra-op threads")
    workspace_mib: int = bounded(64, 65536, "MiB TensorRT may use while building")
    dla_core: int = bounded(-1, 7, "-1: GPU only")
    max_batch: int = bounded(1, 16, "images per inference (>= cameras)")
    image_timeout_s: float = bounded(0.05, 10.0, "s; a camera silent this long is reported stale")
    niceness: int = bounded(0, 19, "the detection thread yields the CPU to LiDAR perception and braking")

    def __post_init__(self) -> None:
        from av_edge.core.errors import ConfigError

        if len(self.cameras) > self.max_batch:
            raise ConfigError(f"{len(self.cameras)} cameras exceed camera_detection.max_batch {self.max_batch}")
