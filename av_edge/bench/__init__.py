"""Benchmarks behind ``make bench``: each adds named metrics to the flat ``bench/results.json``.

Performance targets are checked here, never by timed assertions in tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from av_edge.bench import aeb_latency, detection, fusion, lidar, planner, suite_random, upload
from av_edge.bench.metrics import Metrics

BENCHMARKS: dict[str, Callable[[], Metrics]] = {
    "aeb_latency": aeb_latency.aeb_latency,
    "lidar": lidar.lidar_pipeline,
    "upload": upload.aeb_latency_uploading,
    "detection": detection.detection_latency,
    "fusion": fusion.fusion,
    "planner": planner.planner_cycle,
    "suite_random": suite_random.suite_random,
}


def main(output: Path, only: tuple[str, ...] = ()) -> int:
    results: dict[str, float] = json.loads(output.read_text()) if output.exists() else {}
    for name, benchmark in BENCHMARKS.items():
        if only and name not in only:
            continue
        print(f"bench: {name} ...", flush=True)
        metrics = benchmark()
        for key, value in metrics.items():
            print(f"  {key:32s} {value}")
        results.update(metrics)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"bench: results in {output}")
    return 0
