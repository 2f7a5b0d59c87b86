from pathlib import Path

import pytest

from av_edge.core.config import build_config, load_params_file
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.perception.pipeline import PerceptionConfig

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def perception_config() -> PerceptionConfig:
    params = load_params_file(ROOT / "config/perception.params.yaml", "perception_node")
    return build_config(PerceptionNodeConfig, params).pipeline
