"""Camera detection runtime: inference backends (ONNX Runtime, TensorRT), engine cache, detector."""
