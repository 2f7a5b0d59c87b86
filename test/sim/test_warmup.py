"""A real-time run starts once the stack is warm: AEB answers in a row within the budget and perception's
object lists, or once the wait is over (and then it says what was missing)."""

from __future__ import annotations

from av_edge.sim.warmup import Warmup

MS = 1_000_000


def test_the_run_waits_for_answers_in_a_row_and_for_perception() -> None:
    gate = Warmup(answers=3, object_lists=2, budget_ms=100.0, wait_s=60.0, created_ns=0)
    for k in range(3):
        gate.on_answer(k * 100 * MS, k * 100 * MS + 20 * MS)
    assert gate.in_budget == 3 and not gate.ready  # the AEB is warm, perception has said nothing yet
    gate.on_answer(300 * MS, 300 * MS + 150 * MS)  # one late answer (a node importing beside it) ...
    assert gate.in_budget == 0  # ... starts the count again
    for k in range(4, 7):
        gate.on_answer(k * 100 * MS, k * 100 * MS + 10 * MS)
    gate.on_object_list()
    assert not gate.due(700 * MS)
    gate.on_object_list()
    assert gate.ready and gate.due(700 * MS)


def test_without_perception_to_wait_for_answers_are_enough_and_the_wait_ends_anyway() -> None:
    gate = Warmup(answers=2, object_lists=0, budget_ms=100.0, wait_s=5.0, created_ns=0)
    gate.on_answer(0, 10 * MS)
    gate.on_answer(100 * MS, 110 * MS)
    assert gate.ready
    silent = Warmup(answers=2, object_lists=5, budget_ms=100.0, wait_s=5.0, created_ns=0)
    silent.on_answer(0, 10 * MS)
    assert not silent.due(4_999 * MS) and silent.due(5_000 * MS) and not silent.ready
    assert silent.waiting_for() == "1/2 AEB answers in a row within 100 ms, 0/5 object lists from perception"
