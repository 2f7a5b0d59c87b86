"""TensorRT engines: a cache keyed by what makes a plan valid, and a build that never blocks serving.

Building an engine takes minutes on a vehicle GPU (Autoware's and Isaac ROS's nodes wait 10-20 min
on first start). Here the build runs in a separate process while ONNX Runtime serves; the detector
switches once the plan is cached. The cache key is the ONNX sha256, the TensorRT version, the GPU
name and the build settings: a plan is only valid for exactly that combination.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EngineSettings:
    fp16: bool
    int8: bool  # needs a model with Q/DQ nodes (TensorRT 10 deprecates implicit-quantisation calibration)
    workspace_mib: int
    dla_core: int  # -1: GPU only
    max_batch: int


@dataclass(frozen=True)
class EngineTarget:
    """What a plan is built for."""

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    settings: EngineSettings

    def key(self) -> str:
        text = "|".join(
            [self.onnx_sha256, self.tensorrt_version, self.gpu_name, repr(sorted(asdict(self.settings).items()))]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]


class EngineCache:
    """Serialized plans in a directory, one file per target key, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, target: EngineTarget) -> Path:
        return self.directory / f"{target.onnx_sha256[:12]}-{target.key()}.plan"

    def load(self, target: EngineTarget) -> bytes | None:
        path = self.path(target)
        return path.read_bytes() if path.is_file() else None

    def store(self, target: EngineTarget, plan: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path(target)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(plan)
        os.replace(tmp, path)
        return path


def gpu_identity() -> tuple[str, str]:
    """(TensorRT version, GPU name) of this machine (GPU part: needs TensorRT and pycuda)."""
    from av_edge.detection.backends import backend_errors, import_tensorrt

    trt, cuda = import_tensorrt()
    with backend_errors("device query"):
        return str(trt.__version__), str(cuda.Device(0).name())


def build_plan(onnx_bytes: bytes, input_name: str, input_chw: tuple[int, int, int], settings: EngineSettings) -> bytes:
    """Parse the ONNX with TensorRT's parser and build a serialized plan (GPU part; 8.6 or 10.x)."""
    from av_edge.detection.backends import BackendError, CudaContext, backend_errors, import_tensorrt

    trt, cuda = import_tensorrt()
    gpu = CudaContext(cuda)
    try:
        with gpu.active(), backend_errors("engine build"):
            logger = trt.Logger(trt.Logger.WARNING)
            builder = trt.Builder(logger)
            network = builder.create_network(network_flags(trt))
            parser = trt.OnnxParser(network, logger)
            if not parser.parse(onnx_bytes):
                errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
                raise BackendError(f"TensorRT could not parse the ONNX model: {errors}")
            config = builder.create_builder_config()
            configure(trt, builder, config, input_name, input_chw, settings)
            plan = builder.build_serialized_network(network, config)
            if plan is None:
                raise BackendError("TensorRT engine build failed (see the TensorRT log above)")
            return bytes(plan)
    finally:
        gpu.release()


def network_flags(trt: Any) -> int:
    """Explicit batch: a flag TensorRT 8.6 needs and 10.x deprecated (it is the only mode there)."""
    from av_edge.detection.backends import tensorrt_version

    if tensorrt_version(trt) >= (10, 0):
        return 0
    return 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)


def configure(
    trt: Any, builder: Any, config: Any, input_name: str, input_chw: tuple[int, int, int], settings: EngineSettings
) -> None:
    """Precision, workspace, DLA and the optimisation profile, as the installed TensorRT spells them.

    DLA runs static shapes only: with ``dla_core`` set the profile is fixed at ``max_batch`` (the
    backend pads smaller batches); on the GPU it spans 1..max_batch.
    """
    from av_edge.detection.backends import BackendError

    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, settings.workspace_mib << 20)
    if settings.fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if settings.int8:
        # 10.x: INT8 only from explicit Q/DQ nodes in the model (implicit calibration is deprecated);
        # 8.6 needs the flag for either.
        config.set_flag(trt.BuilderFlag.INT8)
    if settings.dla_core >= 0:
        if settings.dla_core >= builder.num_DLA_cores:
            raise BackendError(f"dla_core {settings.dla_core} requested, this device has {builder.num_DLA_cores}")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = settings.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    c, h, w = input_chw
    largest = (settings.max_batch, c, h, w)
    smallest = largest if settings.dla_core >= 0 else (1, c, h, w)
    profile = builder.create_optimization_profile()
    profile.set_shape(input_name, smallest, largest, largest)
    config.add_optimization_profile(profile)


Builder = Callable[[], bytes]


class BackgroundBuild:
    """Runs ``build`` in a separate process; ``poll`` returns the plan once, when it is ready.

    A separate process, not a thread: a build holds the GIL-free GPU for minutes but also allocates
    gigabytes and can crash the CUDA context; the serving process must not go down with it.
    """

    def __init__(self, build: Builder, context: str = "spawn") -> None:
        ctx: Any = multiprocessing.get_context(context)
        receiver, sender = ctx.Pipe(duplex=False)
        self._receiver = receiver
        self._process = ctx.Process(target=_run_build, args=(build, sender), daemon=True, name="trt-engine-build")
        self._process.start()
        sender.close()
        self.state = "building"
        self.error = ""

    def poll(self) -> bytes | None:
        if self.state != "building":
            return None
        if self._receiver.poll():
            try:
                ok, payload = self._receiver.recv()
            except EOFError:
                ok, payload = False, "the build process died"
            self._process.join(5)
            if ok:
                self.state = "ready"
                return bytes(payload)
            self.state, self.error = "failed", str(payload)
        elif not self._process.is_alive():
            self.state, self.error = "failed", f"the build process exited with code {self._process.exitcode}"
        return None

    def cancel(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self.state = "cancelled"


def _run_build(build: Builder, sender: Connection) -> None:
    try:
        result: Any = (True, build())
    except BaseException as err:  # report every failure to the parent, including ImportError
        result = (False, f"{type(err).__name__}: {err}")
    sender.send(result)
    sender.close()
