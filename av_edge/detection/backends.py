"""Inference backends behind one interface: ``infer(NCHW float32 batch) -> raw output``.

ONNX Runtime (CPU, or CUDA when its provider is present) always works; TensorRT 10 with pycuda is
imported lazily and only when asked for.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from av_edge.core.errors import AvEdgeError


class BackendUnavailableError(AvEdgeError):
    """The backend's libraries (or a GPU) are missing here; the caller serves with another one."""


class Backend(Protocol):
    name: str

    def infer(self, batch: np.ndarray) -> np.ndarray: ...


class OrtBackend:
    """ONNX Runtime session; CUDA provider first when installed and asked for."""

    def __init__(self, onnx_bytes: bytes, input_name: str, threads: int, use_cuda: bool) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        available = ort.get_available_providers()
        providers = ["CPUExecutionProvider"]
        if use_cuda and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        self._session = ort.InferenceSession(onnx_bytes, options, providers=providers)
        self._input = input_name
        self.name = f"onnxruntime ({self._session.get_providers()[0]})"

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {self._input: batch})[0])


def import_tensorrt() -> tuple[Any, Any]:
    """``(tensorrt, pycuda.driver)`` with a CUDA context made current; BackendUnavailableError saying
    what is missing otherwise."""
    try:
        import tensorrt as trt
    except ImportError as err:
        raise BackendUnavailableError(
            f"TensorRT is not installed ({err}); install the TensorRT 10 Python wheels from NVIDIA"
        ) from None
    try:
        import pycuda.autoinit  # noqa: F401 - creates and pushes the CUDA context
        import pycuda.driver as cuda
    except ImportError as err:
        raise BackendUnavailableError(f"pycuda is not installed ({err}); pip install pycuda (needs CUDA)") from None
    except Exception as err:  # pycuda raises its own errors when there is no GPU or driver
        raise BackendUnavailableError(f"no usable CUDA device: {err}") from None
    return trt, cuda


class TensorRtBackend:
    """A deserialized TensorRT 10 engine run with named I/O tensors and ``execute_async_v3``."""

    def __init__(self, plan: bytes, input_name: str) -> None:
        trt, cuda = import_tensorrt()
        self._trt, self._cuda = trt, cuda
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(plan)
        if self._engine is None:
            raise BackendUnavailableError("TensorRT could not deserialize the cached engine (stale or corrupt)")
        self._context = self._engine.create_execution_context()
        self._stream = cuda.Stream()
        self._input = input_name
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        outputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if input_name not in names or len(outputs) != 1:
            raise BackendUnavailableError(f"engine I/O {names} does not match input '{input_name}' + one output")
        self._output = outputs[0]
        self._buffers: dict[str, tuple[Any, Any]] = {}  # name -> (host page-locked, device)
        self.name = "tensorrt"

    def infer(self, batch: np.ndarray) -> np.ndarray:
        trt, cuda = self._trt, self._cuda
        context = self._context
        context.set_input_shape(self._input, tuple(batch.shape))
        host_in, device_in = self._buffer(self._input, tuple(batch.shape), np.float32)
        np.copyto(host_in, batch)
        out_shape = tuple(context.get_tensor_shape(self._output))
        out_dtype = trt.nptype(self._engine.get_tensor_dtype(self._output))
        host_out, device_out = self._buffer(self._output, out_shape, out_dtype)
        context.set_tensor_address(self._input, int(device_in))
        context.set_tensor_address(self._output, int(device_out))
        cuda.memcpy_htod_async(device_in, host_in, self._stream)
        if not context.execute_async_v3(self._stream.handle):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        cuda.memcpy_dtoh_async(host_out, device_out, self._stream)
        self._stream.synchronize()
        return np.array(host_out, dtype=np.float32)

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: Any) -> tuple[Any, Any]:
        """Page-locked host + device buffers, reallocated only when the shape changes (batch size)."""
        held = self._buffers.get(name)
        if held is None or held[0].shape != shape:
            host = self._cuda.pagelocked_empty(shape, dtype)
            held = (host, self._cuda.mem_alloc(host.nbytes))
            self._buffers[name] = held
        return held
