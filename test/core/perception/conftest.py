from pathlib import Path

import pytest

from av_edge.core.config import build_config
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.perception.pipeline import PerceptionConfig
from av_edge.core.vehicle import load_node_params

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def perception_config() -> PerceptionConfig:
    params = load_node_params(ROOT / "config/perception.params.yaml", "perception_node")
    return build_config(PerceptionNodeConfig, params).pipeline
