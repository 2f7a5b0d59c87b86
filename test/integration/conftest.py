from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (make test installs it)", allow_module_level=True)

from av_edge import processes


@pytest.fixture
def aeb_node(dds_domain: int, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``aeb_node`` in its own process, with the shipped profile and its params file."""
    log = tmp_path / "aeb_node.log"
    process = processes.start(processes.node_command("aeb_node"), processes.dds_environment(dds_domain), log)
    yield process
    code = processes.stop(process)
    print(f"aeb_node exit code {code}; log:\n{log.read_text()[-4000:]}")
