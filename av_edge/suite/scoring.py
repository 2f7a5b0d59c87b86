"""Scores of random runs: per family and overall, Euro NCAP colour bands, failure-rate bounds, pass maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import beta

from av_edge.suite.report import pyplot

NUISANCE_LIMIT = 0.01  # nuisance warnings allowed, share of true-negative runs
BANDS = ((0.0, "green"), (10.0, "yellow"), (20.0, "orange"), (30.0, "brown"))  # impact km/h at most


def band(impact_kmh: float) -> str:
    """Euro NCAP colour band of an impact speed (red above 30 km/h)."""
    for limit, colour in BANDS:
        if impact_kmh <= limit:
            return colour
    return "red"


def upper_bound(failures: int, runs: int) -> float:
    """One-sided 95 % upper bound of a failure rate (Clopper-Pearson; ~3/N for none in N)."""
    if runs == 0:
        return 1.0
    if failures >= runs:
        return 1.0
    return float(beta.ppf(0.95, failures + 1, runs - failures))


def _summary(records: Sequence[Mapping[str, Any]], negative: bool) -> dict[str, Any]:
    runs = len(records)
    contacts = [r for r in records if r["outcome"] == "contact"]
    avoidable_contacts = sum(1 for r in contacts if r["avoidable"])
    false_activations = sum(1 for r in records if r["verdict"] == "false_activation")
    nuisance = sum(1 for r in records if negative and r["fcw"])
    failures = sum(1 for r in records if r["verdict"] != "ok")
    faulted = [r for r in records if r.get("fault_onset_s") is not None]
    hit = [r for r in records if not negative and (r["unbraked_impact_kmh"] or 0) > 0]
    reductions = [100.0 * (1 - r["impact_kmh"] / r["unbraked_impact_kmh"]) for r in hit]
    bands: dict[str, int] = {}
    for r in records:
        if not negative:
            colour = band(r["impact_kmh"])
            bands[colour] = bands.get(colour, 0) + 1
    excess = [r["impact_kmh"] - (r["oracle_impact_kmh"] or 0) for r in contacts if not r["avoidable"]]
    return {
        "runs": runs,
        "avoidable_runs": sum(1 for r in records if r["avoidable"]),
        "contacts": len(contacts),
        "avoidable_contacts": avoidable_contacts,
        "unavoidable_contacts": len(contacts) - avoidable_contacts,
        "mean_impact_kmh": round(sum(r["impact_kmh"] for r in contacts) / len(contacts), 2) if contacts else 0.0,
        "max_excess_over_oracle_kmh": round(max(excess), 2) if excess else 0.0,
        "mean_impact_reduction_pct": round(sum(reductions) / len(reductions), 2) if reductions else None,
        "bands": bands,
        "false_activations": false_activations,
        "nuisance_warnings": nuisance,
        "fault_runs": len(faulted),
        "late_telltales": sum(1 for r in records if r["verdict"] == "late_telltale"),
        "failures": failures,
        "failure_rate_upper95": round(upper_bound(failures, runs), 4),
    }


def score(records: Sequence[Mapping[str, Any]], expected: Mapping[str, str]) -> dict[str, Any]:
    """Per family and overall; ``expected`` maps each family to its expected outcome."""
    by_family: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by_family.setdefault(str(r["family"]), []).append(r)
    families = {
        name: {
            "expected": expected[name],
            **_summary(rs, expected[name] == "not_activated"),
            "by_lighting": _by_lighting(rs, expected[name] == "not_activated"),
        }
        for name, rs in sorted(by_family.items())
    }
    threats = [r for r in records if expected[str(r["family"])] != "not_activated"]
    negatives = [r for r in records if expected[str(r["family"])] == "not_activated"]
    threat_summary, negative_summary = _summary(threats, False), _summary(negatives, True)
    overall = {
        "runs": len(records),
        "threat_runs": len(threats),
        "true_negative_runs": len(negatives),
        "avoidable_runs": threat_summary["avoidable_runs"],
        "unavoidable_runs": len(threats) - threat_summary["avoidable_runs"],
        "avoidable_contacts": threat_summary["avoidable_contacts"],
        "unavoidable_contacts": threat_summary["unavoidable_contacts"],
        "max_excess_over_oracle_kmh": threat_summary["max_excess_over_oracle_kmh"],
        "mean_impact_reduction_pct": threat_summary["mean_impact_reduction_pct"],
        "bands": threat_summary["bands"],
        "false_activations": negative_summary["false_activations"],
        "nuisance_warnings": negative_summary["nuisance_warnings"],
        "nuisance_rate": round(negative_summary["nuisance_warnings"] / len(negatives), 4) if negatives else 0.0,
        "avoidable_contact_rate_upper95": round(
            upper_bound(threat_summary["avoidable_contacts"], threat_summary["avoidable_runs"]), 4
        ),
        "false_activation_rate_upper95": round(upper_bound(negative_summary["false_activations"], len(negatives)), 4),
        "fault_runs": threat_summary["fault_runs"] + negative_summary["fault_runs"],
        "late_telltales": threat_summary["late_telltales"] + negative_summary["late_telltales"],
        "failures": sum(1 for r in records if r["verdict"] != "ok"),
        "stage_ms": stage_costs(records),
    }
    return {"overall": overall, "families": families}


def _by_lighting(records: Sequence[Mapping[str, Any]], negative: bool) -> dict[str, dict[str, Any]]:
    """The family's summary by day and by night, when it has runs of both."""
    lights = sorted({str(r.get("lighting", "day")) for r in records})
    if len(lights) < 2:
        return {}
    return {light: _summary([r for r in records if r.get("lighting", "day") == light], negative) for light in lights}


