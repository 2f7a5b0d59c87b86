"""Node start-up shared by every av_edge node: validated config, transport check, spin and shutdown."""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import rclpy
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

from av_edge.core.config import build_config, parameter_specs
from av_edge.core.diagnostics import Level, Status
from av_edge.core.errors import ConfigError
from av_edge.core.health import NodeHealth
from av_edge.core.vehicle import (
    DEFAULT_VEHICLE_FILE,
    VEHICLE_FILE,
    VEHICLE_NODES,
    VehicleDescription,
    load_vehicle,
    vehicle_path,
    with_vehicle,
)
from av_edge.paths import config_file

try:  # Iron and later
    from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
except ImportError:  # Humble
    from rclpy.qos_event import SubscriptionEventCallbacks, UnsupportedEventTypeError

T = TypeVar("T")


def load_config(node: Node, cls: type[T]) -> T:
    """Validate the node's parameters (declared from its params file) into ``cls``; ConfigError if invalid.

    Parameters are read-only once running: a change is refused with a reason, since a half-applied
    safety configuration is worse than a restart.
    """
    params = {name: param.value for name, param in node.get_parameters_by_prefix("").items()}
    if node.get_name() in VEHICLE_NODES:
        own = set(params)
        params, vehicle = with_vehicle(params, node.get_name(), config_file(DEFAULT_VEHICLE_FILE).parent)
        for name in sorted(set(params) - own):  # visible as parameters too (ros2 param get), read-only
            node.declare_parameter(name, params[name], ParameterDescriptor(description=f"from {vehicle.path}"))
    config = build_config(cls, params, where=f"parameters of node '{node.get_name()}'")
    describe_parameters(node, cls)
    node.add_on_set_parameters_callback(_refuse_runtime_changes)
    return config


def node_vehicle(node: Node) -> VehicleDescription:
    """The vehicle description the node's ``vehicle_file`` names (default: the shipped one)."""
    params = {VEHICLE_FILE: node.get_parameter(VEHICLE_FILE).value} if node.has_parameter(VEHICLE_FILE) else {}
    return load_vehicle(vehicle_path(params, config_file(DEFAULT_VEHICLE_FILE).parent))


def describe_parameters(node: Node, cls: type) -> None:
    """Give every schema parameter its description, range and ``read_only`` (``ros2 param describe``
    shows them; a ``ros2 param set`` is refused by rclpy before our callback is asked)."""
    for spec in parameter_specs(cls):
        if not node.has_parameter(spec.name):
            continue
        parameter = node.get_parameter(spec.name)
        value = parameter.value
        doc = spec.doc + (f" (one of: {', '.join(spec.choices)})" if spec.choices else "")
        descriptor = ParameterDescriptor(description=doc, read_only=True, type=parameter.type_.value)
        if spec.minimum is None or spec.maximum is None:
            node.set_descriptor(spec.name, descriptor)
            continue
        lo, hi = spec.minimum, spec.maximum
        if isinstance(value, float):
            descriptor.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
        elif type(value) is int and float(lo).is_integer() and float(hi).is_integer():
            descriptor.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=0)]
        node.set_descriptor(spec.name, descriptor)


def _refuse_runtime_changes(params: list[Parameter]) -> SetParametersResult:
    names = ", ".join(p.name for p in params)
    return SetParametersResult(successful=False, reason=f"av_edge parameters are fixed at startup ({names}); restart")


def check_transport(node: Node) -> None:
    """Warn when the shipped Fast DDS profile is not in use: large clouds would then be slow or lost."""
    rmw = os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    if not rmw.startswith("rmw_fastrtps"):
        return
    profile = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", "")
    if not profile or not Path(profile).is_file():
        node.get_logger().warning(
            "FASTDDS_DEFAULT_PROFILES_FILE is not set to a readable file: with Fast DDS' default transports "
            "2 MB point clouds are lost (best effort) or take ~36 ms (reliable). Use `ros2 launch av_edge "
            "av_edge.launch.py`, `av-edge run`, or export it to config/fastdds_large_data.xml "
            "(and configure the LiDAR driver's process the same way)."
        )


M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's malloc.h


