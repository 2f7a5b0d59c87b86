"""Camera detection latency of the ONNX Runtime backend with the default model (``detect_*``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from av_edge.bench.metrics import Metrics
from av_edge.core.camera import load_rig
from av_edge.core.config import build_config, load_params_file
from av_edge.core.detection.boxes import decode, to_batch, to_original
from av_edge.core.detection.manifest import load_package
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.detection.backends import OrtBackend
from av_edge.detection.detector import resolve_package
from av_edge.paths import config_file
from av_edge.sim.detection_data import GeneratorSettings, sample


def detection_latency(repeats: int = 60) -> Metrics:
    """Median inference time at the model's input size: one image with every core (what ONNX Runtime on
    this CPU can do) and with the params file's thread count (what the node uses, leaving a core to LiDAR
    perception and braking); one image per configured camera in one batch (node threads); pre- and
    post-processing of that batch apart."""
    params = load_params_file(config_file("perception.params.yaml"), "perception_node")
    config = build_config(PerceptionNodeConfig, params).camera_detection
    package = load_package(resolve_package(config.model_package))
    manifest = package.manifest
    backend = OrtBackend(package.onnx_bytes, manifest.input_name, config.threads, use_cuda=False)
    all_cores = OrtBackend(package.onnx_bytes, manifest.input_name, os.cpu_count() or 1, use_cuda=False)
    rig = {c.name: c for c in load_rig(config_file("cameras.yaml"))}
    rng = np.random.default_rng(0)
    images = [sample(rig[name], rng, GeneratorSettings())[0] for name in config.cameras]
    single, _ = to_batch(images[:1], manifest)
    batch, boxes = to_batch(images, manifest)
    output = backend.infer(batch)

    def post() -> None:
        found = decode(output, manifest.output_format, config.score_threshold, config.iou_threshold)
        for d, box, image in zip(found, boxes, images, strict=True):
            to_original(d, box, image.shape[1], image.shape[0])

    return {
        "detect_ms_per_image": _median_ms(lambda: all_cores.infer(single), repeats),
        "detect_ms_per_image_node_threads": _median_ms(lambda: backend.infer(single), repeats),
        "detect_ms_per_batch": _median_ms(lambda: backend.infer(batch), repeats // 2),
        "detect_batch_size": float(len(images)),
        "detect_pre_ms": _median_ms(lambda: to_batch(images, manifest), repeats),
        "detect_post_ms": _median_ms(post, repeats),
        "detect_node_threads": float(config.threads),
    }


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return round(float(np.median(times)), 2)
