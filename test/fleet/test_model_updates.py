"""Models down: publish -> canary -> full rollout -> rollback across vehicles, and every refusal keeps
the current model (TUF's ngclient against a real S3 HTTP API on loopback)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from av_edge.core.diagnostics import Level, Status
from av_edge.core.update.rollout import in_slice
from av_edge.fleet.keys import generate_keys
from av_edge.fleet.repository import FleetRepository, RepositoryError, model_target_path
from av_edge.fleet.updater import ModelUpdater
from test.fleet.conftest import Fleet


def check(vehicle: ModelUpdater) -> list[Status]:
    return vehicle.check(time.time_ns())


def errors(events: list[Status]) -> str:
    return " | ".join(e.message for e in events if e.level == Level.ERROR)


def on_version(fleet: Fleet, vehicle: ModelUpdater, version: str) -> None:
    """The vehicle's ``current`` link names ``version`` and holds a package the detector loads."""
    assert vehicle.state.current == version
    assert vehicle.current_dir.resolve() == vehicle.models / version
    assert "version: " + version in (vehicle.current_dir / "manifest.yaml").read_text()


@pytest.fixture
def on_110(fleet: Fleet) -> ModelUpdater:
    """A vehicle that took 1.1.0 from a finished rollout."""
    fleet.publish("1.1.0")
    fleet.repo.rollout(fleet.name, "1.1.0", 100.0)
    fleet.upload()
    vehicle = fleet.vehicle("car-0")
    assert not errors(check(vehicle))
    on_version(fleet, vehicle, "1.1.0")
    return vehicle


def test_publish_canary_full_rollout_and_rollback_across_vehicles(fleet: Fleet) -> None:
    fleet.publish("1.1.0")
    fleet.repo.rollout(fleet.name, "1.1.0", 100.0)
    fleet.upload()
    vehicles = [fleet.vehicle(f"car-{i}") for i in range(6)]
    for vehicle in vehicles:
        assert not errors(check(vehicle))
        on_version(fleet, vehicle, "1.1.0")

    fleet.publish("1.2.0")
    canary = fleet.repo.rollout(fleet.name, "1.2.0", 50.0)
    fleet.upload()
    inside = [v for v in vehicles if in_slice(canary, v.config.vehicle_id)]
    outside = [v for v in vehicles if v not in inside]
    assert inside and outside  # six ids, a 50 % slice: both kinds (the slice is a stable hash)
    for vehicle in vehicles:
        assert not errors(check(vehicle))
    for vehicle in inside:
        on_version(fleet, vehicle, "1.2.0")
    for vehicle in outside:
        on_version(fleet, vehicle, "1.1.0")  # the baseline: the last version rolled out to everyone
        assert not (vehicle.models / "1.2.0").exists()  # not even downloaded

    full = fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    assert full.rollout_id == canary.rollout_id  # the same slice, grown: nobody inside goes back
    fleet.upload()
    for vehicle in vehicles:
        check(vehicle)
        on_version(fleet, vehicle, "1.2.0")

    fleet.repo.rollback()
    fleet.upload()
    for vehicle in vehicles:
        events = check(vehicle)
        on_version(fleet, vehicle, "1.1.0")
        assert not any("downloaded" in e.message for e in events)  # still installed: no download
    restarted = ModelUpdater(vehicles[0].config, vehicles[0].package_version)
    assert restarted.state.current == "1.1.0"  # the link is the state: a restart keeps it


def test_named_vehicles_are_always_in_the_slice(fleet: Fleet) -> None:
    fleet.publish("1.1.0")
    fleet.repo.rollout(fleet.name, "1.1.0", 0.0, vehicles=("test-car",))
    fleet.upload()
    named, other = fleet.vehicle("test-car"), fleet.vehicle("car-1")
    check(named), check(other)
    on_version(fleet, named, "1.1.0")
    assert other.state.current == "" and not other.current_dir.exists()  # keeps the shipped model


