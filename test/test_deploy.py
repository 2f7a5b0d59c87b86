"""The systemd units: every deployed node has one, respawns like the launch file, and runs with the
priorities the README promises. ``systemd-analyze verify`` where systemd is installed."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from av_edge import processes
from av_edge.paths import config_file

UNITS = Path(__file__).resolve().parents[1] / "deploy" / "systemd"
SETUP = (Path(__file__).resolve().parents[1] / "setup.py").read_text()


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)  # repeated keys: the last wins
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNITS / name)
    return parser


SERVICES = sorted(p.name for p in UNITS.glob("*.service"))


def test_every_deployed_node_and_the_uploader_has_a_unit_in_the_target() -> None:
    started = {re.search(r"ros2 run av_edge (\S+)", unit(s)["Service"]["ExecStart"]).group(1) for s in SERVICES}  # type: ignore[union-attr]
    assert started == {*(n for n in processes.NODES if n != "simulator_node"), "av-edge"}
    lines = (UNITS / "av-edge.target").read_text().splitlines()
    wanted = " ".join(line.removeprefix("Wants=") for line in lines if line.startswith("Wants=")).split()
    assert sorted(wanted) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_a_unit_runs_an_installed_entry_point_with_a_shipped_params_file_and_respawns(service: str) -> None:
    section = unit(service)["Service"]
    command = section["ExecStart"].split()
    assert command[0] == "/usr/lib/av_edge/av-edge-exec" and command[1:4] == ["ros2", "run", "av_edge"]
    assert f'"{command[4]} = ' in SETUP  # a console script colcon installs
    params = next(arg for arg in command if arg.endswith(".params.yaml"))
    assert config_file(Path(params).name).is_file()
    assert section["Restart"] == "always" and 0 < float(section["RestartSec"]) <= 5  # as the launch file
    assert section["KillSignal"] == "SIGINT"  # rclpy's clean shutdown
    assert unit(service)["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up
    assert section["User"] != "root"


def test_the_braking_path_is_real_time_and_alone_on_its_core_and_clip_work_is_niced() -> None:
    aeb = unit("av-edge-aeb.service")["Service"]
    assert aeb["CPUSchedulingPolicy"] == "fifo" and 1 <= int(aeb["CPUSchedulingPriority"]) < 50
    others = [unit(s)["Service"]["CPUAffinity"] for s in SERVICES if s != "av-edge-aeb.service"]
    assert all(aeb["CPUAffinity"] not in cores for cores in others)
    for service in ("av-edge-clip-recorder.service", "av-edge-uploader.service"):
        section = unit(service)["Service"]
        assert int(section["Nice"]) >= 10 and section["IOSchedulingClass"] == "idle"


def test_the_exec_wrapper_is_posix_sh_and_executable() -> None:
    wrapper = UNITS / "av-edge-exec"
    assert wrapper.stat().st_mode & 0o111
    if shutil.which("sh"):
        subprocess.run(["sh", "-n", str(wrapper)], check=True)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    for name in [*SERVICES, "av-edge.target"]:
        (tmp_path / name).write_text((UNITS / name).read_text())
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in SERVICES)],
        capture_output=True,
        text=True,
        check=False,  # its exit code also counts the wrapper missing here; the lines below decide
    )
    problems = [line for line in result.stderr.splitlines() if "av-edge" in line and "not executable" not in line]
    assert not problems, result.stderr
