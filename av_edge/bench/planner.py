"""Local planner cycle time with 50 obstacles (``planner_p50_ms``, ``planner_p99_ms``)."""

from __future__ import annotations

import time

import numpy as np

from av_edge.bench.metrics import Metrics
from av_edge.core.config import build_config
from av_edge.core.ego import EgoPose
from av_edge.core.objects import OBJECT_DTYPE
from av_edge.core.planning.node_config import PlannerNodeConfig
from av_edge.core.vehicle import load_node_params
from av_edge.paths import config_file
from av_edge.ros.planner_handler import PlannerHandler

OBSTACLES = 50


def scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """50 car-sized objects 5-80 m ahead within +-15 m (a third of them moving), as the perception
    node hands them over: outline points (base_link) and the object list."""
    objects = np.zeros(OBSTACLES, OBJECT_DTYPE)
    objects["x"], objects["y"] = rng.uniform(5, 80, OBSTACLES), rng.uniform(-15, 15, OBSTACLES)
    objects["length"], objects["width"], objects["height"] = 4.5, 1.8, 1.5
    objects["yaw"] = rng.uniform(-np.pi, np.pi, OBSTACLES)
    moving = rng.random(OBSTACLES) < 1 / 3
    objects["vx"][moving] = rng.uniform(-10, 10, moving.sum())
    objects["vy"][moving] = rng.uniform(-2, 2, moving.sum())
    u = np.linspace(-2.25, 2.25, 23)
    v = np.linspace(-0.9, 0.9, 10)
    outline = np.vstack(
        [np.column_stack([u, np.full_like(u, s * 0.9)]) for s in (-1, 1)]
        + [np.column_stack([np.full_like(v, s * 2.25), v]) for s in (-1, 1)]
    )
    points = []
    for o in objects:
        c, s = np.cos(o["yaw"]), np.sin(o["yaw"])
        points.append(outline @ np.array([[c, s], [-s, c]]) + (o["x"], o["y"]))
    return np.vstack(points), objects


def planner_cycle(frames: int = 300) -> Metrics:
    params = load_node_params(config_file("planner.params.yaml"), "planner_node")
    handler = PlannerHandler(build_config(PlannerNodeConfig, params), lambda _: None)
    rng = np.random.default_rng(0)
    scenes = [scene(rng) for _ in range(10)]
    times = []
    for k in range(frames):
        points, objects = scenes[k % len(scenes)]
        ego = EgoPose(0.0, 0.0, 0.0, 13.9, 0.0, k * 100_000_000)
        started = time.perf_counter()
        handler.plan(ego, points, objects)
        times.append((time.perf_counter() - started) * 1e3)
    p50, p99 = np.percentile(times[10:], [50, 99])
    return {
        "planner_p50_ms": round(float(p50), 2),
        "planner_p99_ms": round(float(p99), 2),
        "planner_obstacles": float(OBSTACLES),
        "planner_points": float(len(scenes[0][0])),
    }