def stage_costs(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Full-stack runs' per-stage costs over the runs: the worst p99 and the median p50 (empty: none)."""
    per_run = [r["stage_ms"] for r in records if r.get("stage_ms")]
    out: dict[str, float] = {}
    for key in sorted({k for run in per_run for k in run}):
        values = [run[key] for run in per_run if key in run]
        out[key] = round(max(values) if key.endswith("p99_ms") else float(np.median(values)), 2)
    return out


def markdown(score: Mapping[str, Any], seed: int, full_stack: bool = False) -> str:
    o = score["overall"]
    stack = "full stack: LiDAR + cameras, detection, fusion + AEB" if full_stack else "LiDAR + perception + AEB"
    lines = [f"# Random scenario families (seed {seed}, lock-step, {stack})", ""]
    if o.get("stage_ms"):
        stages = ", ".join(f"{k} {v}" for k, v in o["stage_ms"].items())
        lines += [
            f"Per-stage cost in the loop (ms, worst run's p99 / median run's p50; CPU, ONNX Runtime): {stages}.",
            "",
        ]
    lines += [
        f"{o['runs']} runs: {o['threat_runs']} threats ({o['avoidable_runs']} avoidable by the oracle), "
        f"{o['true_negative_runs']} true negatives.",
        f"Avoidable contacts **{o['avoidable_contacts']}** (95 % upper bound of the rate "
        f"{o['avoidable_contact_rate_upper95']:.2%}), unavoidable contacts {o['unavoidable_contacts']} "
        f"(worst excess over the oracle's impact {o['max_excess_over_oracle_kmh']} km/h), "
        f"false activations **{o['false_activations']}** (upper bound {o['false_activation_rate_upper95']:.2%}), "
        f"nuisance warnings {o['nuisance_warnings']} ({o['nuisance_rate']:.2%} of true negatives), "
        f"mean impact-speed reduction {o['mean_impact_reduction_pct']} %. "
        f"Sensor-fault runs {o['fault_runs']}, telltale late or missing in **{o['late_telltales']}**.",
        "",
        "| family | expected | runs | avoidable | contacts (avoidable/unavoidable) | mean impact km/h | "
        "excess km/h | reduction % | bands | false act. | nuisance FCW | failures | fail rate ≤ (95 %) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, f in score["families"].items():
        bands = " ".join(f"{k}:{v}" for k, v in sorted(f["bands"].items())) or "-"
        reduction = "-" if f["mean_impact_reduction_pct"] is None else f["mean_impact_reduction_pct"]
        lines.append(
            f"| {name} | {f['expected']} | {f['runs']} | {f['avoidable_runs']} | {f['contacts']} "
            f"({f['avoidable_contacts']}/{f['unavoidable_contacts']}) | {f['mean_impact_kmh']} | "
            f"{f['max_excess_over_oracle_kmh']} | {reduction} | "
            f"{bands} | {f['false_activations']} | {f['nuisance_warnings']} | {f['failures']} | "
            f"{f['failure_rate_upper95']:.2%} |"
        )
    lines += _lighting_table(score["families"])
    return "\n".join(lines) + "\n"


def _lighting_table(families: Mapping[str, Any]) -> list[str]:
    """Day vs night for the families drawn in both (night means night only in the full stack)."""
    rows = []
    for name, f in families.items():
        for light, g in f.get("by_lighting", {}).items():
            reduction = "-" if g["mean_impact_reduction_pct"] is None else g["mean_impact_reduction_pct"]
            rows.append(
                f"| {name} | {light} | {g['runs']} | {g['contacts']} ({g['avoidable_contacts']}/"
                f"{g['unavoidable_contacts']}) | {reduction} | {g['false_activations']} | {g['failures']} |"
            )
    if not rows:
        return []
    head = [
        "",
        "Day vs night:",
        "",
        "| family | lighting | runs | contacts (avoidable/unavoidable) | reduction % | false act. | failures |",
        "|---|---|---|---|---|---|---|",
    ]
    return head + rows


def pass_maps(records: Sequence[Mapping[str, Any]], directory: Path) -> None:
    """One scatter per family: ego speed against the family's main parameter, coloured by verdict."""
    plt = pyplot()
    if plt is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    by_family: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by_family.setdefault(str(r["family"]), []).append(r)
    colours = {"ok": "tab:green", "avoidable_contact": "tab:red", "excess_impact": "tab:orange"}
    for name, rs in by_family.items():
        fig, axis = plt.subplots(figsize=(6, 4))
        main = str(rs[0]["main"])
        for verdict in sorted({str(r["verdict"]) for r in rs}):
            chosen = [r for r in rs if r["verdict"] == verdict]
            unavoidable = verdict == "ok" and any(not r["avoidable"] for r in chosen)
            axis.scatter(
                [r["ego_kmh"] for r in chosen],
                [float(r["values"][main]) for r in chosen],
                s=14,
                c=colours.get(verdict, "tab:purple"),
                label=f"{verdict} ({len(chosen)})" + (" incl. unavoidable" if unavoidable else ""),
            )
        axis.set_xlabel("ego speed, km/h")
        axis.set_ylabel(main)
        axis.set_title(f"{name}: pass map")
        axis.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(directory / f"family_{name}.png", dpi=80)
        plt.close(fig)