def test_a_tampered_target_is_refused_and_the_current_model_kept(fleet: Fleet, on_110: ModelUpdater) -> None:
    fleet.publish("1.2.0")
    fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    fleet.upload()
    key = fleet.object_key(model_target_path(fleet.name, "1.2.0"))
    data = bytearray(fleet.client.get_object(Bucket=fleet.bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0xFF  # same length, one byte changed: a mirror serving a modified model
    fleet.client.put_object(Bucket=fleet.bucket, Key=key, Body=bytes(data), ACL="public-read")
    refused = errors(check(on_110))
    assert "tampered" in refused and "keeping model 1.1.0" in refused
    assert on_110.status().level == Level.ERROR and "refused" in on_110.status().message
    on_version(fleet, on_110, "1.1.0")
    assert not (on_110.models / "1.2.0").exists() and not list((on_110.cache / "partial").iterdir())


def test_a_truncated_target_is_refused(fleet: Fleet, on_110: ModelUpdater) -> None:
    fleet.publish("1.2.0")
    fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    fleet.upload()
    key = fleet.object_key(model_target_path(fleet.name, "1.2.0"))
    data = fleet.client.get_object(Bucket=fleet.bucket, Key=key)["Body"].read()
    fleet.client.put_object(Bucket=fleet.bucket, Key=key, Body=data[: len(data) // 3], ACL="public-read")
    refused = errors(check(on_110))
    assert f"the signed target {len(data)}" in refused
    on_version(fleet, on_110, "1.1.0")


def test_metadata_signed_with_a_wrong_key_is_refused(fleet: Fleet, on_110: ModelUpdater) -> None:
    """Someone holding the online keys (snapshot, timestamp) but not the fleet key publishes a model."""
    stolen = fleet.tmp / "stolen-keys"
    generate_keys(stolen)
    for role in ("root", "targets", "snapshot", "timestamp"):
        shutil.copyfile(fleet.repo.keys / f"{role}.pem", stolen / f"{role}.pem")
    rogue = FleetRepository(fleet.repo.root_dir, stolen)  # its own fleet.pem: not the delegated key
    rogue.publish(fleet.package("1.2.0"), "1.2.0", "0.1.0")
    rogue.rollout(fleet.name, "1.2.0", 100.0)
    fleet.upload()
    refused = errors(check(on_110))
    assert "UnsignedMetadataError" in refused and "fleet" in refused
    on_version(fleet, on_110, "1.1.0")


def test_expired_metadata_is_refused(fleet: Fleet, on_110: ModelUpdater) -> None:
    """A mirror frozen in time: its timestamp expired (the vehicle refuses to act on stale metadata)."""
    fleet.publish("1.2.0")
    fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    fleet.repo.refresh(timestamp_expiry=timedelta(seconds=-60))
    fleet.upload()
    refused = errors(check(on_110))
    assert "ExpiredMetadataError" in refused
    on_version(fleet, on_110, "1.1.0")


def test_replayed_older_metadata_is_refused(fleet: Fleet, on_110: ModelUpdater) -> None:
    """A rollback attack: after the vehicle saw 1.2.0's rollback to 1.1.0, an attacker replays the older,
    validly signed metadata that pointed at 1.2.0."""
    fleet.publish("1.2.0")
    fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    fleet.upload()
    key = f"{fleet.bucket}", "fleet/metadata/timestamp.json"
    old = fleet.client.get_object(Bucket=key[0], Key=key[1])["Body"].read()
    check(on_110)
    on_version(fleet, on_110, "1.2.0")
    fleet.repo.rollback()
    fleet.upload()
    check(on_110)
    on_version(fleet, on_110, "1.1.0")
    fleet.client.put_object(Bucket=key[0], Key=key[1], Body=old, ACL="public-read")
    refused = errors(check(on_110))
    assert "BadVersionNumberError" in refused
    on_version(fleet, on_110, "1.1.0")


def test_a_model_whose_onnx_does_not_match_its_manifest_is_refused(
    fleet: Fleet, on_110: ModelUpdater, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = fleet.package("1.2.0", input_width=320)  # the graph takes 640 wide
    with pytest.raises(RepositoryError, match="input shape"):
        fleet.repo.publish(wrong, "1.2.0", "0.1.0")  # the publisher checks first ...
    monkeypatch.setattr("av_edge.fleet.repository.verify_package", lambda path: [])
    fleet.repo.publish(wrong, "1.2.0", "0.1.0")  # ... and a vehicle does not rely on it
    fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    fleet.upload()
    refused = errors(check(on_110))
    assert "input shape" in refused
    on_version(fleet, on_110, "1.1.0")
    assert not (on_110.models / "1.2.0").exists()


def test_a_model_needing_a_newer_package_is_refused(fleet: Fleet, on_110: ModelUpdater) -> None:
    fleet.repo.publish(fleet.package("1.2.0"), "1.2.0", "9.0.0")
    fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    fleet.upload()
    assert "needs av_edge >= 9.0.0" in errors(check(on_110))
    on_version(fleet, on_110, "1.1.0")


def test_offline_the_vehicle_keeps_its_model(fleet: Fleet, on_110: ModelUpdater) -> None:
    offline = fleet.vehicle("car-0", repository_url="http://127.0.0.1:9/fleet", timeout_s=0.5)
    events = check(offline)
    assert [e.level for e in events] == [Level.WARN] and "unreachable" in events[0].message
    assert offline.status().level == Level.WARN
    on_version(fleet, offline, "1.1.0")
    assert check(offline) == []  # told once, not on every poll


def test_the_publisher_refuses_republishing_and_going_backwards(fleet: Fleet) -> None:
    fleet.publish("1.1.0")
    with pytest.raises(RepositoryError, match="already published"):
        fleet.repo.publish(fleet.package("1.1.0"), "1.1.0", "0.1.0")
    with pytest.raises(RepositoryError, match="not above the newest"):
        fleet.repo.publish(fleet.package("1.0.5"), "1.0.5", "0.1.0")
    with pytest.raises(RepositoryError, match="manifest version"):
        fleet.repo.publish(fleet.package("1.3.0"), "1.4.0", "0.1.0")
    with pytest.raises(RepositoryError, match="not published"):
        fleet.repo.rollout(fleet.name, "2.0.0", 10.0)
    with pytest.raises(RepositoryError, match="no rollout with an earlier baseline"):
        fleet.repo.rollback()


def test_old_versions_beyond_keep_versions_are_pruned(fleet: Fleet) -> None:
    vehicle = fleet.vehicle("car-0", keep_versions=2)
    for version in ("1.1.0", "1.2.0", "1.3.0"):
        fleet.publish(version)
        fleet.repo.rollout(fleet.name, version, 100.0)
        fleet.upload()
        check(vehicle)
    on_version(fleet, vehicle, "1.3.0")
    assert sorted(p.name for p in vehicle.models.iterdir() if not p.is_symlink()) == ["1.2.0", "1.3.0"]


def test_uploaded_layout_is_what_the_vehicle_reads(fleet: Fleet) -> None:
    fleet.publish("1.1.0")
    fleet.upload()
    keys = {o["Key"] for o in fleet.client.list_objects_v2(Bucket=fleet.bucket)["Contents"]}
    assert {"fleet/metadata/1.root.json", "fleet/metadata/timestamp.json"} <= keys
    assert "fleet/metadata/root.json" not in keys  # the workspace's own copies stay home
    assert any(k.startswith("fleet/targets/models/") and k.endswith(".1.1.0.tar") for k in keys)
    assert Path(fleet.repo.metadata_dir / "1.root.json").is_file()


def test_a_download_killed_with_sigkill_resumes(fleet: Fleet, tmp_path: Path) -> None:
    fleet.publish("1.1.0")
    fleet.repo.rollout(fleet.name, "1.1.0", 100.0)
    fleet.upload()
    vehicle = fleet.vehicle("car-0")
    length = fleet.client.head_object(
        Bucket=fleet.bucket, Key=fleet.object_key(model_target_path(fleet.name, "1.1.0"))
    )["ContentLength"]

    def run(bandwidth_mbit_s: float) -> subprocess.Popen[str]:
        params = dataclasses.asdict(vehicle.config)
        params.update(bandwidth_mbit_s=bandwidth_mbit_s, chunk_kib=16)
        path = tmp_path / f"updater-{bandwidth_mbit_s}.yaml"
        path.write_text(yaml.safe_dump({"model_updater_node": {"ros__parameters": params}}))
        command = [sys.executable, "-m", "av_edge.cli", "model-update", "--params-file", str(path), "--once"]
        return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=dict(os.environ))

    slow = run(1.0)  # 125 kB/s: several seconds for the package
    partial_dir = vehicle.cache / "partial"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        parts = list(partial_dir.glob("*.part")) if partial_dir.is_dir() else []
        if parts and parts[0].stat().st_size >= length // 4:
            break
        assert slow.poll() is None, slow.communicate()[1]
        time.sleep(0.05)
    slow.send_signal(signal.SIGKILL)
    slow.wait(10)
    kept = parts[0].stat().st_size
    assert length // 4 <= kept < length

    fast = run(0.0)
    _, log = fast.communicate(timeout=120)
    assert fast.returncode == 0, log
    assert f"resumed from {kept}" in log and f"downloaded {length - kept} bytes" in log, log
    on_version(fleet, ModelUpdater(vehicle.config, vehicle.package_version), "1.1.0")


def test_publishing_and_rolling_out_need_no_offline_key(fleet: Fleet, on_110: ModelUpdater) -> None:
    """root and targets sign only at creation (and key rotation): with their PEMs gone (moved to
    offline media), publish, rollout, rollback and refresh still work and vehicles still verify."""
    for role in ("root", "targets"):
        (fleet.repo.keys / f"{role}.pem").unlink()
    fleet.publish("1.2.0")
    fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    fleet.repo.refresh()
    fleet.upload()
    assert not errors(check(on_110))
    on_version(fleet, on_110, "1.2.0")


@pytest.mark.parametrize("role", ["root", "targets", "fleet", "timestamp"])
def test_a_rotated_key_is_followed_by_vehicles_and_the_retired_one_refused(
    fleet: Fleet, on_110: ModelUpdater, role: str
) -> None:
    fleet.repo.rotate(role)
    fleet.publish("1.2.0")
    fleet.repo.rollout(fleet.name, "1.2.0", 100.0)
    fleet.upload()
    assert not errors(check(on_110))  # it trusts 1.root.json and walks the chain to the new keys
    on_version(fleet, on_110, "1.2.0")

    retired = fleet.tmp / "retired-keys"  # an attacker with the retired key (and the online ones)
    shutil.copytree(fleet.repo.keys, retired)
    (retired / f"{role}.pem").unlink()
    (retired / f"{role}.pem.retired").rename(retired / f"{role}.pem")
    if role in ("fleet", "timestamp"):
        rogue = FleetRepository(fleet.repo.root_dir, retired)
        rogue.publish(fleet.package("1.3.0"), "1.3.0", "0.1.0")
        rogue.rollout(fleet.name, "1.3.0", 100.0)
        fleet.upload()
        assert "UnsignedMetadataError" in errors(check(on_110))
        on_version(fleet, on_110, "1.2.0")
