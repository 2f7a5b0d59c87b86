import subprocess
import sys
from types import SimpleNamespace

import pytest

BLOCK_MB = 48  # beyond the largest threshold glibc raises its mmap cut-off to on its own (32 MB)

FAULTS_PER_ALLOCATION = f"""
import resource, sys
if sys.argv[1] == "kept":
    from av_edge.ros.node_setup import keep_heap_resident
    assert keep_heap_resident()
def faults(rounds):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        block = b"x" * ({BLOCK_MB} << 20)  # written through: every page is touched
        del block
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds
faults(1)  # the first block maps its pages either way
print(faults(5))
"""


def faults_per_allocation(mode: str) -> float:
    run = subprocess.run(
        [sys.executable, "-c", FAULTS_PER_ALLOCATION, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return float(run.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc tuning")
def test_a_kept_heap_reuses_big_blocks_without_page_faults():
    pages = (BLOCK_MB << 20) / 4096
    assert faults_per_allocation("default") > pages / 2  # mapped fresh and unmapped each time
    assert faults_per_allocation("kept") < pages / 100


def test_every_parameter_is_described_ranged_and_read_only(dds_domain: int) -> None:
    """What ``ros2 param describe`` shows, and ``ros2 param set`` refused by rclpy itself."""
    import rclpy
    from rclpy.context import Context
    from rclpy.parameter import Parameter

    from av_edge.core.aeb import AebConfig
    from av_edge.core.config import load_params_file, parameter_specs
    from av_edge.paths import config_file
    from av_edge.ros.node_setup import load_config

    params = load_params_file(config_file("aeb.params.yaml"), "aeb_node")  # the file; the node adds the vehicle
    context = Context()
    rclpy.init(context=context, domain_id=dds_domain)
    try:
        node = rclpy.create_node(
            "aeb_node",
            context=context,
            parameter_overrides=[Parameter(k, value=v) for k, v in params.items()],
            automatically_declare_parameters_from_overrides=True,
        )
        load_config(node, AebConfig)
        specs = list(parameter_specs(AebConfig))
        descriptors = {s.name: node.describe_parameter(s.name) for s in specs}
        assert all(d.read_only and d.description for d in descriptors.values())
        trigger = descriptors["brake.full_trigger_mps2"].floating_point_range[0]
        assert (trigger.from_value, trigger.to_value) == (0.5, 12.0)
        assert descriptors["corridor.min_points"].integer_range[0].to_value == 1000
        assert "hold, brake" in descriptors["watchdog.degraded_action"].description
        assert node.get_parameter("vehicle.width_m").value == 1.9  # from vehicle.yaml, as a parameter too
        (result,) = node.set_parameters([Parameter("brake.full_trigger_mps2", value=3.0)])
        assert not result.successful and node.get_parameter("brake.full_trigger_mps2").value == 6.0
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def test_a_subscription_counts_losses_where_the_middleware_reports_them_and_says_so_where_not(
    dds_domain: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rclpy
    from rclpy.context import Context
    from rclpy.event_handler import UnsupportedEventTypeError
    from sensor_msgs.msg import PointCloud2

    from av_edge import topics
    from av_edge.ros import node_setup
    from av_edge.ros.qos import qos_profile

    context = Context()
    rclpy.init(context=context, domain_id=dds_domain)
    try:
        node = rclpy.create_node("losses", context=context)
        qos = qos_profile(topics.LIDAR_POINTS.qos)
        counted = node_setup.subscribe_counting_losses(node, PointCloud2, "points", lambda m: None, qos, print)
        # Fast DDS reports sample-lost: one handler more than rclpy's defaults
        defaults = len(node.create_subscription(PointCloud2, "points", lambda m: None, qos).event_handlers)
        assert len(counted.event_handlers) == defaults + 1

        create = node.create_subscription
        warnings: list[str] = []

        def unsupported(*args, event_callbacks=None, **kwargs):  # a middleware without the event
            if event_callbacks is not None:
                raise UnsupportedEventTypeError("message lost")
            return create(*args, **kwargs)

        monkeypatch.setattr(node, "create_subscription", unsupported)
        logger = SimpleNamespace(warning=warnings.append)
        monkeypatch.setattr(node, "get_logger", lambda: logger)
        plain = node_setup.subscribe_counting_losses(node, PointCloud2, "points", lambda m: None, qos, print)
        assert len(plain.event_handlers) == defaults
        assert warnings and "uncounted" in warnings[0]
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def test_memory_is_locked_only_where_nothing_can_fail_for_it() -> None:
    import resource

    from av_edge.ros.node_setup import CAP_IPC_LOCK, memlock_refusal

    assert memlock_refusal(resource.RLIM_INFINITY, 0) == ""
    assert memlock_refusal(8 << 20, 1 << CAP_IPC_LOCK) == ""
    assert "RLIMIT_MEMLOCK is 8 MiB" in memlock_refusal(8 << 20, 0)


LOCKED_ALLOCATION = """
import numpy as np
from av_edge.ros.node_setup import lock_memory
def rss_mib():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) / 1024
print(lock_memory())
before = rss_mib()
block = np.empty(64 << 20, np.uint8)  # mapped, never touched
print(rss_mib() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mlockall")
def test_a_locked_node_maps_its_pages_resident_before_it_touches_them() -> None:
    from av_edge.ros.node_setup import may_lock_memory

    if why_not := may_lock_memory():
        pytest.skip(f"this process may not lock memory: {why_not}")
    run = subprocess.run(  # its own process: the lock would hold the test runner's pages too
        [sys.executable, "-c", LOCKED_ALLOCATION], capture_output=True, text=True, check=True, timeout=60
    )
    status, growth = run.stdout.split()[0], float(run.stdout.split()[-1])
    assert status == "locked" and growth >= 60, run.stdout
