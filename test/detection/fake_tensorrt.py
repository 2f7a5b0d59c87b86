"""Stand-ins for ``tensorrt`` and ``pycuda`` that enforce what the real ones only punish at run time.

Every CUDA operation asserts that the retained primary context is current *on the calling thread*
(pycuda contexts are per thread), ``pycuda.autoinit`` refuses to be imported, device memory and the
context must be released, and TensorRT calls behave as the 8.6 / 10.x Python APIs document them.
"""

from __future__ import annotations

import itertools
import sys
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

OUTPUT_SHAPE = (6, 100)  # per image: (4 + classes) x candidates, YOLO layout


@dataclass
class GpuState:
    """What the fakes observed, for the tests to assert on."""

    version: str
    chw: tuple[int, int, int] = (3, 384, 640)
    output_shape: tuple[int, int] = OUTPUT_SHAPE
    static_batch: int = 0  # engine input batch dimension: 0 = dynamic (-1)
    max_batch: int = 4
    dla_cores: int = 0
    fail_execute: bool = False
    retained: int = 0
    released: int = 0
    allocated: dict[int, Any] = field(default_factory=dict)  # device address -> allocation
    threads_used: set[str] = field(default_factory=set)  # names of threads that ran CUDA work
    network_flags: list[int] = field(default_factory=list)
    builder_flags: list[str] = field(default_factory=list)
    profile: list[tuple[tuple[int, ...], ...]] = field(default_factory=list)
    device_type: str = "GPU"
    local: threading.local = field(default_factory=threading.local)
    addresses: Iterator[int] = field(default_factory=lambda: itertools.count(0x1000, 0x100000))

    def stack(self) -> list[Any]:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack

    def require_context(self, what: str) -> None:
        assert self.stack(), f"{what} on thread {threading.current_thread().name} without a current CUDA context"
        self.threads_used.add(threading.current_thread().name)


def install(monkeypatch: pytest.MonkeyPatch, version: str = "10.3.0", **options: Any) -> GpuState:
    state = GpuState(version, **options)
    pycuda = types.ModuleType("pycuda")
    driver = _driver(state)
    pycuda.driver = driver  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pycuda", pycuda)
    monkeypatch.setitem(sys.modules, "pycuda.driver", driver)
    # pycuda.autoinit makes a context current on the importing thread only: importing it fails here
    monkeypatch.setitem(sys.modules, "pycuda.autoinit", None)
    monkeypatch.setitem(sys.modules, "tensorrt", _tensorrt(state))
    return state


def _driver(state: GpuState) -> types.ModuleType:
    cuda = types.ModuleType("pycuda.driver")

    class Error(Exception):
        """pycuda.driver.Error"""

    class Context:
        def __init__(self) -> None:
            self.detached = False

        def push(self) -> None:
            assert not self.detached, "push after detach"
            state.stack().append(self)

        @staticmethod
        def pop() -> None:
            assert state.stack(), "pop with no context on this thread"
            state.stack().pop()

        def detach(self) -> None:
            assert not self.detached, "detached twice"
            assert not state.stack(), "detach while the context is still pushed on this thread"
            self.detached = True
            state.released += 1

    class Device:
        def __init__(self, index: int) -> None:
            self.index = index

        @staticmethod
        def count() -> int:
            return 1

        def name(self) -> str:
            return "Fake GPU"

        def retain_primary_context(self) -> Context:
            state.retained += 1
            return Context()

    class Allocation:
        def __init__(self, nbytes: int) -> None:
            state.require_context("mem_alloc")
            self.address = next(state.addresses)
            self.data = np.zeros(nbytes, np.uint8)
            state.allocated[self.address] = self

        def __int__(self) -> int:
            return self.address

        def free(self) -> None:
            state.require_context("free")
            state.allocated.pop(self.address, None)

    class Stream:
        def __init__(self) -> None:
            state.require_context("Stream()")
            self.handle = 7

        def synchronize(self) -> None:
            state.require_context("Stream.synchronize")

    def pagelocked_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        state.require_context("pagelocked_empty")
        return np.zeros(shape, dtype)

    def memcpy_htod_async(device: Allocation, host: np.ndarray, stream: Stream) -> None:
        state.require_context("memcpy_htod_async")
        device.data[: host.nbytes] = host.view(np.uint8).ravel()

    def memcpy_dtoh_async(host: np.ndarray, device: Allocation, stream: Stream) -> None:
        state.require_context("memcpy_dtoh_async")
        host.view(np.uint8).ravel()[:] = device.data[: host.nbytes]

    cuda.Error = Error  # type: ignore[attr-defined]
    cuda.Context = Context  # type: ignore[attr-defined]
    cuda.Device = Device  # type: ignore[attr-defined]
    cuda.Stream = Stream  # type: ignore[attr-defined]
    cuda.init = lambda: None  # type: ignore[attr-defined]
    cuda.pagelocked_empty = pagelocked_empty  # type: ignore[attr-defined]
    cuda.mem_alloc = Allocation  # type: ignore[attr-defined]
    cuda.memcpy_htod_async = memcpy_htod_async  # type: ignore[attr-defined]
    cuda.memcpy_dtoh_async = memcpy_dtoh_async  # type: ignore[attr-defined]
    return cuda


