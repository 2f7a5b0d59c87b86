"""The configuration of everything a closed-loop run needs, read from the params files in config/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from av_edge.core.aeb import AebConfig
from av_edge.core.config import build_config
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.planning.node_config import PlannerNodeConfig
from av_edge.core.vehicle import load_node_params
from av_edge.paths import config_file
from av_edge.sim.simulation import SimConfig


@dataclass(frozen=True)
class StackConfig:
    sim: SimConfig
    lidar_frame: str
    aeb: AebConfig
    perception: PerceptionNodeConfig
    planner: PlannerNodeConfig

    @classmethod
    def load(cls, config_dir: Path | None = None) -> StackConfig:
        def params(node: str) -> dict[str, object]:
            path = (config_dir / f"{node}.params.yaml") if config_dir else config_file(f"{node}.params.yaml")
            return load_node_params(path, f"{node}_node")

        sim = params("simulator")
        return cls(
            sim=build_config(SimConfig, {k.removeprefix("sim."): v for k, v in sim.items() if k.startswith("sim.")}),
            lidar_frame=str(sim["lidar_frame"]),
            aeb=build_config(AebConfig, params("aeb")),
            perception=build_config(PerceptionNodeConfig, params("perception")),
            planner=build_config(PlannerNodeConfig, params("planner")),
        )
