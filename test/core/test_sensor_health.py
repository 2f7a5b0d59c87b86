"""Camera health from its frames (blank, dark, blinded, frozen, stale), debounced both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from av_edge.core.config import build_config
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.sensor_health import CameraHealth, Debounced, image_stats
from av_edge.core.vehicle import load_node_params
from av_edge.sim.render import CameraRenderer
from av_edge.sim.road import Road
from av_edge.sim.world import Box
from test.sim.test_render import FRONT, render

PARAMS = load_node_params(Path(__file__).resolve().parents[2] / "config/perception.params.yaml", "perception_node")
CONFIG = build_config(PerceptionNodeConfig, PARAMS).camera_health
MS = 1_000_000
FRAME_NS = 100 * MS  # 10 Hz
STALE_S = 0.5


def noise(level: float, seed: int, shape: tuple[int, ...] = (480, 640, 3)) -> np.ndarray:
    """A flat frame at ``level`` with a sensor's read noise (sigma 2), different every frame."""
    return np.clip(np.random.default_rng(seed).normal(level, 2.0, shape), 0, 255).astype(np.uint8)


def street(n: int, night: bool = False) -> list[np.ndarray]:
    """``n`` frames of one camera closing on a car at 25 m (its sensor noise differs frame to frame)."""
    camera, car = CameraRenderer(FRONT, seed=0), Box(25.0, 0.0, 4.5, 1.8, 1.5, "car")
    return [camera.render((0.5 * k, 0.0, 0.0), [car], Road(), 0.0, night) for k in range(n)]


def feed(health: CameraHealth, frames: list[np.ndarray], start_ns: int = 0) -> int:
    """Frames at 10 Hz from ``start_ns``; returns the time of the last one."""
    now = start_ns
    for k, frame in enumerate(frames):
        now = start_ns + k * FRAME_NS
        health.on_frame(frame, now)
    return now


def kinds(faults: tuple[str, ...]) -> set[str]:
    return {f.split(" (")[0] for f in faults}


def test_sim_day_and_night_frames_are_healthy() -> None:
    """The thresholds leave the rendered street alone by day and by night (low beams only)."""
    for night in (False, True):
        health = CameraHealth(CONFIG, STALE_S)
        last = feed(health, street(10, night))
        assert health.faults(last) == ()


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (lambda k: noise(8.0, k), "blank"),  # a lens cap: only read noise
        (lambda k: noise(60.0, k), "blank"),  # mud: a uniform grey
        (lambda k: noise(4.0, k) + (np.arange(480) // 32).astype(np.uint8)[:, None, None], "too dark"),
        (lambda k: np.maximum(noise(254.0, k), render(seed=0)), "blinded"),  # sun in the lens
    ],
)
def test_a_bad_camera_is_reported_within_a_second_and_clears_on_its_own(
    frame: Callable[[int], np.ndarray], kind: str
) -> None:
    health = CameraHealth(CONFIG, STALE_S)
    last = feed(health, [frame(k) for k in range(10)])  # 0.9 s of it
    assert kind in kinds(health.faults(last))
    last = feed(health, street(20), last + FRAME_NS)  # 1.9 s of a clear view
    assert health.faults(last) == ()


def test_one_odd_frame_raises_nothing() -> None:
    health = CameraHealth(CONFIG, STALE_S)
    frames = street(6)
    frames[3] = np.full_like(frames[3], 255)  # one flash
    last = feed(health, frames)
    assert health.faults(last) == ()


def test_a_frozen_driver_is_caught_though_the_frame_looks_fine() -> None:
    health = CameraHealth(CONFIG, STALE_S)
    frame = render(seed=0)
    last = feed(health, [frame.copy() for _ in range(8)])
    assert kinds(health.faults(last)) == {"frozen"}


def test_silence_is_stale_without_a_frame_to_say_so() -> None:
    health = CameraHealth(CONFIG, STALE_S)
    assert health.faults(0) == ("no image",)
    feed(health, [render(seed=0)])
    assert health.faults(int(0.4e9)) == ()
    assert health.faults(int(0.6e9)) == ("stale 0.6s",)


def test_debounce_raises_after_the_hold_and_clears_after_the_absence() -> None:
    d = Debounced(raise_s=0.3, clear_s=1.0)
    d.update(["blank"], 0)
    d.update(["blank"], 200 * MS)
    assert d.active == set()
    d.update(["blank"], 300 * MS)
    assert d.active == {"blank"}
    d.update([], 400 * MS)
    d.update(["blank"], 500 * MS)  # back before clear_s: stays raised, the absence starts over
    d.update([], 600 * MS)
    d.update([], 1500 * MS)
    assert d.active == {"blank"}
    d.update([], 1600 * MS)
    assert d.active == set()
    d.update(["blank"], 1700 * MS)  # a new run needs the whole hold again
    assert d.active == set()


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(0, 40),
    w=st.integers(0, 40),
    channels=st.sampled_from([None, 3]),
    fill=st.integers(0, 255),
    stride=st.integers(1, 16),
)
def test_any_frame_shape_gives_finite_stats(h: int, w: int, channels: int | None, fill: int, stride: int) -> None:
    """Empty, tiny, grey or colour: statistics are finite and the health check never raises."""
    shape = (h, w) if channels is None else (h, w, channels)
    frame = np.full(shape, fill, dtype=np.uint8)
    stats, _ = image_stats(frame, stride)
    assert all(np.isfinite(v) for v in (stats.mean, stats.std, stats.p99, stats.saturated))
    health = CameraHealth(CONFIG, STALE_S)
    health.on_frame(frame, 0)
    health.on_frame(frame, FRAME_NS)
    assert isinstance(health.faults(FRAME_NS), tuple)
