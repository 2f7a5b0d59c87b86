from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from av_edge.core.detection.config import DetectionConfig
from av_edge.core.detection.manifest import ModelManifest, ModelPackage, write_package
from av_edge.core.detection.shadow import ShadowConfig

if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
    pytest.skip("onnxruntime and onnx are not installed (make test installs them)", allow_module_level=True)

from test.detection.yolo_onnx import yolo_layout_model

WIDTH, HEIGHT = 640, 384
CLASSES = ("car", "pedestrian")


def candidates() -> np.ndarray:
    """Two people overlapping (one suppressed), a car, and low-score background."""
    out = np.zeros((4 + len(CLASSES), 100), np.float32)
    out[:4] = [[320], [192], [10], [10]]
    out[:, 0] = [100, 100, 40, 80, 0.0, 0.9]
    out[:, 1] = [104, 102, 40, 80, 0.0, 0.6]
    out[:, 2] = [400, 200, 120, 60, 0.8, 0.1]
    return out


@pytest.fixture
def yolo_package(tmp_path: Path) -> ModelPackage:
    manifest = ModelManifest(
        "user_yolo", "8.3", "images", WIDTH, HEIGHT, "rgb", (0, 0, 0), (1, 1, 1), "yolo", CLASSES, "0" * 64
    )
    return write_package(tmp_path / "user_yolo", manifest, yolo_layout_model(candidates(), WIDTH, HEIGHT))


SHADOW = ShadowConfig(
    rate_hz=30.0,
    frames=5,
    min_recall=0.9,
    min_precision=0.8,
    min_class_agreement=0.95,
    max_latency_ratio=5.0,
    calm_s=0.0,
    watch_s=0.0,
    max_watch_latency_ratio=5.0,
    max_watch_failures=0,
)


def detection_config(package: Path, tmp_path: Path, backend: str = "onnxruntime", **changes: Any) -> DetectionConfig:
    fields: dict[str, Any] = dict(
        shadow=SHADOW,
        update_directory="off",
        enabled=True,
        model_package=str(package),
        backend=backend,
        cameras=("front",),
        allow_simulation_trained=False,  # these test packages say nothing of their training: unknown, accepted
        engine_cache=str(tmp_path / "engines"),
        fp16=True,
        int8=False,
        use_cuda=False,
        score_threshold=0.3,
        iou_threshold=0.5,
        rate_hz=10.0,
        batch_wait_s=0.02,
        threads=1,
        workspace_mib=512,
        dla_core=-1,
        max_batch=4,
        image_timeout_s=0.5,
        niceness=0,
    )
    fields.update(changes)
    return DetectionConfig(**fields)
