"""The updater's loop: a check per period (with jitter), exponential backoff with jitter after failures."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

from av_edge.core.config import build_config, load_params_file
from av_edge.core.diagnostics import Level, Status
from av_edge.core.pacing import backoff_s
from av_edge.core.update.config import UpdaterConfig
from av_edge.fleet.download import StopDownload
from av_edge.fleet.updater import ModelUpdater

NODE_NAME = "model_updater_node"


def load(params_file: Path) -> UpdaterConfig:
    return build_config(UpdaterConfig, load_params_file(params_file, NODE_NAME), where=str(params_file))


def next_wait_s(config: UpdaterConfig, failures: int, uniform: float) -> float:
    """Seconds to the next check: the period stretched by up to ``poll_jitter``, or a backoff after failures."""
    if failures:
        return max(config.retry_base_s / 2, backoff_s(failures - 1, config.retry_base_s, config.retry_cap_s, uniform))
    return config.poll_period_s * (1.0 + config.poll_jitter * uniform)


def serve(
    updater: ModelUpdater,
    stop: threading.Event,
    emit: Callable[[list[Status]], None],
    once: bool = False,
    rng: random.Random | None = None,
    wall_ns: Callable[[], int] = time.time_ns,
) -> bool:
    """Check until ``stop`` (or once); False when the last check failed or refused something."""
    rng = rng or random.Random()
    failures = 0
    while not stop.is_set():
        try:
            events = updater.check(wall_ns())
        except StopDownload:
            return False
        emit(events)
        ok = updater.state.link_up and not any(e.level >= Level.ERROR for e in events)
        failures = 0 if ok else failures + 1
        if once:
            return ok
        stop.wait(next_wait_s(updater.config, failures, rng.random()))
    return failures == 0
