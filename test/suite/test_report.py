"""summary.md: every plot linked (and there), the real-time run and the randomized families included."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from av_edge.suite import report
from av_edge.suite.lockstep import run_lockstep
from av_edge.suite.stack import StackConfig
from test.sim.test_scenario import BY_NAME

STACK = StackConfig.load()


@pytest.mark.skipif(report.pyplot() is None, reason="matplotlib is not installed (requirements/dev.txt has it)")
def test_the_summary_links_each_plot_and_gathers_every_run(tmp_path: Path) -> None:
    results = [
        run_lockstep(BY_NAME[name], STACK) for name in ("lead_stopped_30kmh_100pct", "fa_steel_trench_plate_80kmh")
    ]
    braking = results[0]
    assert braking.snapshot is not None and braking.snapshot.corridor is not None
    assert braking.snapshot.corridor.shape[1] == 2  # the AEB's corridor, in odom, for the bird's-eye plot
    report.write(results, tmp_path, {})
    text = (tmp_path / "summary.md").read_text()
    links = re.findall(r"\]\(([^)]+\.png)\)", text)
    assert {f"plots/{r.record['scenario']}.png" for r in results} <= set(links)
    assert all((tmp_path / link).is_file() for link in links) and "plots/latency_histogram.png" in links
    assert "Real-time run" not in text

    document = json.loads((tmp_path / "results.json").read_text())  # as `av-edge demo` adds its run
    document["realtime"] = [results[0].record]
    (tmp_path / "results.json").write_text(json.dumps(document))
    (tmp_path / "random_summary.md").write_text("# Random scenario families\n")
    report.compose(tmp_path)
    text = (tmp_path / "summary.md").read_text()
    assert "## Real-time run (processes over DDS)" in text and "[random_summary.md](random_summary.md)" in text
    assert text.count("lead_stopped_30kmh_100pct") >= 3  # catalog table, plot list, real-time table
