"""Rain, spray and dust: returns alone in their cell are no obstacle, and heavy rain is a LiDAR fault."""

from __future__ import annotations

import numpy as np
import pytest

from av_edge.core.aeb import AebCore, AebState, Availability
from av_edge.core.aeb.staging import BRAKING
from av_edge.core.clutter import isolated
from test.core.test_aeb import CONFIG, MOUNT, MS, scan, wall

CLUTTER = CONFIG.clutter


def drops(n: int, seed: int = 1, max_range_m: float = 40.0) -> np.ndarray:
    """Lidar-frame returns of ``n`` rain drops: random rays aimed ahead, each stopped somewhere 1-40 m out."""
    rng = np.random.default_rng(seed)
    azimuth = np.radians(rng.uniform(-60.0, 60.0, n))
    elevation = np.radians(rng.uniform(-4.0, 2.0, n))
    reach = rng.uniform(1.0, max_range_m, n)
    return np.column_stack(
        [
            reach * np.cos(elevation) * np.cos(azimuth),
            reach * np.cos(elevation) * np.sin(azimuth),
            reach * np.sin(elevation),
        ]
    ).astype(np.float32)


def raster_wall(distance_m: float, width_m: float = 1.8, height_m: float = 1.4) -> np.ndarray:
    """A wall facing the sensor as the LiDAR samples it: 5 columns a degree, a beam every 0.42 deg."""
    half = np.degrees(np.arctan2(width_m / 2, distance_m))
    azimuth = np.radians(np.arange(-half, half, 0.2))
    z = np.arange(-MOUNT[2] + 0.2, -MOUNT[2] + height_m, distance_m * np.tan(np.radians(0.42)))
    a, zz = np.meshgrid(azimuth, z)
    return np.column_stack([np.full(a.size, distance_m), distance_m * np.tan(a.ravel()), zz.ravel()]).astype(np.float32)


@pytest.mark.parametrize("distance_m", [3.0, 10.0, 25.0, 40.0, 80.0])
def test_a_surface_is_never_clutter_at_any_range(distance_m: float) -> None:
    """Cells are angles, not metres: a wall is sampled densely enough at every range."""
    assert not isolated(raster_wall(distance_m), CLUTTER).any()


def test_low_debris_dead_ahead_is_no_clutter() -> None:
    """Lost cargo 30 m out answers one beam on five columns, the last just past azimuth 0 (= 360 deg)."""
    azimuth = np.radians([-0.75, -0.55, -0.35, -0.15, 0.05])
    debris = np.column_stack([30.0 * np.cos(azimuth), 30.0 * np.sin(azimuth), np.full(5, 0.3 - MOUNT[2])])
    assert not isolated(debris.astype(np.float32), CLUTTER).any()


def test_drops_are_clutter_whatever_is_behind_them() -> None:
    rain = drops(300)
    found = isolated(np.vstack([rain, raster_wall(30.0)]), CLUTTER)
    assert found[:300].mean() > 0.95  # two drops sharing a cell by chance are the rare exception
    assert not found[300:].any()


def corridor_rain(n: int, seed: int) -> np.ndarray:
    """Drops falling in the corridor only (lidar frame): the worst case for braking."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(V_FRONT + 1.0, 40.0, n) - MOUNT[0]
    y = rng.uniform(-1.0, 1.0, n)
    z = rng.uniform(0.3, 1.5, n) - MOUNT[2]
    return np.column_stack([x, y, z]).astype(np.float32)


V_FRONT = CONFIG.vehicle.front_overhang_m


def test_heavy_rain_in_the_corridor_brakes_for_nothing_and_raises_a_fault() -> None:
    """Forty drops in the corridor every scan (the 5th nearest return would be ~5 m ahead, at a new
    place each scan): never a threat, and after a few scans a spurious-returns fault that degrades."""
    core = AebCore(CONFIG)
    for k in range(10):
        core.on_odometry(15.0, 0.0, k * 100 * MS)
        decision = core.on_cloud(
            np.vstack([scan(np.zeros((0, 3))), corridor_rain(60, k)]), k * 100 * MS, k * 100 * MS + 5 * MS
        )
        assert decision.state is AebState.CRUISE, decision
    kinds = {(f.sensor, f.kind) for f in core.telltale(1000 * MS).faults}
    assert ("lidar", "spurious") in kinds
    assert core.telltale(1000 * MS).availability is Availability.DEGRADED


def test_a_car_behind_the_rain_is_still_braked_for_and_the_fault_clears_with_the_rain() -> None:
    core = AebCore(CONFIG)
    speed, gap = 15.0, 30.0
    states = []
    for k in range(8):
        t = k * 100 * MS
        core.on_odometry(speed, 0.0, t)
        points = np.vstack([scan(wall(gap - speed * k * 0.1)), corridor_rain(60, k)])
        states.append(core.on_cloud(points, t, t + 5 * MS).state)
    assert BRAKING & set(states), states
    assert core.watchdog.raining
    core = AebCore(CONFIG)
    for k in range(12):  # rain, then none: the mean of 5 scans falls under half the threshold
        t = k * 100 * MS
        core.on_odometry(5.0, 0.0, t)
        rain = corridor_rain(60, k) if k < 6 else np.zeros((0, 3), np.float32)
        core.on_cloud(np.vstack([scan(wall(80.0)), rain]), t, t + 5 * MS)
        if k == 5:
            assert core.watchdog.raining
    assert not core.watchdog.raining
    assert not any(f.kind == "spurious" for f in core.telltale(1200 * MS).faults)
