"""Benchmarks behind ``make bench``: named metrics in ``bench/results.json``, stamped with the
commit, date and machine they were measured on.

A full run starts from an empty file, so no key from older code survives; ``--only NAME`` merges
into the existing file and records which commit measured that benchmark. Performance targets are
checked here, never by timed assertions in tests.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from av_edge.bench import aeb_latency, detection, fusion, lidar, planner, suite_random
from av_edge.bench.metrics import Metrics

BENCHMARKS: dict[str, Callable[[], Metrics]] = {
    "aeb_latency": aeb_latency.aeb_latency,
    "lidar": lidar.lidar_pipeline,
    "detection": detection.detection_latency,
    "fusion": fusion.fusion,
    "planner": planner.planner_cycle,
    "suite_random": suite_random.suite_random,
}


def main(output: Path, only: tuple[str, ...] = ()) -> int:
    unknown = sorted(set(only) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown} (known: {', '.join(BENCHMARKS)})")
    results: dict[str, Any] = json.loads(output.read_text()) if only and output.exists() else {}
    stamp = measured_on()
    results.setdefault("measured_by", {})
    for name, benchmark in BENCHMARKS.items():
        if only and name not in only:
            continue
        print(f"bench: {name} ...", flush=True)
        metrics = benchmark()
        for key, value in metrics.items():
            print(f"  {key:32s} {value}")
        results.update(metrics)
        results["measured_by"][name] = stamp
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"bench: results in {output}")
    return 0


def measured_on() -> dict[str, str]:
    """Commit (``+dirty`` with local changes), UTC date and machine of this run."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return {
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cores": str(len(os.sched_getaffinity(0))),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
