from pathlib import Path

import pytest

from av_edge.core.errors import ConfigError
from av_edge.suite.report import load_known_failures
from av_edge.suite.runner import ratchet, select
from test.sim.test_scenario import CATALOG


def records(**passed: bool) -> list[dict[str, object]]:
    return [{"scenario": name, "passed": ok} for name, ok in passed.items()]


def test_ratchet_holds_when_exactly_the_known_ones_fail() -> None:
    check = ratchet(records(a=True, b=False), {"b": "reason"}, complete=True)
    assert check.ok


def test_a_new_failure_breaks_it() -> None:
    check = ratchet(records(a=False, b=False), {"b": "reason"}, complete=True)
    assert check.new_failures == ["a"] and not check.ok


def test_a_known_failure_that_passes_breaks_it_so_the_list_only_shrinks() -> None:
    check = ratchet(records(a=True, b=True), {"b": "reason"}, complete=True)
    assert check.now_passing == ["b"] and not check.ok


def test_stale_names_break_it_only_on_a_complete_run() -> None:
    assert not ratchet(records(a=True), {"gone": "reason"}, complete=True).ok
    assert ratchet(records(a=True), {"gone": "reason"}, complete=False).ok


def test_known_failures_need_reasons(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("known_failures:\n  a: ''\n")
    with pytest.raises(ConfigError, match="reason"):
        load_known_failures(path)


def test_select_by_name_and_category() -> None:
    assert {s.category for s in select(CATALOG, [], ["false_activation"])} == {"false_activation"}
    assert [s.name for s in select(CATALOG, ["lead_stopped_50kmh"], [])] == [
        "lead_stopped_50kmh_100pct",
        "lead_stopped_50kmh_50pct",
    ]
