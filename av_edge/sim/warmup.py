"""When a real-time run may start: the stack has answered the frozen warm-up scene, in time.

Processes still importing, loading a model or discovering their peers would otherwise count as the
stack's latency: a perception node creating its detector's session takes a core for a while on a
2-core machine, and the AEB's first answers then wait for it. The run starts once the AEB has
answered ``answers`` scans in a row within the budget and perception has published ``object_lists``
object lists (0: perception is not waited for), or once ``wait_s`` has passed (it starts anyway and
the caller says so).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Warmup:
    answers: int
    object_lists: int
    budget_ms: float
    wait_s: float
    created_ns: int
    in_budget: int = 0  # answers in a row within the budget
    lists: int = 0

    def on_answer(self, stamp_ns: int, received_ns: int) -> None:
        """A brake command for a warm-up scan stamped ``stamp_ns``: a late one starts the count again."""
        on_time = (received_ns - stamp_ns) / 1e6 <= self.budget_ms
        self.in_budget = self.in_budget + 1 if on_time else 0

    def on_object_list(self) -> None:
        self.lists += 1

    @property
    def ready(self) -> bool:
        return self.in_budget >= self.answers and self.lists >= self.object_lists

    def due(self, now_ns: int) -> bool:
        """Start now: the stack is ready, or it has had ``wait_s``."""
        return self.ready or (now_ns - self.created_ns) / 1e9 >= self.wait_s

    def waiting_for(self) -> str:
        """What is missing, for the log line when the run starts anyway."""
        missing = []
        if self.in_budget < self.answers:
            missing.append(f"{self.in_budget}/{self.answers} AEB answers in a row within {self.budget_ms:g} ms")
        if self.lists < self.object_lists:
            missing.append(f"{self.lists}/{self.object_lists} object lists from perception")
        return ", ".join(missing)
