"""Closed-loop demo: simulator and AEB as separate processes over DDS; table + report/results.json."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from av_edge import processes
from av_edge.suite.report import compose, table

COLUMNS = (
    ("scenario", "scenario", "{}"),
    ("km/h", "ego_kmh", "{:.0f}"),
    ("outcome", "outcome", "{}"),
    ("stop gap m", "stop_gap_m", "{:.2f}"),
    ("onset TTC s", "brake_onset_ttc_s", "{:.2f}"),
    ("lat p50 ms", "latency_p50_ms", "{:.1f}"),
    ("lat p99 ms", "latency_p99_ms", "{:.1f}"),
)


STACK = ("aeb_node", "perception_node")


def run_scenario(
    sim_params: Sequence[str],
    *,
    domain_id: int | None = None,
    timeout_s: float = 120.0,
    log_dir: Path,
    stack: Sequence[str] = STACK,
) -> dict[str, Any]:
    """Run one scenario with the ``stack`` nodes in their own processes; return the simulator's result."""
    env = processes.dds_environment(domain_id)
    result_path = log_dir / "run.json"
    result_path.unlink(missing_ok=True)
    nodes = {name: processes.start(processes.node_command(name), env, log_dir / f"{name}.log") for name in stack}
    sim_command = processes.node_command("simulator_node", [*sim_params, f"result_path:={result_path}"])
    sim = processes.start(sim_command, env, log_dir / "simulator_node.log")
    try:
        sim.wait(timeout_s)
    except subprocess.TimeoutExpired:
        processes.stop(sim)
    finally:
        codes = {name: processes.stop(process) for name, process in nodes.items()}
    crashed = {name: code for name, code in codes.items() if code not in (0, -2)}
    if crashed:
        raise RuntimeError(f"nodes exited with errors {crashed}; see the logs in {log_dir}")
    if not result_path.exists():
        raise RuntimeError(f"simulator wrote no result; see {log_dir / 'simulator_node.log'}")
    record: dict[str, Any] = json.loads(result_path.read_text())
    return record


def main(scenario: str, report: Path, domain_id: int | None) -> int:
    with tempfile.TemporaryDirectory(prefix="av_edge_demo_") as tmp:
        params = [f"scenario:={scenario}"]
        try:
            record = run_scenario(params, domain_id=domain_id, log_dir=Path(tmp))
        except RuntimeError as err:
            for log in sorted(Path(tmp).glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()[-3000:]}")
            print(f"demo failed: {err}")
            return 1
    print(table([record], COLUMNS))
    print(f"\n{record['scenario']}: {record['outcome'].replace('_', ' ')}")
    report.parent.mkdir(parents=True, exist_ok=True)
    document = json.loads(report.read_text()) if report.exists() else {}
    document["realtime"] = [record]  # beside the suite's lock-step "runs", when both are there
    report.write_text(json.dumps(document, indent=2) + "\n")
    compose(report.parent)
    print(f"report written to {report} and {report.parent / 'summary.md'}")
    return 0 if record["outcome"] != "contact" else 1
