"""``av-edge suite``: run the scenario catalog, grade it, ratchet it against known failures, report."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from av_edge.core.camera import load_rig
from av_edge.paths import config_file
from av_edge.sim.catalog import ego_geometry
from av_edge.sim.scenario import Scenario, load_catalog
from av_edge.suite import report
from av_edge.suite.bag import BagRecorder
from av_edge.suite.lockstep import RunResult, run_lockstep
from av_edge.suite.report import load_known_failures
from av_edge.suite.stack import StackConfig


def select(scenarios: Sequence[Scenario], names: Sequence[str], categories: Sequence[str]) -> list[Scenario]:
    """Scenarios whose name contains any of ``names`` and whose category is in ``categories`` (empty: all)."""
    return [
        s
        for s in scenarios
        if (not names or any(n in s.name for n in names)) and (not categories or s.category in categories)
    ]


def _run_one(job: tuple[Scenario, Path | None, bool]) -> RunResult:
    scenario, record_dir, full_stack = job
    rig = load_rig(config_file("vehicle.yaml"))
    if record_dir is None:
        return run_lockstep(scenario, StackConfig.load(), cameras=rig if full_stack else (), full_stack=full_stack)
    with BagRecorder(record_dir / scenario.name) as recorder:
        return run_lockstep(scenario, StackConfig.load(), recorder, cameras=rig, full_stack=full_stack)


def run_all(
    scenarios: Sequence[Scenario],
    jobs: int,
    progress: bool = True,
    record_dir: Path | None = None,
    full_stack: bool = False,
) -> list[RunResult]:
    """Lock-step runs of ``scenarios`` in ``jobs`` worker processes; results in catalog order."""
    results: list[RunResult] = []
    if record_dir is not None:
        record_dir.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for i, result in enumerate(pool.map(_run_one, [(s, record_dir, full_stack) for s in scenarios]), start=1):
            results.append(result)
            if progress:
                r = result.record
                mark = "ok  " if r["passed"] else "FAIL"
                print(f"[{i:3d}/{len(scenarios)}] {mark} {r['scenario']:45s} {r['outcome']}", flush=True)
    return results


@dataclass(frozen=True)
class Ratchet:
    """Failures against ``known_failures.yaml``: new ones fail the run, and so do listed ones now passing."""

    new_failures: list[str]
    now_passing: list[str]
    unknown_names: list[str]

    @property
    def ok(self) -> bool:
        return not (self.new_failures or self.now_passing or self.unknown_names)


def ratchet(records: Sequence[dict[str, object]], known: dict[str, str], complete: bool) -> Ratchet:
    ran = {str(r["scenario"]): bool(r["passed"]) for r in records}
    return Ratchet(
        new_failures=sorted(n for n, ok in ran.items() if not ok and n not in known),
        now_passing=sorted(n for n, ok in ran.items() if ok and n in known),
        unknown_names=sorted(n for n in known if n not in ran) if complete else [],
    )


def main(
    names: Sequence[str],
    categories: Sequence[str],
    output: Path,
    known_failures: Path | None,
    jobs: int,
    plots: bool,
    record_dir: Path | None = None,
    full_stack: bool = False,
) -> int:
    stack = StackConfig.load()
    catalog = load_catalog(config_file("scenarios"), ego_geometry(stack.sim))
    scenarios = select(catalog, names, categories)
    if not scenarios:
        print(f"suite: no scenario matches {list(names)} {list(categories)}")
        return 2
    known = load_known_failures(known_failures or config_file("scenarios/known_failures.yaml"))
    mode = "full stack (cameras, detection, fusion)" if full_stack else "LiDAR only"
    print(f"suite: {len(scenarios)} scenarios, deterministic lock-step, {mode}, {jobs} workers")
    results = run_all(scenarios, jobs, record_dir=record_dir, full_stack=full_stack)
    records = [r.record for r in results]
    print(report.table(records))
    report.write(results, output, known, plots)
    failed = [r for r in records if not r["passed"]]
    print(f"\nsuite: {len(records) - len(failed)}/{len(records)} passed; report in {output}/")
    for r in failed:
        print(f"  FAIL {r['scenario']}: {r['outcome']} -- {known.get(str(r['scenario']), 'not a known failure')}")
    if known_failures is None:
        return 1 if failed else 0
    check = ratchet(records, known, complete=len(scenarios) == len(catalog))
    for name in check.new_failures:
        print(f"  ratchet: NEW failure {name}")
    for name in check.now_passing:
        print(f"  ratchet: {name} passes now: remove it from {known_failures}")
    for name in check.unknown_names:
        print(f"  ratchet: {name} in {known_failures} is not in the catalog")
    print(f"suite: ratchet {'holds' if check.ok else 'BROKEN'} ({len(known)} known failures)")
    return 0 if check.ok else 1


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


if __name__ == "__main__":
    sys.exit(main([], [], Path("report"), None, default_jobs(), True))
