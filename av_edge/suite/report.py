"""Suite reports: console table, ``results.json``, ``summary.md`` and PNG plots (matplotlib, optional)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from av_edge.core.errors import ConfigError
from av_edge.paths import config_file
from av_edge.suite.lockstep import RunResult

COLUMNS = (
    ("scenario", "scenario", "{}"),
    ("category", "category", "{}"),
    ("km/h", "ego_kmh", "{:.0f}"),
    ("expected", "expected", "{}"),
    ("outcome", "outcome", "{}"),
    ("ok", "passed", "{}"),
    ("min gap m", "min_gap_m", "{:.2f}"),
    ("impact km/h", "impact_kmh", "{:.1f}"),
    ("max decel", "max_decel_mps2", "{:.1f}"),
    ("onset TTC s", "brake_onset_ttc_s", "{:.2f}"),
    ("lat p50", "latency_p50_ms", "{:.1f}"),
    ("lat p99", "latency_p99_ms", "{:.1f}"),
    ("misses", "deadline_misses", "{}"),
)
#: Fields measured on the wall clock: they differ run to run; everything else must not.
TIMING_FIELDS = frozenset(
    {"latency_p50_ms", "latency_p99_ms", "latency_max_ms", "deadline_misses", "planner_p99_ms", "stage_ms"}
)


Column = tuple[str, str, str]  # title, record key, format


def table(records: Sequence[Mapping[str, Any]], columns: Sequence[Column] = COLUMNS) -> str:
    """A plain-text table of ``records``; missing values print as ``-``."""
    cells = [[title for title, _, _ in columns]]
    for r in records:
        cells.append(["-" if r.get(key) is None else fmt.format(r[key]) for _, key, fmt in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(records: Sequence[Mapping[str, Any]], known: Mapping[str, str], plots: Path | None = None) -> str:
    """Markdown: pass counts per category, then every failure with its known reason (if any); with
    ``plots`` (the plot directory, relative to the summary), a link to each run's plot that exists."""
    lines = ["# av_edge scenario suite (catalog, lock-step)", "", "| category | runs | passed |", "|---|---|---|"]
    runs = Counter(r["category"] for r in records)
    passed = Counter(r["category"] for r in records if r["passed"])
    lines += [f"| {c} | {runs[c]} | {passed[c]} |" for c in sorted(runs)]
    failures = [r for r in records if not r["passed"]]
    lines += ["", f"## Failures ({len(failures)})", ""]
    lines += [
        f"- `{r['scenario']}`: {r['outcome']} (expected {r['expected']}; min gap {r['min_gap_m']} m, "
        f"impact {r['impact_kmh']} km/h). {known.get(r['scenario'], '**not in known_failures.yaml**')}"
        f"{_plot_link(plots, str(r['scenario']))}"
        for r in failures
    ]
    misses = sum(r["deadline_misses"] for r in records)
    lines += [
        "",
        f"Deadline misses over the latency budget: {misses}.",
        "",
        "## All runs",
        "",
        "```",
        table(records),
        "```",
    ]
    if plots is not None and plots.is_dir():
        lines += ["", "## Plots", "", "Speed, deceleration and brake request over time (brake onset marked), and the"]
        lines += [
            "bird's-eye view at brake onset: returns, actors, the ego and the AEB's corridor along its predicted path.",
            "",
        ]
        lines += [f"- `{r['scenario']}`{_plot_link(plots, str(r['scenario']))}" for r in records]
        if (plots / "latency_histogram.png").is_file():
            lines += ["", f"[Per-scenario p99 AEB latency]({plots.name}/latency_histogram.png)"]
    return "\n".join(lines) + "\n"


def _plot_link(plots: Path | None, scenario: str) -> str:
    if plots is None or not (plots / f"{scenario}.png").is_file():
        return ""
    return f" [plot]({plots.name}/{scenario}.png)"


def realtime_section(records: Sequence[Mapping[str, Any]]) -> str:
    """The real-time run(s) (``av-edge demo``: processes over DDS, wall clock), for summary.md."""
    lines = [
        "## Real-time run (processes over DDS)",
        "",
        "Simulator, perception and AEB as separate processes on the wall clock (`av-edge demo`): latencies",
        "include DDS and scheduling, unlike the lock-step figures above.",
        "",
        "```",
        table(records),
        "```",
    ]
    return "\n".join(lines) + "\n"


