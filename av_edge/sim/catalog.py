"""Where scenarios come from: ``config/scenarios`` (or another directory) for a given vehicle."""

from __future__ import annotations

from pathlib import Path

from av_edge.core.errors import ConfigError
from av_edge.sim.scenario import EgoGeometry, Scenario, load_catalog
from av_edge.sim.simulation import SimConfig


def ego_geometry(config: SimConfig) -> EgoGeometry:
    return EgoGeometry(config.vehicle.front_overhang_m, config.vehicle.width_m)


def find_scenario(directory: Path, name: str, config: SimConfig) -> Scenario:
    catalog = {s.name: s for s in load_catalog(directory, ego_geometry(config))}
    if name not in catalog:
        prefix = name.split("_", maxsplit=1)[0]
        close = sorted(n for n in catalog if n.startswith(prefix))[:8]
        raise ConfigError(f"no scenario '{name}' in {directory} (similar: {close})")
    return catalog[name]
