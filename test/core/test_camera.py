"""Camera rig and projection: a known 3D point lands on the expected pixel of every configured camera."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from av_edge.core.camera import CameraConfig, load_rig, project
from av_edge.core.errors import ConfigError
from av_edge.core.geometry import Extrinsic, transform_points

RIG = load_rig(Path(__file__).resolve().parents[2] / "config/vehicle.yaml")


@pytest.mark.parametrize("camera", RIG, ids=lambda c: c.name)
def test_points_along_the_axis_land_on_the_principal_point(camera: CameraConfig) -> None:
    e = camera.extrinsic
    ahead = np.array([[e.x + 20 * math.cos(e.yaw), e.y + 20 * math.sin(e.yaw), e.z]])
    pixel = project(transform_points(camera.optical_from_base(), ahead), camera.intrinsics())[0]
    assert pixel == pytest.approx([camera.width / 2, camera.height / 2], abs=1e-6)


@pytest.mark.parametrize("camera", RIG, ids=lambda c: c.name)
def test_off_axis_point_lands_where_the_pinhole_model_puts_it(camera: CameraConfig) -> None:
    e, k = camera.extrinsic, camera.intrinsics()
    # 20 m along the camera's axis, 2 m to its left and 1 m above it, expressed in base_link
    forward, left = np.array([math.cos(e.yaw), math.sin(e.yaw)]), np.array([-math.sin(e.yaw), math.cos(e.yaw)])
    xy = np.array([e.x, e.y]) + 20 * forward + 2 * left
    pixel = project(transform_points(camera.optical_from_base(), np.array([[*xy, e.z + 1.0]])), k)[0]
    f = k[0, 0]
    assert pixel == pytest.approx([camera.width / 2 - f * 2 / 20, camera.height / 2 - f * 1 / 20], abs=0.5)


def test_focal_length_from_the_field_of_view() -> None:
    camera = CameraConfig("c", Extrinsic(0, 0, 1, 0, 0, 0), 640, 480, 90.0)
    assert camera.intrinsics()[0, 0] == pytest.approx(320.0)


def test_rig_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text(
        "cameras:\n  - {name: a, width: 640, height: 480, horizontal_fov_deg: 200,\n"
        "     extrinsic: {x: 0, y: 0, z: 1, roll: 0, pitch: 0, yaw: 0}}\n"
    )
    with pytest.raises(ConfigError, match="horizontal_fov_deg"):
        load_rig(path)
    path.write_text(
        "cameras:\n"
        + "".join(
            "  - {name: a, width: 640, height: 480, horizontal_fov_deg: 60,\n"
            "     extrinsic: {x: 0, y: 0, z: 1, roll: 0, pitch: 0, yaw: 0}}\n"
            for _ in range(2)
        )
    )
    with pytest.raises(ConfigError, match="unique"):
        load_rig(path)
