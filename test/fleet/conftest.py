"""A fleet repository on a real S3 HTTP API (moto_server on loopback) and vehicles that update from it."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("moto") is None or importlib.util.find_spec("tuf") is None:
    pytest.skip("moto[server] and tuf are not installed (make test installs them)", allow_module_level=True)

from av_edge.clips.local_s3 import MotoServer
from av_edge.core.config import build_config, load_params_file
from av_edge.core.detection.manifest import ModelManifest, load_package, write_package
from av_edge.core.update.config import UpdaterConfig
from av_edge.fleet.keys import generate_keys
from av_edge.fleet.repository import FleetRepository, upload
from av_edge.fleet.updater import ModelUpdater
from av_edge.paths import config_file
from test.clips import conftest as clips_conftest

s3_server = clips_conftest.s3_server  # one moto server per session, shared with the clip tests
PREFIX = "fleet"
PACKAGE_VERSION = "0.1.0"
SHIPPED = Path(__file__).resolve().parents[2] / "av_edge" / "models" / "sim_detector"


@dataclasses.dataclass
class Fleet:
    """The operator's side (repository workspace, keys, bucket) and helpers to make packages and vehicles."""

    tmp: Path
    server: MotoServer
    bucket: str
    repo: FleetRepository
    name: str

    @property
    def client(self) -> Any:
        return self.server.client()

    @property
    def url(self) -> str:
        return f"{self.server.endpoint}/{self.bucket}/{PREFIX}"

    def package(self, version: str, **changes: Any) -> Path:
        """The shipped detector as ``version`` (manifest fields changed by ``changes``), sealed."""
        shipped = load_package(SHIPPED)
        manifest: ModelManifest = dataclasses.replace(shipped.manifest, version=version, **changes)
        path = self.tmp / "packages" / f"{version}-{len(changes)}"
        write_package(path, manifest, shipped.onnx_bytes)
        return path

    def publish(self, version: str) -> None:
        self.repo.publish(self.package(version), version, PACKAGE_VERSION)

    def upload(self) -> None:
        upload(self.repo.root_dir, self.client, self.bucket, PREFIX)

    def vehicle(self, vehicle_id: str, **overrides: Any) -> ModelUpdater:
        params = load_params_file(config_file("model_updater.params.yaml"), "model_updater_node")
        params.update(
            vehicle_id=vehicle_id,
            model_name=self.name,
            repository_url=self.url,
            trust_root=str(self.repo.metadata_dir / "1.root.json"),
            cache_directory=str(self.tmp / "vehicles" / vehicle_id),
            bandwidth_mbit_s=0.0,
            chunk_kib=256,
            timeout_s=5.0,
            promotion="direct",  # the updater alone; test_shadow.py runs the perception side too
        )
        params.update(overrides)
        return ModelUpdater(build_config(UpdaterConfig, params), PACKAGE_VERSION)

    def object_key(self, target_path: str) -> str:
        """The S3 key of a published target (its hash-prefixed file)."""
        fleet = self.repo._load("fleet").signed
        return f"{PREFIX}/targets/{fleet.targets[target_path].get_prefixed_paths()[0]}"


@pytest.fixture
def fleet(tmp_path: Path, s3_server: MotoServer, request: pytest.FixtureRequest) -> Fleet:
    bucket = f"models-{abs(hash(request.node.nodeid)) % 10**8}"
    s3_server.client().create_bucket(Bucket=bucket)
    generate_keys(tmp_path / "keys")
    repo = FleetRepository(tmp_path / "repo", tmp_path / "keys")
    repo.create()
    return Fleet(tmp_path, s3_server, bucket, repo, load_package(SHIPPED).manifest.name)
