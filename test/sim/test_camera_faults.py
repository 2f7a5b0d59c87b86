"""Camera faults and rain injected during a run: parsed strictly, rendered from their onset, seen by
the camera health check and withheld from the oracle's sight; rain is a LiDAR fault the AEB names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from av_edge.core.aeb import AebCore
from av_edge.core.camera import load_rig
from av_edge.core.sensor_health import CameraHealth
from av_edge.paths import config_file
from av_edge.sim.catalog import ego_geometry
from av_edge.sim.scenario import CameraFault, LidarFault, build, load_catalog
from av_edge.sim.simulation import Simulation
from av_edge.suite.stack import StackConfig

STACK = StackConfig.load()
EGO = ego_geometry(STACK.sim)
RIG = load_rig(config_file("vehicle.yaml"))
CATALOG = {s.name: s for s in load_catalog(Path(__file__).resolve().parents[2] / "config/scenarios", EGO)}
STOPPED = CATALOG["lead_stopped_50kmh_100pct"]
S = 1_000_000_000


def spec(**camera_fault: object) -> dict[str, object]:
    return {"name": "f", "ego_kmh": 50.0, "actors": [{"kind": "car", "gap_m": 40.0}], "camera_fault": camera_fault}


def test_a_camera_fault_is_parsed_strictly_and_none_means_none() -> None:
    one = build(spec(kind="blind", from_s=1.5, cameras="front"), "lead_vehicle", "no_contact", EGO)
    assert one.camera_fault == CameraFault("blind", 1.5, ("front",))
    every = build(spec(kind="frozen", cameras="all"), "lead_vehicle", "no_contact", EGO).camera_fault
    assert every is not None and every.covers("front_left", 0.0) and not every.covers("front", -0.1)
    assert build(spec(kind="none", cameras="all"), "lead_vehicle", "no_contact", EGO).camera_fault is None
    rain = {**spec(kind="none"), "lidar_fault": {"kind": "rain", "clutter": 0.005}}
    assert build(rain, "lead_vehicle", "no_contact", EGO).lidar_fault == LidarFault("rain", clutter=0.005)
    with pytest.raises(ValueError, match="kind"):
        build(spec(kind="cracked"), "lead_vehicle", "no_contact", EGO)
    with pytest.raises(ValueError, match="unknown keys"):
        build(spec(kind="blind", camera="front"), "lead_vehicle", "no_contact", EGO)


def frames(fault: CameraFault, times_s: list[float]) -> list[dict[str, np.ndarray]]:
    sim = Simulation(STACK.sim, dataclasses.replace(STOPPED, camera_fault=fault), 0, RIG)
    out = []
    for t in times_s:
        sim.advance(int(t * S))
        out.append(sim.render(int(t * S)))
    return out


def test_a_blind_camera_reads_blank_from_its_onset_and_the_others_do_not() -> None:
    times = [0.1 * k for k in range(12)]
    rendered = frames(CameraFault("blind", 0.5, ("front",)), times)
    health = {c.name: CameraHealth(STACK.perception.camera_health, 1.0) for c in RIG}
    for t, images in zip(times, rendered, strict=True):
        for name, image in images.items():
            health[name].on_frame(image, int(t * S))
    assert rendered[4]["front"].std(axis=(0, 1)).min() > 20 and rendered[5]["front"].std(axis=(0, 1)).max() < 4
    assert [f.split(" (")[0] for f in health["front"].faults(int(1.1 * S))] == ["blank"]
    assert all(not health[c.name].faults(int(1.1 * S)) for c in RIG if c.name != "front")


def test_a_frozen_camera_resends_its_last_good_frame() -> None:
    rendered = frames(CameraFault("frozen", 0.3, ()), [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    for name in rendered[0]:
        assert not np.array_equal(rendered[1][name], rendered[2][name])  # sensor noise: never the same
        assert all(np.array_equal(rendered[2][name], later[name]) for later in rendered[3:])


def test_the_oracle_does_not_see_through_a_failed_camera() -> None:
    """By day a full-stack run's oracle knows an actor from a camera's view; not from a blind one's."""
    near = build(
        {"name": "n", "ego_kmh": 50.0, "actors": [{"kind": "car", "gap_m": 20.0}]}, "obstacle", "no_contact", EGO
    )
    seeing = Simulation(STACK.sim, near, 0, RIG)
    seeing.render(0, see=True)
    assert seeing.seen_s[0] == 0.0
    blind = Simulation(STACK.sim, dataclasses.replace(near, camera_fault=CameraFault("blind", 0.0, ())), 0, RIG)
    blind.render(0, see=True)
    assert blind.seen_s[0] == np.inf


def test_rain_starts_at_its_onset_and_a_camera_fault_counts_only_where_cameras_run() -> None:
    """The AEB's drop count (returns alone in their cell, in and beside the corridor) jumps at the onset."""
    rainy = dataclasses.replace(
        STOPPED, lidar_fault=LidarFault("rain", 1.0, clutter=0.008), camera_fault=CameraFault("blind", 0.5)
    )
    sim = Simulation(STACK.sim, rainy, 0)
    core = AebCore(STACK.aeb)

    def drops(t: float) -> int:
        p = sim.capture(int(t * S))
        core.on_odometry(13.9, 0.0, int(t * S))
        core.on_cloud(np.column_stack([p["x"], p["y"], p["z"]]), int(t * S), int(t * S) + 1)
        return core.watchdog.last_spurious

    before = [drops(t) for t in (0.7, 0.8, 0.9)]
    after = [drops(t) for t in (1.0, 1.1, 1.2)]
    assert max(before) <= 2 and min(after) >= 8, (before, after)
    assert sim.fault_onset_s() == 0.5 and sim.fault_onset_s(cameras=False) == 1.0
