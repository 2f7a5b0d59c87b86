"""Architecture rules: pure packages never import rclpy or ROS message packages."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE_PACKAGES = ("av_edge/core", "av_edge/sim", "av_edge/clips", "av_edge/runtime")
ROS_MODULES = {
    "rclpy",
    "rosidl_runtime_py",
    "sensor_msgs",
    "std_msgs",
    "geometry_msgs",
    "nav_msgs",
    "diagnostic_msgs",
    "visualization_msgs",
    "builtin_interfaces",
    "rcl_interfaces",
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "path",
    sorted(p for pkg in PURE_PACKAGES for p in (ROOT / pkg).rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_pure_module_imports_no_ros(path: Path) -> None:
    assert not imported_roots(path) & ROS_MODULES, f"{path} imports ROS: {imported_roots(path) & ROS_MODULES}"


def test_importing_pure_packages_loads_no_rclpy() -> None:
    modules = [
        p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        for pkg in PURE_PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
    ]
    ros = sorted(ROS_MODULES)
    code = (
        f"import sys\nfor m in {modules!r}: __import__(m)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {ros!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_check_itself_catches_an_rclpy_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from rclpy.node import Node\n")
    assert imported_roots(bad) & ROS_MODULES == {"rclpy"}
