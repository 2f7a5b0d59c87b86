"""Camera detection latency of the ONNX Runtime backend with the default model (``detect_*``), and
one backend checked against another (``av-edge bench detection --backend tensorrt --compare onnxruntime``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from av_edge.bench.metrics import Metrics
from av_edge.core.camera import load_rig
from av_edge.core.config import build_config
from av_edge.core.detection.agreement import agreement
from av_edge.core.detection.boxes import decode, to_batch, to_original
from av_edge.core.detection.config import DetectionConfig
from av_edge.core.detection.manifest import ModelManifest, ModelPackage, load_package
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.vehicle import load_node_params
from av_edge.detection.backends import Backend, BackendUnavailableError, OrtBackend, TensorRtBackend
from av_edge.detection.detector import resolve_package
from av_edge.detection.engine import EngineCache, EngineSettings, EngineTarget, build_plan, gpu_identity
from av_edge.paths import config_file
from av_edge.sim.detection_data import GeneratorSettings, sample


def detection_latency(repeats: int = 60) -> Metrics:
    """Median inference time at the model's input size: one image with every core (what ONNX Runtime on
    this CPU can do) and with the params file's thread count (what the node uses, leaving a core to LiDAR
    perception and braking); one image per configured camera in one batch (node threads); pre- and
    post-processing of that batch apart."""
    params = load_node_params(config_file("perception.params.yaml"), "perception_node")
    config = build_config(PerceptionNodeConfig, params).camera_detection
    package = load_package(resolve_package(config.model_package))
    manifest = package.manifest
    backend = OrtBackend(package.onnx_bytes, manifest.input_name, config.threads, use_cuda=False)
    all_cores = OrtBackend(package.onnx_bytes, manifest.input_name, os.cpu_count() or 1, use_cuda=False)
    rig = {c.name: c for c in load_rig(config_file("vehicle.yaml"))}
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


BACKENDS = ("onnxruntime", "onnxruntime-cuda", "tensorrt")


def make_backend(name: str, package: ModelPackage, config: DetectionConfig, log: Callable[[str], None]) -> Backend:
    """A backend by name; TensorRT builds (or loads from the engine cache) its plan first, blocking."""
    manifest = package.manifest
    if name == "onnxruntime":
        return OrtBackend(package.onnx_bytes, manifest.input_name, config.threads, use_cuda=False)
    if name == "onnxruntime-cuda":
        backend = OrtBackend(package.onnx_bytes, manifest.input_name, config.threads, use_cuda=True)
        if "CUDA" not in backend.name:
            raise BackendUnavailableError("ONNX Runtime has no CUDA provider here (pip install onnxruntime-gpu)")
        return backend
    if name != "tensorrt":
        raise ValueError(f"unknown backend '{name}' (known: {', '.join(BACKENDS)})")
    settings = EngineSettings(config.fp16, config.int8, config.workspace_mib, config.dla_core, config.max_batch)
    trt_version, gpu = gpu_identity()
    target = EngineTarget(manifest.sha256, trt_version, gpu, settings)
    cache = EngineCache(Path(config.engine_cache).expanduser())
    chw = (3, manifest.input_height, manifest.input_width)
    plan = cache.load(target)
    if plan is None:
        log(f"building a TensorRT engine for {gpu} (minutes) ...")
        plan = build_plan(package.onnx_bytes, manifest.input_name, chw, settings)
        log(f"engine cached at {cache.store(target, plan)}")
    return TensorRtBackend(plan, manifest.input_name, chw, config.max_batch)


def compare_backends(candidate: str, reference: str, n_images: int = 32, repeats: int = 50) -> tuple[Metrics, bool]:
    """Detections of ``candidate`` against ``reference`` on the same simulated camera images (matched
    boxes IoU >= 0.9, scores within 0.02, nothing unmatched), and each one's latency per image and per
    batch (every sample kept: median, p99, max). Simulated images; the model is the params file's."""
    params = load_node_params(config_file("perception.params.yaml"), "perception_node")
    config = build_config(PerceptionNodeConfig, params).camera_detection
    package = load_package(resolve_package(config.model_package))
    manifest = package.manifest
    rig = load_rig(config_file("vehicle.yaml"))
    rng = np.random.default_rng(0)
    images = [sample(rig[i % len(rig)], rng, GeneratorSettings())[0] for i in range(n_images)]
    backends = {name: make_backend(name, package, config, print) for name in (candidate, reference)}
    found: dict[str, list[np.ndarray]] = {}
    metrics: Metrics = {}
    for name, backend in backends.items():
        detections = []
        for image in images:
            batch, boxes = to_batch([image], manifest)
            decoded = decode(backend.infer(batch), manifest.output_format, config.score_threshold, config.iou_threshold)
            detections.append(to_original(decoded[0], boxes[0], image.shape[1], image.shape[0]))
        found[name] = detections
    metrics.update(_interleaved_latency(backends, images, manifest, config.max_batch, repeats))
    result = agreement(found[candidate], found[reference])
    metrics.update(
        detect_compare_matched=float(result.matched),
        detect_compare_only_candidate=float(result.only_candidate),
        detect_compare_only_reference=float(result.only_reference),
        detect_compare_worst_iou=round(result.worst_iou, 4),
        detect_compare_worst_score_diff=round(result.worst_score_diff, 4),
    )
    for backend in backends.values():
        backend.close()
    return metrics, result.ok


def _interleaved_latency(
    backends: dict[str, Backend], images: list[np.ndarray], manifest: ModelManifest, max_batch: int, repeats: int
) -> Metrics:
    """Per backend, per image and per full batch: median, p99 and max of every sample, the backends
    taking turns within each repeat so machine noise falls on both alike."""
    single, _ = to_batch(images[:1], manifest)
    full, _ = to_batch(images[:max_batch], manifest)
    inputs = {"image": single, f"batch{len(full)}": full}
    times: dict[tuple[str, str], list[float]] = {(n, label): [] for n in backends for label in inputs}
    for backend in backends.values():  # warm-up: TensorRT's first execution allocates
        for data in inputs.values():
            backend.infer(data)
    for _ in range(repeats):
        for name, backend in backends.items():
            for label, data in inputs.items():
                start = time.perf_counter()
                backend.infer(data)
                times[(name, label)].append((time.perf_counter() - start) * 1e3)
    metrics: Metrics = {}
    for (name, label), samples in times.items():
        key = f"detect_{name.replace('-', '_')}_ms_per_{label}"
        metrics[f"{key}_p50"] = round(float(np.median(samples)), 3)
        metrics[f"{key}_p99"] = round(float(np.percentile(samples, 99)), 3)
        metrics[f"{key}_max"] = round(float(np.max(samples)), 3)
    return metrics


def compare_main(candidate: str, reference: str) -> int:
    metrics, ok = compare_backends(candidate, reference)
    for key, value in metrics.items():
        print(f"  {key:44s} {value}")
    verdict = "agree" if ok else "DISAGREE (IoU >= 0.9 and score difference <= 0.02 for every box required)"
    print(f"detection: {candidate} vs {reference}: {verdict}")
    return 0 if ok else 1
