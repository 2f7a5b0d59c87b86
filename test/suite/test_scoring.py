"""Random-suite scoring: per family, and by day and night where a family draws both."""

from __future__ import annotations

from typing import Any

from av_edge.suite import scoring


def run(family: str, lighting: str, outcome: str, impact: float, unbraked: float) -> dict[str, Any]:
    return {
        "family": family,
        "lighting": lighting,
        "outcome": outcome,
        "avoidable": True,
        "verdict": "avoidable_contact" if outcome == "contact" else "ok",
        "fcw": True,
        "impact_kmh": impact,
        "unbraked_impact_kmh": unbraked,
        "oracle_impact_kmh": 0.0,
    }


def test_a_family_drawn_by_day_and_night_is_scored_for_each() -> None:
    records = [
        run("ped", "day", "no_contact", 0.0, 40.0),
        run("ped", "night", "contact", 20.0, 40.0),
        run("ped", "night", "no_contact", 0.0, 40.0),
        run("car", "day", "no_contact", 0.0, 50.0),
    ]
    score = scoring.score(records, {"ped": "no_contact", "car": "no_contact"})
    ped = score["families"]["ped"]["by_lighting"]
    assert ped["day"]["runs"] == 1 and ped["day"]["contacts"] == 0 and ped["day"]["mean_impact_reduction_pct"] == 100
    assert ped["night"]["runs"] == 2 and ped["night"]["avoidable_contacts"] == 1
    assert ped["night"]["mean_impact_reduction_pct"] == 75.0
    assert score["families"]["car"]["by_lighting"] == {}  # day only: no split
    text = scoring.markdown(score, 1, full_stack=True)
    assert "| ped | night | 2 | 1 (1/0) | 75.0 | 0 | 1 |" in text and "full stack" in text
