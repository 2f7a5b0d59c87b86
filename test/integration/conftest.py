from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (make test installs it)", allow_module_level=True)

from av_edge import processes


def _node(name: str, domain: int, tmp_path: Path, params: tuple[str, ...] = ()) -> Iterator[subprocess.Popen[bytes]]:
    """``name`` in its own process, with the shipped profile, its params file and ``name:=value`` overrides."""
    log = tmp_path / f"{name}.log"
    process = processes.start(processes.node_command(name, params), processes.dds_environment(domain), log)
    yield process
    code = processes.stop(process)
    print(f"{name} exit code {code}; log:\n{log.read_text()[-4000:]}")


@pytest.fixture
def aeb_node(dds_domain: int, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    yield from _node("aeb_node", dds_domain, tmp_path)


@pytest.fixture
def perception_node(dds_domain: int, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    yield from _node("perception_node", dds_domain, tmp_path)


@pytest.fixture
def patient_perception_node(dds_domain: int, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """perception_node whose object list waits up to 1 s for camera detections (shipped: 0.1 s), for
    tests of the camera path's wiring that must not depend on how loaded the machine is."""
    yield from _node("perception_node", dds_domain, tmp_path, ("fusion.timeout_s:=1.0",))
