"""The fleet's TUF repository (cloud side): model packages and rollouts as signed targets.

Layout (a local workspace, mirrored to ``s3://<bucket>/<prefix>/`` by :func:`upload`)::

    metadata/N.root.json  timestamp.json  N.snapshot.json  N.targets.json  N.fleet.json
    targets/models/<name>/<sha256>.<version>.tar   targets/<sha256>.rollout.json

Consistent snapshots: every file but ``timestamp.json`` is immutable once written, so a vehicle
reading while an operator publishes sees one whole version or the previous one. ``targets`` (offline
key) delegates ``models/*/*`` and ``rollout.json`` to the ``fleet`` role, so publishing and rolling out
never need the offline keys.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from av_edge.core.detection.manifest import MANIFEST_FILE, MODEL_FILE, ModelPackageError, load_package
from av_edge.core.errors import AvEdgeError
from av_edge.core.update.rollout import ROLLOUT_TARGET, Rollout, parse_rollout, version_key
from av_edge.detection.verify import verify_package
from av_edge.fleet.keys import ROLES, load_signer, new_key

FLEET_ROLE = "fleet"
#: How long each role's signature stays valid: the offline roles rarely change; ``timestamp`` is
#: re-signed by ``av-edge fleet refresh`` (cron) and bounds how long a frozen mirror can go unnoticed.
EXPIRY = {
    "root": timedelta(days=365),
    "targets": timedelta(days=365),
    FLEET_ROLE: timedelta(days=90),
    "snapshot": timedelta(days=7),
    "timestamp": timedelta(days=1),
}


class RepositoryError(AvEdgeError):
    """A publish or rollout the repository refuses (with the reason)."""


@dataclass(frozen=True)
class ModelTarget:
    path: str
    name: str
    version: str
    length: int


def model_target_path(name: str, version: str) -> str:
    return f"models/{name}/{version}.tar"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class FleetRepository:
    """Create, publish to and roll out from the workspace at ``root_dir`` with the keys in ``keys``."""

    def __init__(self, root_dir: Path, keys: Path) -> None:
        self.root_dir = root_dir
        self.keys = keys
        self.metadata_dir = root_dir / "metadata"
        self.targets_dir = root_dir / "targets"

    # -- creation -----------------------------------------------------------------------------------
    def create(self) -> None:
        """A new repository: root v1 (consistent snapshots), targets delegating to ``fleet``, empty fleet."""
        if (self.metadata_dir / "timestamp.json").exists():
            raise RepositoryError(f"{self.root_dir} already holds a repository")
        signers = {role: load_signer(self.keys, role) for role in ("root", "targets", FLEET_ROLE)}
        root = Root(expires=_now() + EXPIRY["root"], consistent_snapshot=True)
        for role in ("root", "targets", "snapshot", "timestamp"):
            root.add_key(load_signer(self.keys, role).public_key, role)
        fleet_key = signers[FLEET_ROLE].public_key
        delegated = DelegatedRole(FLEET_ROLE, [fleet_key.keyid], 1, True, paths=["models/*/*", ROLLOUT_TARGET])
        targets = Targets(
            expires=_now() + EXPIRY["targets"],
            delegations=Delegations({fleet_key.keyid: fleet_key}, roles={FLEET_ROLE: delegated}),
        )
        self._write(Metadata(root), "root")
        self._write(Metadata(targets), "targets")
        self._write(Metadata(Targets(expires=_now() + EXPIRY[FLEET_ROLE])), FLEET_ROLE)
        self._commit(new_roles=("targets", FLEET_ROLE), snapshot=Metadata(Snapshot()))

    # -- publishing -----------------------------------------------------------------------------------
    def publish(self, package_dir: Path, version: str, min_package_version: str) -> ModelTarget:
        """Add the sealed package at ``package_dir`` as ``models/<name>/<version>.tar``.

        Refused: a package whose sha256 or ONNX inputs/outputs contradict its manifest, a manifest
        version other than ``version``, a version already published, a version not above the newest."""
        version_key(version)
        version_key(min_package_version)
        try:
            package = load_package(package_dir)
            problems = verify_package(package_dir)
        except ModelPackageError as err:
            raise RepositoryError(str(err)) from None
        if problems:
            raise RepositoryError(f"{package_dir}: " + "; ".join(problems))
        manifest = package.manifest
        if manifest.version != version:
            raise RepositoryError(f"{package_dir}: manifest version {manifest.version}, publishing as {version}")
        fleet = self._load(FLEET_ROLE)
        published = [t for t in self.models(manifest.name)]
        if any(t.version == version for t in published):
            raise RepositoryError(f"{manifest.name} {version} is already published; versions are immutable")
        newest = max((t.version for t in published), key=version_key, default=None)
        if newest is not None and version_key(version) <= version_key(newest):
            raise RepositoryError(f"{manifest.name} {version} is not above the newest published ({newest})")
        data = _tar(package_dir)
        path = model_target_path(manifest.name, version)
        target = TargetFile.from_data(path, data, ["sha256"])
        target.unrecognized_fields["custom"] = {
            "model": manifest.name,
            "version": version,
            "input": [manifest.input_width, manifest.input_height],
            "classes": list(manifest.class_names),
            "onnx_sha256": manifest.sha256,
            "min_package_version": min_package_version,
        }
        self._store_target(target, data)
        fleet.signed.targets[path] = target
        self._write(fleet, FLEET_ROLE)
        self._commit(new_roles=(FLEET_ROLE,))
        return ModelTarget(path, manifest.name, version, len(data))

    def models(self, name: str) -> list[ModelTarget]:
        return [t for t in self.models_all() if t.name == name]

    def models_all(self) -> list[ModelTarget]:
        fleet = self._load(FLEET_ROLE).signed
        return [
            ModelTarget(path, t.custom["model"], t.custom["version"], t.length)
            for path, t in fleet.targets.items()
            if path.startswith("models/")
        ]

    # -- rollouts -------------------------------------------------------------------------------------
    def rollout(
        self,
        name: str,
        version: str,
        percent: float,
        vehicles: tuple[str, ...] = (),
        valid_days: float = 30.0,
    ) -> Rollout:
        """Point ``percent`` of the fleet (plus ``vehicles``) at ``version``; the rest stays on the baseline:
        the last version rolled out to 100 %. Raising the percentage of the running rollout keeps its
        slice (same rollout id), so a vehicle already on the new version never goes back."""
        if version not in {t.version for t in self.models(name)}:
            raise RepositoryError(f"{name} {version} is not published (av-edge fleet publish first)")
        if not 0.0 <= percent <= 100.0:
            raise RepositoryError(f"percent {percent} is not within 0..100")
        current = self.current_rollout()
        if current is not None and current.model == name and current.target == version:
            rollout_id, baseline = current.rollout_id, current.baseline
            vehicles = tuple(sorted(set(current.vehicles) | set(vehicles)))
        else:
            baseline = ""
            if current is not None and current.model == name:
                baseline = current.target if current.percent >= 100.0 else current.baseline
            rollout_id = f"{name}-{version}-{self._load('snapshot').signed.version + 1}"
        return self._set_rollout(
            Rollout(name, version, baseline, percent, rollout_id, _expiry_ns(valid_days), vehicles)
        )

    def rollback(self, valid_days: float = 30.0) -> Rollout:
        """Everyone back on the running rollout's baseline (refused when it has none)."""
        current = self.current_rollout()
        if current is None or not current.baseline or current.baseline == current.target:
            raise RepositoryError("no rollout with an earlier baseline to go back to")
        back = current.baseline
        rollout_id = f"{current.model}-{back}-rollback-{self._load('snapshot').signed.version + 1}"
        return self._set_rollout(Rollout(current.model, back, back, 100.0, rollout_id, _expiry_ns(valid_days)))

    def current_rollout(self) -> Rollout | None:
        target = self._load(FLEET_ROLE).signed.targets.get(ROLLOUT_TARGET)
        if target is None:
            return None
        return parse_rollout(self._target_file(target).read_bytes())

    def _set_rollout(self, rollout: Rollout) -> Rollout:
        fleet = self._load(FLEET_ROLE)
        data = rollout.to_json()
        target = TargetFile.from_data(ROLLOUT_TARGET, data, ["sha256"])
        self._store_target(target, data)
        fleet.signed.targets[ROLLOUT_TARGET] = target
        self._write(fleet, FLEET_ROLE)
        self._commit(new_roles=(FLEET_ROLE,))
        return rollout

    # -- key rotation ---------------------------------------------------------------------------------
    def rotate(self, role: str) -> None:
        """Replace ``role``'s key (a compromised or expiring one): root names the new key in a new
        version signed by the current root key (and, for root, the new one too), so vehicles follow
        the chain from the root they trust; what the role signs is re-signed. The old PEM is kept as
        ``<role>.pem.retired``. Needs the root key (the targets key for ``fleet``)."""
        if role not in ROLES:
            raise RepositoryError(f"unknown role '{role}' (one of {', '.join(ROLES)})")
        old = load_signer(self.keys, role)
        staged = self.keys / f"{role}.pem.new"
        staged.unlink(missing_ok=True)
        signer = new_key(staged)
        if role == FLEET_ROLE:
            targets = self._load("targets")
            targets.signed.revoke_key(old.public_key.keyid, FLEET_ROLE)
            targets.signed.add_key(signer.public_key, FLEET_ROLE)
            self._retire(role, staged)
            self._write(targets, "targets")
            self._write(self._load(FLEET_ROLE), FLEET_ROLE)
            self._commit(new_roles=("targets", FLEET_ROLE))
            return
        root = self._load("root")
        root.signed.revoke_key(old.public_key.keyid, role)
        root.signed.add_key(signer.public_key, role)
        root.signed.version += 1
        root.signed.expires = _now() + EXPIRY["root"]
        root.signatures.clear()
        root_signer = old if role == "root" else load_signer(self.keys, "root")
        root.sign(root_signer, append=True)  # the version vehicles trust vouches for the new one ...
        if role == "root":
            root.sign(signer, append=True)  # ... and the new root key signs it too
        data = root.to_bytes(JSONSerializer(compact=False))
        _write_new(self.metadata_dir / f"{root.signed.version}.root.json", data)
        (self.metadata_dir / "root.json").write_bytes(data)
        self._retire(role, staged)
        if role == "targets":
            self._write(self._load("targets"), "targets")
            self._commit(new_roles=("targets",))
        else:
            self._commit(new_roles=())  # snapshot and timestamp re-signed with their (new) keys

    def _retire(self, role: str, staged: Path) -> None:
        current = self.keys / f"{role}.pem"
        current.replace(self.keys / f"{role}.pem.retired")
        staged.replace(current)

    # -- freshness ------------------------------------------------------------------------------------
    def refresh(self, timestamp_expiry: timedelta = EXPIRY["timestamp"]) -> None:
        """Re-sign snapshot and timestamp with new expiry (online keys; run from cron well inside a day)."""
        self._commit(new_roles=(), timestamp_expiry=timestamp_expiry)

    def _commit(
        self,
        new_roles: tuple[str, ...],
        timestamp_expiry: timedelta = EXPIRY["timestamp"],
        snapshot: Metadata[Snapshot] | None = None,
    ) -> None:
        """A new snapshot naming the roles' latest versions, then a new timestamp naming it."""
        snapshot = snapshot or self._load("snapshot")
        for role in new_roles:
            snapshot.signed.meta[f"{role}.json"] = MetaFile(self._load(role).signed.version)
        self._write(snapshot, "snapshot")
        exists = (self.metadata_dir / "timestamp.json").exists()
        timestamp = self._load("timestamp") if exists else Metadata(Timestamp())
        timestamp.signed.snapshot_meta = MetaFile(snapshot.signed.version)
        self._write(timestamp, "timestamp", expires=timestamp_expiry)

    # -- files ----------------------------------------------------------------------------------------
    def _load(self, role: str) -> Metadata[Any]:
        return Metadata.from_file(str(self.metadata_dir / f"{role}.json"))

    def _write(self, metadata: Metadata[Any], role: str, expires: timedelta | None = None) -> None:
        """Sign and write ``<version>.<role>.json`` (and ``<role>.json``, the workspace's latest); a role
        already in the workspace goes up one version."""
        if (self.metadata_dir / f"{role}.json").exists():
            metadata.signed.version += 1
        metadata.signed.expires = _now() + (expires or EXPIRY[role])
        metadata.signatures.clear()
        metadata.sign(load_signer(self.keys, role))
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        data = metadata.to_bytes(JSONSerializer(compact=False))
        if role != "timestamp":
            _write_new(self.metadata_dir / f"{metadata.signed.version}.{role}.json", data)
        (self.metadata_dir / f"{role}.json").write_bytes(data)

    def _store_target(self, target: TargetFile, data: bytes) -> None:
        path = self._target_file(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_new(path, data)

    def _target_file(self, target: TargetFile) -> Path:
        return self.targets_dir / target.get_prefixed_paths()[0]


def _write_new(path: Path, data: bytes) -> None:
    """Published files are immutable: the same bytes again is fine, other bytes are refused."""
    if path.exists() and path.read_bytes() != data:
        raise RepositoryError(f"{path} exists with other contents; published files never change")
    path.write_bytes(data)


def _tar(package_dir: Path) -> bytes:
    """The package as a reproducible tar (fixed order, mtime, owner): the same package, the same hash."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in (MANIFEST_FILE, MODEL_FILE):
            data = (package_dir / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _expiry_ns(valid_days: float) -> int:
    return int((_now() + timedelta(days=valid_days)).timestamp() * 1e9)


def upload(root_dir: Path, client: Any, bucket: str, prefix: str, acl: str = "public-read") -> int:
    """Mirror the workspace to ``s3://bucket/prefix/``: immutable files once, ``timestamp.json`` last
    (a vehicle never sees a timestamp naming a snapshot not yet uploaded). Returns files uploaded."""
    existing: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        existing.update(item["Key"] for item in page.get("Contents", ()))
    latest = {root_dir / "metadata" / f"{role}.json" for role in ROLES}  # the workspace's own copies
    files = sorted(p for p in root_dir.rglob("*") if p.is_file() and p not in latest)
    count = 0
    for path in [*files, root_dir / "metadata" / "timestamp.json"]:
        key = f"{prefix}/{path.relative_to(root_dir).as_posix()}"
        if key in existing and path.name != "timestamp.json":
            continue
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ACL=acl)
        count += 1
    return count


def describe(root_dir: Path) -> dict[str, Any]:
    """Versions of the workspace's metadata (for ``av-edge fleet status``)."""
    out = {}
    for role in ROLES:
        document = json.loads((root_dir / "metadata" / f"{role}.json").read_bytes())["signed"]
        out[role] = {"version": document["version"], "expires": document["expires"]}
    return out