def _tensorrt(state: GpuState) -> types.ModuleType:
    trt = types.ModuleType("tensorrt")
    trt.__version__ = state.version  # type: ignore[attr-defined]
    ten = tuple(int(p) for p in state.version.split(".")[:1]) >= (10,)

    class Logger:
        WARNING = 2

        def __init__(self, level: int) -> None:
            self.level = level

    class TensorIOMode:
        INPUT, OUTPUT = "input", "output"

    class Engine:
        def __init__(self) -> None:
            self.num_io_tensors = 2
            self.names = ("images", "output0")

        def get_tensor_name(self, i: int) -> str:
            return self.names[i]

        def get_tensor_mode(self, name: str) -> str:
            return TensorIOMode.INPUT if name == "images" else TensorIOMode.OUTPUT

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            batch = state.static_batch or -1
            return (batch, *state.chw) if name == "images" else (batch, *state.output_shape)

        def get_tensor_profile_shape(self, name: str, profile: int) -> tuple[tuple[int, ...], ...]:
            smallest = state.static_batch or 1
            largest = state.static_batch or state.max_batch
            return (smallest, *state.chw), (largest, *state.chw), (largest, *state.chw)

        def get_tensor_dtype(self, name: str) -> str:
            return "float32"

        def create_execution_context(self) -> ExecutionContext:
            state.require_context("create_execution_context")
            return ExecutionContext()

    class ExecutionContext:
        def __init__(self) -> None:
            self.batch = state.static_batch or -1
            self.addresses: dict[str, int] = {}

        def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
            ok = name == "images" and tuple(shape[1:]) == state.chw and 1 <= shape[0] <= state.max_batch
            if ok:
                self.batch = shape[0]
            return ok

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            return (self.batch, *state.chw) if name == "images" else (self.batch, *state.output_shape)

        def set_tensor_address(self, name: str, address: int) -> None:
            self.addresses[name] = address

        def execute_async_v3(self, stream_handle: int) -> bool:
            state.require_context("execute_async_v3")
            assert set(self.addresses) == {"images", "output0"}, "tensor addresses not set"
            if state.fail_execute:
                raise sys.modules["pycuda.driver"].Error("cuLaunchKernel failed: an illegal memory access")
            size = self.batch * int(np.prod(state.chw))
            images = state.allocated[self.addresses["images"]].data.view(np.float32)[:size]
            out = np.zeros((self.batch, *state.output_shape), np.float32)
            out[:, 0, 0] = images.reshape(self.batch, -1).mean(axis=1)  # proves the batch went through
            state.allocated[self.addresses["output0"]].data[: out.nbytes] = out.view(np.uint8).ravel()
            return True

    class Runtime:
        def __init__(self, logger: Logger) -> None:
            self.logger = logger

        def deserialize_cuda_engine(self, plan: bytes) -> Engine | None:
            state.require_context("deserialize_cuda_engine")
            return Engine() if plan.startswith(b"ENGINE") else None

    class Flags:
        def __init__(self, *names: str) -> None:
            for name in names:
                setattr(self, name, name)

    class Profile:
        def set_shape(self, name: str, smallest: Any, opt: Any, largest: Any) -> None:
            state.profile.append((tuple(smallest), tuple(opt), tuple(largest)))

    class BuilderConfig:
        def __init__(self) -> None:
            self.default_device_type = "GPU"
            self.DLA_core = -1

        def set_memory_pool_limit(self, pool: str, size: int) -> None:
            assert size > 0

        def set_flag(self, flag: str) -> None:
            state.builder_flags.append(flag)

        def add_optimization_profile(self, profile: Profile) -> None:
            pass

    class Builder:
        def __init__(self, logger: Logger) -> None:
            state.require_context("Builder()")
            self.num_DLA_cores = state.dla_cores

        def create_network(self, flags: int) -> object:
            state.network_flags.append(flags)
            return object()

        def create_builder_config(self) -> BuilderConfig:
            return BuilderConfig()

        def create_optimization_profile(self) -> Profile:
            return Profile()

        def build_serialized_network(self, network: object, config: BuilderConfig) -> bytes:
            state.require_context("build_serialized_network")
            state.device_type = config.default_device_type
            return b"ENGINE built"

    class OnnxParser:
        def __init__(self, network: object, logger: Logger) -> None:
            self.num_errors = 0

        def parse(self, model: bytes) -> bool:
            return True

    trt.Logger = Logger  # type: ignore[attr-defined]
    trt.Runtime = Runtime  # type: ignore[attr-defined]
    trt.TensorIOMode = TensorIOMode  # type: ignore[attr-defined]
    trt.Builder = Builder  # type: ignore[attr-defined]
    trt.OnnxParser = OnnxParser  # type: ignore[attr-defined]
    trt.nptype = lambda dtype: np.float32  # type: ignore[attr-defined]
    trt.BuilderFlag = Flags("FP16", "INT8", "GPU_FALLBACK")  # type: ignore[attr-defined]
    trt.MemoryPoolType = Flags("WORKSPACE")  # type: ignore[attr-defined]
    trt.DeviceType = Flags("GPU", "DLA")  # type: ignore[attr-defined]
    if not ten:  # 8.6 still has the explicit-batch flag; 10.x removed implicit batch altogether
        trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(EXPLICIT_BATCH=0)  # type: ignore[attr-defined]
    return trt
