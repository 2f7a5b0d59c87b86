"""Benchmark accounting: late answers keep their latency, lost ones are counted, results are stamped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from av_edge import bench
from av_edge.bench.aeb_latency import Samples, p99_ratio_interval, summary


def test_a_late_answer_is_a_sample_and_a_missing_one_is_lost() -> None:
    found = summary(Samples([5.0] * 98 + [250.0, 900.0], lost=3))
    assert found["max"] == 900.0 and found["late"] == 2.0 and found["lost"] == 3.0
    assert found["p99"] > 250.0  # the slow tail shows: nothing is capped or dropped


def test_p99_ratio_interval_brackets_the_ratio() -> None:
    rng = np.random.default_rng(1)
    base = list(rng.gamma(4.0, 2.0, 600))
    slower = [1.2 * x for x in rng.gamma(4.0, 2.0, 600)]
    ratio, low, high = p99_ratio_interval(slower, base)
    assert low <= ratio <= high and 0.8 < ratio < 1.8
    same, low, high = p99_ratio_interval(base, base)
    assert same == 1.0 and low < 1.0 < high


def test_a_full_run_starts_from_an_empty_file_stamped_with_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "results.json"
    output.write_text(json.dumps({"stale_key_from_old_code": 1.0}))
    monkeypatch.setattr(bench, "BENCHMARKS", {"a": lambda: {"a_ms": 1.0}, "b": lambda: {"b_ms": 2.0}})
    assert bench.main(output) == 0
    results = json.loads(output.read_text())
    assert "stale_key_from_old_code" not in results and results["a_ms"] == 1.0
    stamp = results["measured_by"]["a"]
    assert set(stamp) == {"commit", "date", "cores", "cpu", "python"} and int(stamp["cores"]) >= 1
    monkeypatch.setattr(bench, "BENCHMARKS", {"a": lambda: {"a_ms": 3.0}, "b": lambda: {"b_ms": 4.0}})
    assert bench.main(output, ("b",)) == 0  # --only merges into the file and stamps only what it ran
    merged = json.loads(output.read_text())
    assert merged["a_ms"] == 1.0 and merged["b_ms"] == 4.0 and set(merged["measured_by"]) == {"a", "b"}


def test_soak_rss_growth_tells_private_from_shared_memory_and_restarts_from_leaks(tmp_path) -> None:
    from av_edge.bench.soak import Child, _rss_growth

    child = Child("perception_node", [], {}, tmp_path)
    # first life: private memory flat from minute 5, a peer's DDS segment mapped (+24 MiB shared)
    child.rss.append(
        [(t, 300.0 + (24.0 if t > 600 else 0.0), 90.0, 35.0 + (24.0 if t > 600 else 0.0)) for t in range(0, 1800, 5)]
    )
    # a restarted process: measured from a minute after its start, its start-up is not growth
    child.rss.append(
        [(t, 100.0 + min(t - 1000, 60) + (t > 1500) * 3.0, 50.0 + (t > 1500) * 3.0, 0.0) for t in range(1000, 1800, 5)]
    )
    vm, by_process = _rss_growth({"p": child}, 300.0, 1)
    private, _ = _rss_growth({"p": child}, 300.0, 2)
    shared, _ = _rss_growth({"p": child}, 300.0, 3)
    assert (vm, private, shared) == (24.0, 3.0, 24.0) and by_process == {"perception_node": 24.0}


def test_the_soak_reads_the_aebs_counters_not_its_telltale_that_shares_the_hardware_id() -> None:
    import numpy as np

    from av_edge.bench.soak import _aeb_view
    from av_edge.core.aeb import AebCore
    from av_edge.core.objects import OBJECT_DTYPE
    from av_edge.ros.messages import diagnostic_array
    from test.core.test_aeb import CONFIG, MS, scan, wall

    core = AebCore(CONFIG)
    core.on_odometry(10.0, 0.0, 0)
    core.on_objects(np.zeros(0, OBJECT_DTYPE), 0, 0)
    core.on_cloud(scan(wall(60.0)), 0, 5 * MS)
    core.health.on_lost("point cloud", 3, 5 * MS)
    array = diagnostic_array([core.diagnostics(5 * MS), core.telltale(5 * MS).status("hold")], 5 * MS)
    view = _aeb_view([array])  # the telltale comes last in every array the node publishes
    assert view["lost.point cloud"] == "3" and "outputs" in view
