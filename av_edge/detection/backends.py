"""Inference backends behind one interface: ``infer(NCHW float32 batch) -> raw output``.

ONNX Runtime (CPU, or CUDA when its provider is present) always works; TensorRT (10.x, or 8.6 where
the calls differ) with pycuda is imported lazily and only when asked for. Every pycuda or TensorRT
failure becomes a :class:`BackendError`, on which the detector falls back to ONNX Runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from av_edge.core.errors import AvEdgeError


class BackendError(AvEdgeError):
    """A backend failed (a CUDA or TensorRT error, an engine that does not fit the model)."""


class BackendUnavailableError(BackendError):
    """The backend's libraries (or a GPU) are missing here; the caller serves with another one."""


class Backend(Protocol):
    name: str

    def infer(self, batch: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


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

    def close(self) -> None:
        """Nothing to release by hand (the session goes with the object)."""


MIN_TENSORRT = (8, 6)


def import_tensorrt() -> tuple[Any, Any]:
    """``(tensorrt, pycuda.driver)`` with the driver initialised and no context created (no
    ``pycuda.autoinit``: it would make a context current on the importing thread only).
    BackendUnavailableError saying what is missing otherwise."""
    try:
        import tensorrt as trt
    except ImportError as err:
        raise BackendUnavailableError(
            f"TensorRT is not installed ({err}); install the TensorRT 10 Python wheels from NVIDIA"
        ) from None
    if tensorrt_version(trt) < MIN_TENSORRT:
        raise BackendUnavailableError(f"TensorRT {trt.__version__} is too old (8.6 or 10.x supported)")
    try:
        import pycuda.driver as cuda
    except ImportError as err:
        raise BackendUnavailableError(f"pycuda is not installed ({err}); pip install pycuda (needs CUDA)") from None
    try:
        cuda.init()
        if cuda.Device.count() < 1:
            raise BackendUnavailableError("no CUDA device")
    except BackendUnavailableError:
        raise
    except Exception as err:  # pycuda raises its own errors when there is no GPU or driver
        raise BackendUnavailableError(f"no usable CUDA device: {err}") from None
    return trt, cuda


def tensorrt_version(trt: Any) -> tuple[int, int]:
    """(major, minor) of the installed TensorRT: ``10.3.0.26`` -> (10, 3)."""
    parts = [int(part) for part in str(trt.__version__).split(".")[:2]]
    return parts[0], parts[1] if len(parts) > 1 else 0


class CudaContext:
    """The device's primary context, retained once and pushed on whichever thread runs CUDA work.

    pycuda's contexts are per thread: a context made current on the constructing thread is not
    current on the inference worker. Every CUDA call here runs inside :meth:`active`, which pushes
    the context on the calling thread and pops it after, so any thread may build, infer or free.
    """

    def __init__(self, cuda: Any, device: int = 0) -> None:
        self._cuda = cuda
        self._context = cuda.Device(device).retain_primary_context()
        self._lock = threading.Lock()  # one thread in the context at a time (streams are ours alone)

    @contextmanager
    def active(self) -> Iterator[None]:
        with self._lock:
            self._context.push()
            try:
                yield
            finally:
                self._cuda.Context.pop()

    def release(self) -> None:
        """Drop our reference to the primary context (after every buffer was freed inside it)."""
        if self._context is not None:
            self._context.detach()
            self._context = None


@contextmanager
def backend_errors(what: str) -> Iterator[None]:
    """Any pycuda or TensorRT exception inside becomes one :class:`BackendError` naming ``what``."""
    try:
        yield
    except BackendError:
        raise
    except Exception as err:  # pycuda.driver.Error, TensorRT's RuntimeError/TypeError, MemoryError ...
        raise BackendError(f"TensorRT {what} failed: {type(err).__name__}: {err}") from err


class TensorRtBackend:
    """A deserialized TensorRT engine run with named I/O tensors and ``execute_async_v3`` (8.6 and 10.x).

    ``input_chw`` is the manifest's input; the engine's input must match it and accept every batch
    size up to ``max_batch`` (a static-shape engine, as DLA needs, gets its batch padded).
    """

    def __init__(self, plan: bytes, input_name: str, input_chw: tuple[int, int, int], max_batch: int) -> None:
        trt, cuda = import_tensorrt()
        self._trt, self._cuda = trt, cuda
        self._input = input_name
        self._buffers: dict[str, tuple[Any, Any]] = {}  # name -> (host page-locked, device)
        self.name = "tensorrt"
        self._static_batch = 0
        self._gpu: CudaContext | None = None
        with backend_errors("context setup"):
            self._gpu = CudaContext(cuda)
        try:
            with self._gpu.active(), backend_errors("engine load"):
                self._logger = trt.Logger(trt.Logger.WARNING)
                self._runtime = trt.Runtime(self._logger)
                self._engine = self._runtime.deserialize_cuda_engine(plan)
                if self._engine is None:
                    raise BackendError("TensorRT could not deserialize the cached engine (stale or corrupt)")
                self._output = self._check_io(input_chw, max_batch)
                self._context = self._engine.create_execution_context()
                self._stream = cuda.Stream()
        except BackendError:
            self.close()
            raise

    def _check_io(self, input_chw: tuple[int, int, int], max_batch: int) -> str:
        """The output's name, after checking the engine's I/O against the manifest."""
        engine, trt = self._engine, self._trt
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if self._input not in names or len(outputs) != 1:
            raise BackendError(f"engine I/O {names} does not match input '{self._input}' + one output")
        shape = tuple(engine.get_tensor_shape(self._input))
        if len(shape) != 4 or shape[1:] != tuple(input_chw):
            raise BackendError(f"engine input {self._input} is {shape}, the manifest says (N, {input_chw})")
        _, _, largest = engine.get_tensor_profile_shape(self._input, 0)
        if largest[0] < max_batch:
            raise BackendError(f"engine takes batches up to {largest[0]}, the detector sends up to {max_batch}")
        self._static_batch = shape[0] if shape[0] > 0 else 0
        return outputs[0]

    def infer(self, batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        if self._static_batch and n < self._static_batch:  # a static (DLA) engine: pad, then cut
            pad = np.zeros((self._static_batch - n, *batch.shape[1:]), batch.dtype)
            batch = np.concatenate([batch, pad])
        if self._gpu is None:
            raise BackendError("TensorRT backend used after close()")
        with self._gpu.active(), backend_errors("inference"):
            output = self._run(batch)
        return output[:n]

    def _run(self, batch: np.ndarray) -> np.ndarray:
        trt, cuda, context = self._trt, self._cuda, self._context
        if not self._static_batch and not context.set_input_shape(self._input, tuple(batch.shape)):
            raise BackendError(f"engine rejected input shape {tuple(batch.shape)} for {self._input}")
        host_in, device_in = self._buffer(self._input, tuple(batch.shape), np.float32)
        np.copyto(host_in, batch)
        out_shape = tuple(context.get_tensor_shape(self._output))
        if any(d < 0 for d in out_shape):
            raise BackendError(f"output {self._output} shape {out_shape} unresolved after setting the input")
        out_dtype = trt.nptype(self._engine.get_tensor_dtype(self._output))
        host_out, device_out = self._buffer(self._output, out_shape, out_dtype)
        context.set_tensor_address(self._input, int(device_in))
        context.set_tensor_address(self._output, int(device_out))
        cuda.memcpy_htod_async(device_in, host_in, self._stream)
        if not context.execute_async_v3(self._stream.handle):
            raise BackendError("TensorRT execute_async_v3 returned failure")
        cuda.memcpy_dtoh_async(host_out, device_out, self._stream)
        self._stream.synchronize()
        return np.array(host_out, dtype=np.float32)

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: Any) -> tuple[Any, Any]:
        """Page-locked host + device buffers, reallocated only when the shape changes (batch size)."""
        held = self._buffers.get(name)
        if held is None or held[0].shape != shape:
            if held is not None:
                held[1].free()
            host = self._cuda.pagelocked_empty(shape, dtype)
            held = (host, self._cuda.mem_alloc(host.nbytes))
            self._buffers[name] = held
        return held

    def close(self) -> None:
        """Free device memory and the engine inside the context, then release the context."""
        gpu, self._gpu = self._gpu, None
        if gpu is None:
            return
        try:
            with gpu.active():
                for _, device in self._buffers.values():
                    device.free()
                self._buffers = {}
                for name in ("_stream", "_context", "_engine", "_runtime"):
                    if hasattr(self, name):
                        delattr(self, name)  # TensorRT objects free their GPU memory when dropped
        finally:
            gpu.release()
