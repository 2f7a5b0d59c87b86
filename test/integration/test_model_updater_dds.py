"""model_updater_node in its own process: it verifies a rollout from a TUF repository on moto's S3,
downloads and installs the package, offers it as the candidate, and says each step on
/av_edge/events and its state on /diagnostics, over real Fast DDS."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from av_edge.core.detection.manifest import load_package, write_package
from av_edge.core.update.cache import CANDIDATE, ModelCache
from av_edge.detection.detector import resolve_package
from av_edge.fleet.keys import generate_keys
from av_edge.fleet.repository import FleetRepository, upload
from av_edge.ros.messages import statuses
from av_edge.ros.probe import VehicleProbe
from test.clips import conftest as clips_conftest
from test.integration.conftest import _node

pytest.importorskip("tuf", reason="python-tuf is not installed (make test installs it)")
s3_server = clips_conftest.s3_server


def test_the_node_offers_a_verified_rollout_and_reports_it(s3_server, dds_domain, tmp_path: Path) -> None:
    client = s3_server.client()
    client.create_bucket(Bucket="models-dds")
    generate_keys(tmp_path / "keys")
    repo = FleetRepository(tmp_path / "repo", tmp_path / "keys")
    repo.create()
    shipped = load_package(resolve_package("sim_detector"))
    write_package(tmp_path / "pkg", dataclasses.replace(shipped.manifest, version="9.0.0"), shipped.onnx_bytes)
    repo.publish(tmp_path / "pkg", "9.0.0", "0.0.1")
    repo.rollout(shipped.manifest.name, "9.0.0", 100.0)
    upload(repo.root_dir, client, "models-dds", "fleet")
    cache = tmp_path / "updates"
    params = (
        f"repository_url:={s3_server.endpoint}/models-dds/fleet",
        f"trust_root:={repo.metadata_dir / '1.root.json'}",
        f"cache_directory:={cache}",
        f"model_name:={shipped.manifest.name}",
        "chunk_kib:=64",
    )
    probe = VehicleProbe(dds_domain, "updater_probe", record_objects=False)
    node = _node("model_updater_node", dds_domain, tmp_path, params)
    process = next(node)
    try:
        deadline = time.monotonic() + 60
        messages: list[str] = []
        while time.monotonic() < deadline and not any("offered for shadow evaluation" in m for m in messages):
            time.sleep(0.2)
            messages = [s.message for _, msg in list(probe.events) for s in statuses(msg)]
        assert any("downloaded, signature, hashes and ONNX inputs/outputs verified" in m for m in messages), messages
        assert any("9.0.0 offered for shadow evaluation" in m for m in messages), messages
        assert ModelCache(cache / "models" / shipped.manifest.name).pointer(CANDIDATE) == "9.0.0"
        deadline = time.monotonic() + 10
        values = None
        while time.monotonic() < deadline and not (values and values.get("candidate") == "9.0.0"):
            time.sleep(0.2)
            values = probe.latest_diagnostic_values("av_edge: model_updater")
        assert values is not None and values["wanted"] == "9.0.0" and values["link_up"] == "True", values
        assert process.poll() is None  # still running
    finally:
        probe.close()
        next(node, None)  # stops it, prints its log
    assert process.returncode == 0
