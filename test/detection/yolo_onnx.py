"""A small ONNX model in the YOLOv8/YOLO11 export layout ``[B, 4 + nc, N]``, built with onnx.helper:
its output is a fixed set of candidate boxes (plus zero times the input, so the batch size follows
the input), as a stand-in for a user's YOLO export."""

from __future__ import annotations

import numpy as np


def yolo_layout_model(candidates: np.ndarray, width: int, height: int) -> bytes:
    """``candidates``: [4 + nc, N] float32 (cx, cy, w, h in input pixels, class scores)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    constant = numpy_helper.from_array(candidates[None].astype(np.float32), "candidates")
    zero = numpy_helper.from_array(np.zeros(1, np.float32), "zero")
    shape = numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "batch_shape")
    axes = numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes")
    nodes = [
        helper.make_node("Mul", ["images", "zero"], ["zeros"]),
        helper.make_node("ReduceSum", ["zeros", "axes"], ["per_image"], keepdims=1),
        helper.make_node("Reshape", ["per_image", "batch_shape"], ["per_batch"]),
        helper.make_node("Add", ["per_batch", "candidates"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo_layout",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, height, width])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", *candidates.shape])],
        initializer=[constant, zero, shape, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