def load_known_failures(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    document = yaml.safe_load(path.read_text()) or {}
    known = document.get("known_failures") or {}
    if not isinstance(known, dict) or not all(isinstance(v, str) and v for v in known.values()):
        raise ConfigError(f"{path}: known_failures must map each scenario name to its reason")
    return known


def compose(directory: Path, known: Mapping[str, str] | None = None) -> None:
    """``summary.md`` from what the directory holds: the catalog suite (``results.json`` runs), the
    real-time run (its ``realtime``), and a link to the randomized families' table when there."""
    if known is None:
        known = load_known_failures(config_file("scenarios/known_failures.yaml"))
    parts = []
    results = directory / "results.json"
    document = json.loads(results.read_text()) if results.is_file() else {}
    if document.get("runs"):
        parts.append(summary(document["runs"], known, directory / "plots"))
    else:
        parts.append("# av_edge report\n")
    if document.get("realtime"):
        parts.append(realtime_section(document["realtime"]))
    if (directory / "random_summary.md").is_file():
        parts.append(
            "## Randomized families\n\nPer-family tables (contacts against the avoidability oracle, false "
            "activations, fault runs): [random_summary.md](random_summary.md).\n"
        )
    (directory / "summary.md").write_text("\n".join(parts))


def write(results: Sequence[RunResult], directory: Path, known: Mapping[str, str], plots: bool = True) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    records = [r.record for r in results]
    (directory / "results.json").write_text(json.dumps({"runs": records}, indent=2) + "\n")
    if plots:
        _plots(results, directory / "plots")
    compose(directory, known)


def pyplot() -> Any | None:
    """matplotlib's pyplot on the headless backend, or None (after saying so) when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib not installed, no plots")
        return None
    return plt


def _plots(results: Sequence[RunResult], directory: Path) -> None:
    plt = pyplot()
    if plt is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for result in results:
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        series = result.series
        left.plot(series["t"], [v * 3.6 for v in series["speed"]], label="ego speed (km/h)")
        left.plot(series["t"], series["decel"], label="deceleration (m/s²)")
        left.plot(series["t"], series["request"], "--", label="requested deceleration (m/s²)")
        onset = next((t for t, r in zip(series["t"], series["request"], strict=True) if r > 0), None)
        if onset is not None:
            left.axvline(onset, color="r", linestyle=":", label=f"brake onset ({onset:.2f} s)")
        left.set_xlabel("time (s)")
        left.set_ylabel("km/h, m/s²")
        left.legend(loc="upper right", fontsize="small")
        left.set_title(f"{result.record['scenario']}: {result.record['outcome']}")
        snap = result.snapshot
        if snap is not None:
            right.scatter(snap.points[:, 0], snap.points[:, 1], s=1, c="0.6")
            for footprint in snap.actors:
                right.fill(footprint[:, 0], footprint[:, 1], alpha=0.6)
            right.fill(snap.ego[:, 0], snap.ego[:, 1], color="k", alpha=0.8, label="ego")
            if snap.corridor is not None:
                ring = np.vstack([snap.corridor, snap.corridor[:1]])
                right.plot(ring[:, 0], ring[:, 1], "r-", linewidth=1, label="AEB corridor (predicted path)")
            right.set_xlabel("x (m, odom)")
            right.set_ylabel("y (m, odom)")
            right.legend(loc="upper right", fontsize="small")
            centre = snap.ego.mean(axis=0)
            right.set_xlim(centre[0] - 10, centre[0] + 60)
            right.set_ylim(centre[1] - 20, centre[1] + 20)
            right.set_aspect("equal")
            right.set_title(f"bird's eye at t = {snap.t:.1f} s (brake onset, or the end)")
        fig.tight_layout()
        fig.savefig(directory / f"{result.record['scenario']}.png", dpi=70)
        plt.close(fig)
    fig, axis = plt.subplots(figsize=(6, 4))
    latencies = [r.record["latency_p99_ms"] for r in results if r.record["latency_p99_ms"] is not None]
    axis.hist(latencies, bins=30)
    axis.set_xlabel("per-scenario p99 AEB latency, ms (lock-step: compute only)")
    axis.set_ylabel("scenarios")
    fig.tight_layout()
    fig.savefig(directory / "latency_histogram.png", dpi=80)
    plt.close(fig)
