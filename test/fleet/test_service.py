"""The updater's poll schedule: spread across a fleet, backing off while the repository is down."""

from __future__ import annotations

import random

import pytest

from av_edge.core.config import build_config, load_params_file
from av_edge.core.update.config import UpdaterConfig
from av_edge.fleet.service import next_wait_s
from av_edge.paths import config_file


def test_polls_spread_and_back_off() -> None:
    params = load_params_file(config_file("model_updater.params.yaml"), "model_updater_node")
    config = build_config(UpdaterConfig, params)
    rng = random.Random(1)
    waits = [next_wait_s(config, 0, rng.random()) for _ in range(200)]
    assert config.poll_period_s <= min(waits) and max(waits) <= config.poll_period_s * (1 + config.poll_jitter)
    assert max(waits) - min(waits) > config.poll_period_s * config.poll_jitter / 2  # spread, not lock-step
    backoff = [next_wait_s(config, n, 0.999) for n in range(1, 12)]
    assert backoff == sorted(backoff) and backoff[-1] == pytest.approx(config.retry_cap_s, rel=0.01)
    assert min(next_wait_s(config, 1, 0.0), next_wait_s(config, 5, 0.0)) >= config.retry_base_s / 2
