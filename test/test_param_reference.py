"""docs/parameters.md is generated from the schemas: it must be current, and complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from av_edge.core.config import parameter_specs
from av_edge.core.vehicle import load_node_params
from av_edge.param_reference import NODES, reference
from av_edge.paths import config_file

DOC = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"


def test_the_committed_reference_is_current() -> None:
    assert DOC.read_text() == reference(), "docs/parameters.md is stale: run `av-edge params-doc`"


@pytest.mark.parametrize(("node", "file", "schema"), NODES)
def test_every_parameter_has_a_description_and_every_shipped_key_a_row(node: str, file: str, schema: type) -> None:
    found = list(parameter_specs(schema))
    assert [p.name for p in found if not p.doc.strip()] == []
    numeric = [p.name for p in found if p.kind in ("float", "int") and (p.minimum is None or p.maximum is None)]
    assert numeric == []  # every number has a range
    assert {p.name for p in found} == set(load_node_params(config_file(file), node))
