"""A model package checked against its own manifest: sha256 (on load) and the ONNX graph's I/O.

``av-edge seal-model --verify DIR`` runs this before a package is shipped or installed: a model
exported at another size, with another input name or class count, fails here with the field named,
not on the vehicle with a shape error in the middle of a drive.
"""

from __future__ import annotations

from pathlib import Path

from av_edge.core.detection.manifest import ModelManifest, load_package


def io_problems(
    manifest: ModelManifest, inputs: list[tuple[str, list[object]]], outputs: list[list[object]]
) -> list[str]:
    """What in the graph's ``inputs`` ((name, shape)) and ``outputs`` (shapes) contradicts ``manifest``.

    Symbolic dimensions (strings, None) pass; fixed ones must match."""
    problems = []
    names = [name for name, _ in inputs]
    if names != [manifest.input_name]:
        problems.append(f"inputs {names}, manifest input.name '{manifest.input_name}' (exactly one input)")
    else:
        expected = [None, 3, manifest.input_height, manifest.input_width]
        shape = inputs[0][1]
        if len(shape) != 4 or any(_fixed(d) and e is not None and d != e for d, e in zip(shape, expected, strict=True)):
            problems.append(
                f"input shape {shape}, manifest says [N, 3, {manifest.input_height}, {manifest.input_width}]"
            )
    if len(outputs) != 1:
        problems.append(f"{len(outputs)} outputs, the detector reads exactly one")
    else:
        shape = outputs[0]
        nc = manifest.num_classes
        if manifest.output_format == "yolo" and (len(shape) != 3 or (_fixed(shape[1]) and shape[1] != 4 + nc)):
            problems.append(f"output shape {shape}, format yolo with {nc} classes needs [N, {4 + nc}, candidates]")
        if manifest.output_format == "nms" and (len(shape) != 3 or (_fixed(shape[2]) and shape[2] != 6)):
            problems.append(f"output shape {shape}, format nms needs [N, detections, 6]")
    return problems


def verify_package(path: Path) -> list[str]:
    """Problems of the package at ``path`` (ModelPackageError when it does not load or its sha256 differs)."""
    import onnxruntime as ort

    package = load_package(path)
    session = ort.InferenceSession(package.onnx_bytes, providers=["CPUExecutionProvider"])
    inputs = [(i.name, list(i.shape)) for i in session.get_inputs()]
    outputs = [list(o.shape) for o in session.get_outputs()]
    return io_problems(package.manifest, inputs, outputs)


def _fixed(dim: object) -> bool:
    return isinstance(dim, int)
