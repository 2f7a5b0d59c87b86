"""Camera detection parameters (the ``camera_detection`` section of perception_node's params file)."""

from __future__ import annotations

from dataclasses import dataclass

from av_edge.core.config import bounded


@dataclass(frozen=True)
class DetectionConfig:
    enabled: bool
    model_package: str  # a directory; a bare name means av_edge's models/<name>
    backend: str  # "auto": TensorRT once its engine is built (ONNX Runtime meanwhile) | "onnxruntime" | "tensorrt"
    cameras: tuple[str, ...]  # names from config/cameras.yaml
    engine_cache: str
    fp16: bool
    int8: bool
    use_cuda: bool  # ONNX Runtime's CUDA provider when installed
    score_threshold: float = bounded(0.01, 1.0)
    iou_threshold: float = bounded(0.05, 1.0)
    rate_hz: float = bounded(0.5, 60.0, "at most this many batched inferences a second")
    batch_wait_s: float = bounded(
        0.0, 0.5, "a batch starts when every live camera sent an image, or this after the first"
    )
    threads: int = bounded(1, 64, "ONNX Runtime intra-op threads")
    workspace_mib: int = bounded(64, 65536)
    dla_core: int = bounded(-1, 7, "-1: GPU only")
    max_batch: int = bounded(1, 16)
    image_timeout_s: float = bounded(0.05, 10.0)
    niceness: int = bounded(0, 19, "the detection thread yields the CPU to LiDAR perception and braking")

    def __post_init__(self) -> None:
        from av_edge.core.errors import ConfigError

        if self.backend not in ("auto", "onnxruntime", "tensorrt"):
            raise ConfigError(f"camera_detection.backend '{self.backend}' is not auto, onnxruntime or tensorrt")
        if len(self.cameras) > self.max_batch:
            raise ConfigError(f"{len(self.cameras)} cameras exceed camera_detection.max_batch {self.max_batch}")
