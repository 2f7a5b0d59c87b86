"""Model packages: a directory with ``model.onnx`` and ``manifest.yaml``; the ONNX file's sha256 is
checked on load (the model on a vehicle is an attack surface)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from av_edge.core.errors import AvEdgeError

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.yaml"
OUTPUT_FORMATS = ("yolo", "nms")  # [B, 4+nc, N] (YOLOv8/YOLO11 export) | [B, N, 6] x1 y1 x2 y2 score class


class ModelPackageError(AvEdgeError):
    """A model package is missing, malformed or does not match its recorded hash."""


@dataclass(frozen=True)
class ModelManifest:
    name: str
    version: str
    input_name: str
    input_width: int
    input_height: int
    channel_order: str  # "rgb" | "bgr"
    mean: tuple[float, float, float]  # on 0..1 pixel values
    std: tuple[float, float, float]
    output_format: str
    class_names: tuple[str, ...]
    sha256: str
    extra: dict[str, Any] = field(default_factory=dict)  # training settings, validation metrics

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def training_domain(self) -> str:
        """What it was trained on: "simulation", "real", or "unknown" (the manifest does not say)."""
        return str(self.extra.get("training_domain", "unknown"))


@dataclass(frozen=True)
class ModelPackage:
    path: Path
    manifest: ModelManifest
    onnx_bytes: bytes


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_package(path: Path) -> ModelPackage:
    """Read and verify a model package; ModelPackageError naming the problem otherwise."""
    manifest_path, model_path = path / MANIFEST_FILE, path / MODEL_FILE
    try:
        document = yaml.safe_load(manifest_path.read_text())
        onnx_bytes = model_path.read_bytes()
    except (OSError, yaml.YAMLError) as err:
        raise ModelPackageError(f"model package {path}: {err}") from None
    manifest = parse_manifest(document, where=str(manifest_path))
    actual = sha256_hex(onnx_bytes)
    if actual != manifest.sha256:
        raise ModelPackageError(
            f"{model_path}: sha256 {actual} does not match the manifest's {manifest.sha256}; refusing to load "
            "a modified or corrupted model"
        )
    return ModelPackage(path, manifest, onnx_bytes)


def parse_manifest(document: Any, where: str) -> ModelManifest:
    try:
        tensor, norm, output = document["input"], document["normalization"], document["output"]
        width, height = int(tensor["width"]), int(tensor["height"])
        manifest = ModelManifest(
            name=str(document["name"]),
            version=str(document["version"]),
            input_name=str(tensor["name"]),
            input_width=width,
            input_height=height,
            channel_order=str(tensor["channel_order"]).lower(),
            mean=_triple(norm["mean"]),
            std=_triple(norm["std"]),
            output_format=str(output["format"]),
            class_names=tuple(str(c) for c in document["class_names"]),
            sha256=str(document.get("sha256") or "").lower(),  # absent until `av-edge seal-model`
            extra={k: v for k, v in document.items() if k not in _KNOWN},
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ModelPackageError(f"{where}: malformed manifest ({type(err).__name__}: {err})") from None
    problems = []
    if str(tensor.get("layout", "NCHW")).upper() != "NCHW" or str(tensor.get("dtype", "float32")) != "float32":
        problems.append("input must be NCHW float32")
    if manifest.channel_order not in ("rgb", "bgr"):
        problems.append(f"channel_order '{manifest.channel_order}' is not rgb or bgr")
    if manifest.output_format not in OUTPUT_FORMATS:
        problems.append(f"output format '{manifest.output_format}' is not one of {OUTPUT_FORMATS}")
    if not manifest.class_names:
        problems.append("no class_names")
    if min(width, height) < 32 or width % 32 or height % 32:
        problems.append(f"input {width}x{height} must be multiples of 32")
    if any(s <= 0 for s in manifest.std):
        problems.append("std must be positive")
    if problems:
        raise ModelPackageError(f"{where}: " + "; ".join(problems))
    return manifest


def manifest_document(manifest: ModelManifest) -> dict[str, Any]:
    """The YAML document of ``manifest`` (what ``parse_manifest`` reads)."""
    return {
        "name": manifest.name,
        "version": manifest.version,
        "input": {
            "name": manifest.input_name,
            "width": manifest.input_width,
            "height": manifest.input_height,
            "layout": "NCHW",
            "dtype": "float32",
            "channel_order": manifest.channel_order,
        },
        "normalization": {"mean": list(manifest.mean), "std": list(manifest.std)},
        "output": {"format": manifest.output_format},
        "class_names": list(manifest.class_names),
        "sha256": manifest.sha256,
        **manifest.extra,
    }


def write_package(path: Path, manifest: ModelManifest, onnx_bytes: bytes) -> ModelPackage:
    """Write ``model.onnx`` and its manifest (sha256 filled in from the bytes)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / MODEL_FILE).write_bytes(onnx_bytes)
    document = manifest_document(manifest)
    document["sha256"] = sha256_hex(onnx_bytes)
    (path / MANIFEST_FILE).write_text(yaml.safe_dump(document, sort_keys=False))
    return load_package(path)


_KNOWN = frozenset({"name", "version", "input", "normalization", "output", "class_names", "sha256"})


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c
