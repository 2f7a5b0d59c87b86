from pathlib import Path

import numpy as np
import pytest

from av_edge.core.config import build_config
from av_edge.core.vehicle import load_node_params
from av_edge.sim.lidar import OBJECT_INTENSITY, LidarConfig, LidarModel
from av_edge.sim.world import Box

PARAMS = load_node_params(Path(__file__).resolve().parents[2] / "config/simulator.params.yaml", "simulator_node")
LIDAR = build_config(
    LidarConfig, {k.removeprefix("sim.lidar."): v for k, v in PARAMS.items() if k.startswith("sim.lidar.")}
)
MOUNT = np.array([LIDAR.extrinsic.x, LIDAR.extrinsic.y, LIDAR.extrinsic.z])


def test_points_on_a_box_face_lie_at_its_distance():
    model = LidarModel(LIDAR, seed=0)
    box = Box(x=30.0, y=0.0, length=4.0, width=2.0, height=1.5)
    points = model.scan(0.0, 0.0, 0.0, [box])
    on_box = points[points["intensity"] == np.float32(OBJECT_INTENSITY)]
    world = np.column_stack([on_box["x"], on_box["y"], on_box["z"]]) + MOUNT
    assert len(on_box) > 50
    assert world[:, 0].min() == pytest.approx(box.rear_x, abs=0.1)
    assert np.all(np.abs(world[:, 1]) <= 1.0 + 0.05)
    assert np.all(world[:, 2] <= 1.5 + 0.1)


def test_ground_returns_lie_on_the_road_plane():
    points = LidarModel(LIDAR, seed=0).scan(0.0, 0.0, 0.0, [])
    z_world = points["z"] + MOUNT[2]
    assert len(points) > 50_000
    assert np.abs(z_world).max() < 0.2  # range noise only
    assert np.hypot(points["x"], points["y"]).max() < LIDAR.max_range_m


def test_column_restriction_matches_casting_every_column():
    noiseless = LidarModel(LidarConfig(**{**vars(LIDAR), "range_noise_m": 0.0}), seed=0)
    boxes = [Box(12.0, 3.0, 4.0, 2.0, 1.5), Box(-8.0, -2.0, 4.0, 2.0, 1.5), Box(0.5, 6.0, 12.0, 2.5, 3.5)]
    fast = noiseless.scan(1.0, 0.5, 0.3, boxes)
    noiseless._columns_spanned = lambda box, pose: np.arange(LIDAR.n_azimuth)  # type: ignore[method-assign,assignment]
    brute = noiseless.scan(1.0, 0.5, 0.3, boxes)
    assert fast.tobytes() == brute.tobytes()


def test_same_seed_same_scan():
    box = [Box(20.0, 0.0, 4.0, 2.0, 1.5)]
    a = LidarModel(LIDAR, seed=3).scan(0.0, 0.0, 0.0, box)
    b = LidarModel(LIDAR, seed=3).scan(0.0, 0.0, 0.0, box)
    assert a.tobytes() == b.tobytes()


def test_oriented_box_is_hit_where_it_stands() -> None:
    model = LidarModel(LidarConfig(**{**vars(LIDAR), "range_noise_m": 0.0}), seed=0)
    box = Box(20.0, 0.0, 4.5, 1.8, 1.5, yaw=0.6)
    points = model.scan(0.0, 0.0, 0.0, [box])
    world = np.column_stack([points["x"], points["y"], points["z"]]) + MOUNT
    on_box = points["intensity"] == np.float32(OBJECT_INTENSITY)
    assert on_box.sum() > 50
    assert box.contains(world[on_box], margin=0.02).all()


def test_blocked_sector_returns_nothing_and_dropout_thins_the_scan() -> None:
    clear = LidarModel(LIDAR, seed=0).scan(0.0, 0.0, 0.0, [])
    blocked = LidarModel(LIDAR, seed=0, blockage_deg=(-30.0, 30.0)).scan(0.0, 0.0, 0.0, [])
    azimuth = np.degrees(np.arctan2(blocked["y"], blocked["x"]))
    assert not (np.abs(azimuth) < 29.5).any()
    assert len(blocked) == pytest.approx(len(clear) * (300 / 360), rel=0.02)
    thinned = LidarModel(LIDAR, seed=0, dropout=0.25).scan(0.0, 0.0, 0.0, [])
    assert len(thinned) == pytest.approx(len(clear) * 0.75, rel=0.02)
