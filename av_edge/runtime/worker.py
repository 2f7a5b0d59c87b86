"""One background worker thread whose every result is read.

A ``ThreadPoolExecutor`` future nobody reads swallows its exception: camera detection could stop
every batch and say nothing. :class:`Worker` runs one job at a time and hands every exception to
``on_error`` on the worker thread (so it must be thread-safe) before the job counts as done; the
owner logs and counts it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Worker:
    def __init__(
        self,
        name: str,
        on_error: Callable[[BaseException], None],
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name, initializer=initializer, initargs=initargs
        )
        self._on_error = on_error
        self._future: Future[None] | None = None

    @property
    def busy(self) -> bool:
        return self._future is not None and not self._future.done()

    def submit(self, job: Callable[[], object]) -> bool:
        """Start ``job`` unless the previous one is still running; True when started."""
        if self.busy:
            return False
        self._future = self._pool.submit(self._run, job)
        return True

    def wait(self, timeout_s: float | None = None) -> None:
        """Until the current job is done (its exception, if any, already went to ``on_error``)."""
        if self._future is not None:
            self._future.result(timeout_s)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception as error:  # every failure of the job goes to its owner; nothing stays in the future
            self._on_error(error)