def keep_heap_resident() -> bool:
    """Ask glibc's malloc to keep freed memory and to serve big blocks from the heap; False elsewhere.

    By default every scan's megabyte-sized arrays (messages, per-point temporaries) are mapped
    fresh and unmapped when freed, or trimmed off the heap's top: ~1,200 page faults a scan in
    the AEB and perception nodes, measured. The real-time Linux recipe (without mlockall, which
    needs privileges); memory stays at the node's high-water mark.
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc: its allocator has its own defaults
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, -1)) and bool(mallopt(M_MMAP_MAX, 0))


MCL_CURRENT, MCL_FUTURE = 1, 2  # Linux's sys/mman.h
CAP_IPC_LOCK = 14  # linux/capability.h


def memlock_refusal(soft_limit: int, capabilities: int) -> str:
    """Why a process under this memlock limit with these effective capabilities may not lock all its
    memory; empty where it may (no limit, or CAP_IPC_LOCK).

    Under a finite limit locking is not tried at all: with ``MCL_FUTURE`` every later allocation
    past the limit would fail, which is worse than a page fault.
    """
    if soft_limit == resource.RLIM_INFINITY or capabilities >> CAP_IPC_LOCK & 1:
        return ""
    return (
        f"RLIMIT_MEMLOCK is {soft_limit / 2**20:g} MiB and no CAP_IPC_LOCK "
        "(the service units set LimitMEMLOCK=infinity; docker run --ulimit memlock=-1)"
    )


def may_lock_memory() -> str:
    """:func:`memlock_refusal` for this process."""
    try:
        status = Path("/proc/self/status").read_text()
        capabilities = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
    except (OSError, StopIteration, ValueError):
        capabilities = 0
    return memlock_refusal(resource.getrlimit(resource.RLIMIT_MEMLOCK)[0], capabilities)


def lock_memory() -> str:
    """Lock every page of the process in RAM, those mapped now and those mapped later (``mlockall``).

    A locked page is resident from the moment it is mapped: the braking path takes no page fault
    when a shared-memory transport segment's pages are first used mid-run (a peer that died held
    buffers, the publisher moved on to pages it had not used), nor for a new thread's stack; and
    the node's resident size is fixed after start-up, so growth is a leak, not a late first
    touch. The real-time Linux recipe, with :func:`keep_heap_resident`. Returns how it went, for
    the start-up log line.
    """
    why_not = may_lock_memory()
    if why_not:
        return f"not locked: {why_not}"
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc
        return "not locked: no libc.so.6"
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
        return f"not locked: mlockall: {os.strerror(ctypes.get_errno())}"
    return "locked"


def run(make_node: Callable[[], Node], *, threads: int = 1, keep_heap: bool = True) -> int:
    """Init rclpy, build the node, spin until shutdown; exit code 2 on invalid configuration.

    ``keep_heap``: keep the heap resident and lock memory (:func:`keep_heap_resident`,
    :func:`lock_memory`); off for a node whose latency matters less than handing memory back
    (the clip recorder, running for hours beside the stack).
    """
    heap = "kept resident" if keep_heap and keep_heap_resident() else "allocator defaults"
    rclpy.init(args=sys.argv)
    node: Node | None = None
    executor = MultiThreadedExecutor(num_threads=threads) if threads > 1 else SingleThreadedExecutor()
    try:
        node = make_node()
        check_transport(node)
        executor.add_node(node)
        # Start-up (imports, models, buffers) leaves ~70k objects the cyclic GC would traverse on
        # every full collection: ~50 ms stalls of the braking path, measured. Freezing them keeps
        # collections to what is allocated while running (openpilot disables GC in its control
        # processes for the same reason; freezing instead still collects cycles made while running).
        gc.freeze()
        # after the node is built: its models, buffers and transport segments are mapped by now
        memory = lock_memory() if keep_heap else "not locked"
        # rclpy's first log line costs ~30 ms (later ones ~1 ms): pay it here, not on a braking scan.
        node.get_logger().info(f"running (pid {os.getpid()}, heap {heap}, memory {memory})")
        if keep_heap and memory != "locked":
            node.get_logger().warning(f"memory {memory}: the braking path may page-fault while driving")
        executor.spin()
    except ConfigError as err:
        print(f"[av_edge] {err}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def yield_cpu(niceness: int, cpus: tuple[int, ...]) -> None:
    """Lower every thread's CPU priority and confine it to ``cpus`` (empty: any), DDS receive threads
    included: on Linux both are per thread, and Fast DDS started its threads before the parameters
    could be read. Threads started later inherit both."""
    tasks = Path("/proc/self/task")
    for tid in [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]:
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), niceness))
        if cpus:
            os.sched_setaffinity(tid, cpus)


def log_events(logger: Any, events: list[Status]) -> None:
    """Each event in the node's log at its own severity (OK as info)."""
    for event in events:
        method = {Level.OK: logger.info, Level.WARN: logger.warning}.get(event.level, logger.error)
        method(event.message)


def subscribe_counting_losses(
    node: Node, msg_type: Any, topic: str, callback: Callable[[Any], None], qos: Any, on_lost: Callable[[int], None]
) -> Any:
    """A subscription whose messages lost in transport (the middleware's sample-lost event) reach
    ``on_lost`` with their count, so a flood that overruns the history is seen, not silent. Where the
    middleware has no such event, a plain subscription, and a warning that losses go uncounted."""
    events = SubscriptionEventCallbacks(message_lost=lambda info: on_lost(int(info.total_count_change)))
    try:
        return node.create_subscription(msg_type, topic, callback, qos, event_callbacks=events)
    except UnsupportedEventTypeError:
        node.get_logger().warning(f"{topic}: this middleware reports no lost messages; losses go uncounted")
        return node.create_subscription(msg_type, topic, callback, qos)


def subscribe_lidar(node: Node, callback: Callable[[Any], None], health: NodeHealth, clock: Callable[[], int]) -> Any:
    """The LiDAR scans (registry topic and QoS), their transport losses counted in ``health``."""
    from sensor_msgs.msg import PointCloud2

    from av_edge import topics
    from av_edge.ros.qos import qos_profile

    spec = topics.LIDAR_POINTS
    return subscribe_counting_losses(
        node,
        PointCloud2,
        spec.name,
        callback,
        qos_profile(spec.qos),
        lambda n: health.on_lost("point cloud", n, clock()),
    )
