"""``av-edge suite --random N --seed S``: runs drawn from the scenario families, graded against the oracle.

A threat run fails on contact the oracle says was avoidable, or on an impact more than
``EXCESS_IMPACT_KMH`` faster than the oracle's where it was not; a true-negative run fails on braking
above 0.1 g (a false activation) and counts a forward-collision warning as a nuisance warning. A
run with an injected sensor fault also fails when the availability telltale did not leave
"available" within ``TELLTALE_S`` of the fault's onset.
Failing runs are written out as catalog files, ready to become permanent regression scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from av_edge.core.camera import load_rig
from av_edge.paths import config_file
from av_edge.sim.catalog import ego_geometry
from av_edge.sim.families import (
    Draw,
    Family,
    allocate,
    catalog_document,
    draw,
    load_families,
    load_known_failures,
    scenario,
)
from av_edge.suite import report, scoring
from av_edge.suite.lockstep import run_lockstep
from av_edge.suite.stack import StackConfig

EXCESS_IMPACT_KMH = 5.0
TELLTALE_S = 1.0  # a sensor fault shows on the availability telltale within this (FMVSS No. 127 S5.4)


def grade(record: dict[str, Any], expected: str) -> str:
    """``ok``, or why the run failed: avoidable_contact, excess_impact, false_activation, contact, or
    late_telltale (a sensor fault the availability telltale did not report within TELLTALE_S)."""
    verdict = _outcome_verdict(record, expected)
    onset = record.get("fault_onset_s")
    if verdict == "ok" and onset is not None:
        raised = record.get("telltale_s")
        if raised is None or raised > max(onset, 0.0) + TELLTALE_S:
            return "late_telltale"
    return verdict


def _outcome_verdict(record: dict[str, Any], expected: str) -> str:
    contact = record["outcome"] == "contact"
    if expected == "not_activated":
        if contact:
            return "contact"
        return "false_activation" if record["outcome"] == "activated" else "ok"
    if not contact:
        return "ok"
    if record["avoidable"]:
        return "avoidable_contact"
    oracle = record["oracle_impact_kmh"] or 0.0
    return "excess_impact" if record["impact_kmh"] > oracle + EXCESS_IMPACT_KMH else "ok"


def _run(job: tuple[Family, Draw, bool]) -> dict[str, Any]:
    family, d, full_stack = job
    stack = StackConfig.load()
    cameras = load_rig(config_file("vehicle.yaml")) if full_stack else ()
    record = run_lockstep(
        scenario(family, d, ego_geometry(stack.sim)), stack, cameras=cameras, full_stack=full_stack
    ).record
    record.update(family=family.name, seed=d.seed, index=d.index, values=d.values, main=family.main)
    record["verdict"] = grade(record, family.expected)
    return record


def run_all(todo: Sequence[tuple[Family, Draw]], jobs: int, full_stack: bool = False) -> Iterator[dict[str, Any]]:
    """Lock-step runs of ``todo`` in ``jobs`` worker processes; records in order, as they finish."""
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_run, [(f, d, full_stack) for f, d in todo], chunksize=4)


def reproduce(d: Draw, full_stack: bool = True) -> str:
    stack = "" if full_stack else " --stack lidar"
    return f"av-edge suite --random 1 --seed {d.seed} --family {d.family} --index {d.index}{stack}"


def plan(
    families: Sequence[Family], runs: int, seed: int, only: Sequence[str], index: int | None
) -> list[tuple[Family, Draw]]:
    """The runs to make: ``runs`` shared by weight, or of the named families; one index alone if given."""
    chosen = [f for f in families if not only or f.name in only]
    if index is not None:
        return [(f, draw(f, seed, index)) for f in chosen]
    return [(f, draw(f, seed, i)) for f, i in allocate(chosen, runs)]


def main(
    runs: int,
    seed: int,
    only: Sequence[str],
    index: int | None,
    jobs: int,
    output: Path,
    plots: bool,
    full_stack: bool = False,
) -> int:
    families, _ = load_families(config_file("scenarios/families"))
    unknown = sorted(set(only) - {f.name for f in families})
    if unknown:
        print(f"suite: no family {unknown} (known: {[f.name for f in families]})")
        return 2
    todo = plan(families, runs, seed, only, index)
    mode = "full stack" if full_stack else "LiDAR only"
    families_n = len({f.name for f, _ in todo})
    print(f"suite: {len(todo)} random runs from {families_n} families, seed {seed}, {mode}, {jobs} workers")
    failures_dir = output / "random_failures"
    records: list[dict[str, Any]] = []
    for i, ((family, d), record) in enumerate(zip(todo, run_all(todo, jobs, full_stack), strict=True), 1):
        records.append(record)
        ok = record["verdict"] == "ok"
        oracle = record["oracle_impact_kmh"] or 0.0
        print(
            f"[{i:4d}/{len(todo)}] {'ok  ' if ok else 'FAIL'} {d.name:34s} {record['ego_kmh']:6.1f} km/h "
            f"{record['outcome']:13s} impact {record['impact_kmh']:5.1f} (oracle {oracle:5.1f})"
            f"{'' if ok else ' ' + record['verdict']}  | {reproduce(d, full_stack)}",
            flush=True,
        )
        if not ok:
            failures_dir.mkdir(parents=True, exist_ok=True)
            path = failures_dir / f"{d.name}.yaml"
            path.write_text(yaml.safe_dump(catalog_document(family, d), sort_keys=False))
    score = scoring.score(records, {f.name: f.expected for f in families})
    output.mkdir(parents=True, exist_ok=True)
    (output / "random_results.json").write_text(json.dumps({"score": score, "runs": records}, indent=2) + "\n")
    (output / "random_summary.md").write_text(scoring.markdown(score, seed, full_stack))
    report.compose(output)
    if plots:
        scoring.pass_maps(records, output / "plots")
    print(scoring.markdown(score, seed, full_stack))
    failed = [r for r in records if r["verdict"] != "ok"]
    known = load_known_failures(config_file("scenarios/families"))
    for name in sorted({str(r["family"]) for r in failed}):
        print(f"  {name}: {known.get(name, 'NOT a known failure')}")
    if failed:
        print(f"suite: {len(failed)} failing runs, written as catalog files to {failures_dir}/")
    return 1 if failed or score["overall"]["nuisance_rate"] > scoring.NUISANCE_LIMIT else 0
