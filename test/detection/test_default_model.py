"""The bundled simulation model: verified, small, as accurate as its manifest says on fresh images."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from av_edge.core.camera import load_rig
from av_edge.core.config import build_config
from av_edge.core.detection.evaluation import average_precision
from av_edge.core.detection.manifest import MODEL_FILE, load_package
from av_edge.core.diagnostics import Level
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.vehicle import load_node_params
from av_edge.detection.detector import CameraDetector, resolve_package
from av_edge.paths import config_file
from av_edge.ros.camera_handler import CameraDetectionHandler
from av_edge.sim.detection_data import DETECTOR_CLASSES, GeneratorSettings, sample

CONFIG = build_config(
    PerceptionNodeConfig, load_node_params(config_file("perception.params.yaml"), "perception_node")
).camera_detection


def test_bundled_model_is_verified_small_and_documented() -> None:
    path = resolve_package(CONFIG.model_package)
    package = load_package(path)  # sha256 checked
    assert (path / MODEL_FILE).stat().st_size <= 10 * 2**20
    manifest = package.manifest
    assert manifest.class_names == DETECTOR_CLASSES and manifest.input_width >= 640
    validation = manifest.extra["validation"]
    assert validation["map50_day"]["car"] >= 0.6 and validation["map50_day"]["pedestrian"] >= 0.6
    assert set(validation["map50_night"]) == set(DETECTOR_CLASSES)
    assert "simulation" in manifest.extra["purpose"]
    assert manifest.extra["training"]["seed"] is not None


def test_bundled_model_finds_cars_and_people_in_fresh_day_images(tmp_path: Path) -> None:
    detector = CameraDetector(CONFIG.__class__(**{**CONFIG.__dict__, "backend": "onnxruntime"}), print)
    front = load_rig(config_file("vehicle.yaml"))[0]
    rng = np.random.default_rng(987_654)  # neither the training nor the validation seed
    data = [sample(front, rng, GeneratorSettings(night_fraction=0.0)) for _ in range(40)]
    found = []
    for start in range(0, len(data), 4):
        found += detector.detect([image for image, _ in data[start : start + 4]])
    truths = [labels for _, labels in data]
    for name in ("car", "pedestrian"):
        assert average_precision(found, truths, DETECTOR_CLASSES.index(name)) >= 0.5, name


def test_a_simulation_trained_model_is_refused_unless_allowed() -> None:
    """The vehicle launch and the systemd unit set allow_simulation_trained false: detection stays off,
    said in /diagnostics as an ERROR naming the cause; allowed (the simulator), it loads with a warning."""
    assert load_package(resolve_package(CONFIG.model_package)).manifest.training_domain == "simulation"
    lines: list[str] = []
    refused = CameraDetectionHandler(dataclasses.replace(CONFIG, allow_simulation_trained=False), 100.0, lines.append)
    assert refused.detector is None
    status = refused.status(0)
    assert status.level is Level.ERROR and "simulation only" in status.message and "allow_sim_model" in status.message
    assert any("simulation only" in line for line in lines)
    lines.clear()
    allowed = CameraDetectionHandler(
        dataclasses.replace(CONFIG, allow_simulation_trained=True, backend="onnxruntime"), 100.0, lines.append
    )
    assert allowed.detector is not None and any(line.startswith("WARNING") for line in lines)
