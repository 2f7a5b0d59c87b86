"""The random scenario families at bench size: 2000 lock-step runs, scored against the oracle.

Simulated sensors, LiDAR perception and the AEB handler in lock-step (no cameras, no DDS): what it
measures is the decision logic's generalisation, not latency.
"""

from __future__ import annotations

from av_edge.bench.metrics import Metrics
from av_edge.paths import config_file
from av_edge.sim.families import load_families
from av_edge.suite import scoring
from av_edge.suite.random_runs import plan, run_all
from av_edge.suite.runner import default_jobs

RUNS = 2000
SEED = 20261204  # the bench's own seed, never used in tuning


def suite_random() -> Metrics:
    families, _ = load_families(config_file("scenarios/families"))
    records = list(run_all(plan(families, RUNS, SEED, (), None), default_jobs()))
    overall = scoring.score(records, {f.name: f.expected for f in families})["overall"]
    for record in records:
        if record["verdict"] != "ok":
            print(f"  {record['verdict']}: --seed {SEED} --family {record['family']} --index {record['index']}")
    reduction = overall["mean_impact_reduction_pct"]
    return {
        "suite_random_runs": float(overall["runs"]),
        "suite_random_avoidable_contacts": float(overall["avoidable_contacts"]),
        "suite_random_false_activations": float(overall["false_activations"]),
        "suite_random_nuisance_warnings": float(overall["nuisance_warnings"]),
        "suite_random_unavoidable_runs": float(overall["unavoidable_runs"]),
        "suite_random_mean_impact_reduction_pct": float(reduction) if reduction is not None else 0.0,
        "suite_random_fault_runs": float(overall["fault_runs"]),
        "suite_random_late_telltales": float(overall["late_telltales"]),
    }
