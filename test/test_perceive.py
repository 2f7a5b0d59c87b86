"""``av-edge perceive`` on files a test writes (KITTI .bin, .npy); .pcd when open3d is installed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from av_edge.perceive import CloudFileError, read_points

SENSOR_HEIGHT = 1.73  # KITTI's Velodyne


def kitti_scene() -> np.ndarray:
    """Ground plane at -1.73 m in the sensor frame plus a car's rear 15 m ahead and a pole."""
    gx, gy = np.meshgrid(np.linspace(-30, 40, 200), np.linspace(-15, 15, 100))
    ground = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, -SENSOR_HEIGHT)])
    y, z = np.meshgrid(np.linspace(-0.9, 0.9, 20), np.linspace(-1.4, -0.3, 10))
    car = np.column_stack([np.full(y.size, 15.0), y.ravel() + 2.0, z.ravel()])
    pole = np.column_stack([np.full(30, 8.0), np.full(30, -4.0), np.linspace(-1.6, 1.0, 30)])
    xyz = np.vstack([ground, car, pole]).astype(np.float32)
    return np.column_stack([xyz, np.full(len(xyz), 0.3, np.float32)])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "av_edge.cli", "perceive", *args], capture_output=True, text=True, check=False
    )


def test_perceive_kitti_bin(tmp_path: Path) -> None:
    path = tmp_path / "000000.bin"
    kitti_scene().tofile(path)
    out = run_cli(str(path), "--sensor-height", str(SENSOR_HEIGHT), "--json", str(tmp_path / "o.json"))
    assert out.returncode == 0, out.stderr
    assert "2 obstacles" in out.stdout
    obstacles = json.loads((tmp_path / "o.json").read_text())["obstacles"]
    pole, car = obstacles  # nearest first
    assert pole["x"] == pytest.approx(8.0, abs=0.1) and pole["y"] == pytest.approx(-4.0, abs=0.1)
    assert car["x"] == pytest.approx(15.0, abs=0.1) and car["y"] == pytest.approx(2.0, abs=0.1)
    assert car["length"] == pytest.approx(1.8, abs=0.15)  # only the rear face is seen: a 1.8 m line
    # Sensor frame: the box stands on the road (SENSOR_HEIGHT below the sensor) up to the highest return.
    assert car["z"] == pytest.approx((-SENSOR_HEIGHT - 0.3) / 2, abs=0.1)
    assert car["height"] == pytest.approx(SENSOR_HEIGHT - 0.3, abs=0.1)
    assert car["n_points"] == 200
    assert car["range"] == pytest.approx(np.hypot(15.0, 2.0), abs=0.1)


def test_perceive_npy_matches_bin(tmp_path: Path) -> None:
    np.save(tmp_path / "scan.npy", kitti_scene())
    out = run_cli(str(tmp_path / "scan.npy"), "--sensor-height", str(SENSOR_HEIGHT))
    assert out.returncode == 0 and "2 obstacles" in out.stdout


def test_perceive_needs_the_sensor_height(tmp_path: Path) -> None:
    out = run_cli(str(tmp_path / "x.bin"))
    assert out.returncode == 2 and "--sensor-height" in out.stderr


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("bad.bin", np.zeros(7, np.float32), "multiple of 4"),
        ("bad.npy", np.zeros((5, 2)), "shape"),
        ("bad.xyz", np.zeros(3), "unsupported extension"),
    ],
)
def test_unreadable_files_give_clear_errors(tmp_path: Path, name: str, content: np.ndarray, match: str) -> None:
    path = tmp_path / name
    if name.endswith(".npy"):
        np.save(path, content)
    else:
        content.tofile(path)
    with pytest.raises(CloudFileError, match=match):
        read_points(path)


def test_perceive_pcd(tmp_path: Path) -> None:
    if importlib.util.find_spec("open3d") is None:
        pytest.skip("open3d is not installed (make open3d installs it; CI does); .pcd/.ply reading needs it")
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(kitti_scene()[:, :3].astype(np.float64)))
    path = tmp_path / "scan.pcd"
    o3d.io.write_point_cloud(path, cloud)
    out = run_cli(str(path), "--sensor-height", str(SENSOR_HEIGHT))
    assert out.returncode == 0 and "2 obstacles" in out.stdout, out.stdout + out.stderr
