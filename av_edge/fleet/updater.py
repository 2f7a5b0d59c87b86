"""The vehicle's model updater: signed rollout in, verified model package out, current model kept otherwise.

One :meth:`ModelUpdater.check` is one poll: TUF refresh (signatures, expiry, version rollback and
freeze protection: python-tuf's ngclient), the signed rollout, the version this vehicle should run,
a resumable download verified against the signed length and hashes, the package's own sha256 and
ONNX inputs/outputs against its manifest, and an atomic switch of the ``current`` link. Whatever
fails, the vehicle keeps the model it has and the failure is an event; offline it keeps it forever.

Cache (``cache_directory``)::

    tuf/            trusted metadata (root.json from ``trust_root`` on first start)
    rollout/        the last verified rollout.json
    partial/        <sha256>.part: downloads in progress (resume after a restart)
    models/<name>/  installed versions and the current/candidate links (:mod:`av_edge.core.update.cache`)

With ``promotion: shadow`` a new version becomes the ``candidate``; the perception node evaluates it
beside the live model and promotes it (or rejects it, and it is never offered again). With ``direct``
it becomes ``current`` at once, loaded at the perception node's next start.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import urllib3
from tuf.api import exceptions as tuf_errors
from tuf.ngclient import TargetFile, Updater, Urllib3Fetcher

from av_edge.core.detection.manifest import MANIFEST_FILE, MODEL_FILE, ModelPackageError
from av_edge.core.diagnostics import Level, Status
from av_edge.core.pacing import TokenBucket
from av_edge.core.update.cache import CANDIDATE, CURRENT, ModelCache
from av_edge.core.update.config import UpdaterConfig
from av_edge.core.update.rollout import ROLLOUT_TARGET, RolloutError, parse_rollout, version_key, wanted_version
from av_edge.detection.verify import verify_package
from av_edge.fleet.download import DownloadError, Fetched, RangedDownload
from av_edge.fleet.repository import model_target_path

EVENT = "av_edge: model_update"


@dataclass
class UpdaterState:
    current: str = ""  # the installed version the ``current`` link names ("" = the shipped model)
    wanted: str = ""
    rejected: str = ""  # the wanted version, rejected on this vehicle (told once)
    last_fetch: Fetched | None = None
    link_up: bool = False
    last_error: str = ""
    events: list[Status] = field(default_factory=list)


class ModelUpdater:
    def __init__(
        self,
        config: UpdaterConfig,
        package_version: str,
        paused: Callable[[], bool] = lambda: False,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.package_version = package_version
        self.cache = Path(config.cache_directory).expanduser()
        self.models = self.cache / "models" / config.model_name
        self.local = ModelCache(self.models)
        self.url = config.repository_url.rstrip("/")
        self.http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=config.timeout_s, read=config.timeout_s))
        rate = config.bandwidth_mbit_s * 1e6 / 8
        self.download = RangedDownload(
            self.http, config.chunk_kib << 10, TokenBucket(rate, max(rate, config.chunk_kib << 10)), paused, stopping
        )
        self.state = UpdaterState(current=self.local.pointer(CURRENT))

    @property
    def current_dir(self) -> Path:
        """The package the perception node loads (the ``current`` link; absent until a first install)."""
        return self.local.path(CURRENT)

    def check(self, now_ns: int) -> list[Status]:
        """One poll; the events it raised (also kept in ``state.events``). ``now_ns``: wall clock."""
        self.state.events = []
        try:
            self._check(now_ns)
            self.state.link_up, self.state.last_error = True, ""
        except tuf_errors.DownloadError as err:  # unreachable, slow, HTTP errors: the link, not an attack
            self._unreachable(f"{type(err).__name__}: {err}")
        except (urllib3.exceptions.HTTPError, OSError) as err:
            self._unreachable(f"{type(err).__name__}: {err}")
        except (tuf_errors.RepositoryError, RolloutError, DownloadError, ModelPackageError) as err:
            self._event(Level.ERROR, f"refused ({type(err).__name__}): {err}; keeping model {self._shown()}")
            self.state.link_up, self.state.last_error = True, str(err)
        return self.state.events

    def _check(self, now_ns: int) -> None:
        self.state.current = self.local.pointer(CURRENT)  # the perception node may have promoted or rolled back
        updater = self._tuf()
        updater.refresh()
        info = updater.get_targetinfo(ROLLOUT_TARGET)
        if info is None:
            return  # nothing rolled out yet
        rollout_dir = self.cache / "rollout"
        rollout_dir.mkdir(parents=True, exist_ok=True)
        rollout = parse_rollout(Path(updater.download_target(info, str(rollout_dir / ROLLOUT_TARGET))).read_bytes())
        if rollout.model != self.config.model_name:
            return
        wanted = wanted_version(rollout, self.config.vehicle_id, now_ns)
        if wanted != self.state.wanted:
            self.state.rejected = ""
            if self.local.pointer(CANDIDATE) not in ("", wanted):
                self.local.clear(CANDIDATE)  # the rollout moved on before the candidate was promoted
        self.state.wanted = wanted
        if not wanted or wanted == self.state.current:
            return
        why = self.local.rejected(wanted)
        if why:
            if self.state.rejected != wanted:
                self._event(Level.WARN, f"{wanted} was rejected on this vehicle ({why}); keeping {self._shown()}")
            self.state.rejected = wanted
            return
        if wanted not in self.local.installed():
            self._install(updater, wanted)
        if self.config.promotion == "direct":
            self._promote(wanted, rollout.rollout_id)
        elif self.local.pointer(CANDIDATE) != wanted:
            self.local.point(CANDIDATE, wanted)
            self._event(Level.OK, f"{wanted} offered for shadow evaluation (rollout {rollout.rollout_id})")
        self._prune()

    def _install(self, updater: Updater, version: str) -> None:
        path = model_target_path(self.config.model_name, version)
        target = updater.get_targetinfo(path)
        if target is None:
            raise RolloutError(f"the rollout names {path}, which no signed target describes")
        needs = str(target.custom.get("min_package_version", "0"))
        if version_key(self.package_version) < version_key(needs):
            raise RolloutError(f"{path} needs av_edge >= {needs}, this vehicle runs {self.package_version}")
        partial = self.cache / "partial" / f"{target.hashes['sha256']}.part"
        for stale in partial.parent.glob("*.part"):  # a download the rollout moved away from
            if stale != partial:
                stale.unlink()
        url = f"{self.url}/targets/{target.get_prefixed_paths()[0]}"
        try:
            fetched = self.download.fetch(url, target.length, partial)
            self.state.last_fetch = fetched
            _verify(target, partial)
        except DownloadError:
            partial.unlink(missing_ok=True)  # a server disagreeing with the signature: start clean next time
            raise
        if fetched.resumed_from:
            self._event(Level.OK, f"{path}: resumed at {fetched.resumed_from} of {target.length} bytes")
        staging = self.models / f".{version}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        _unpack(partial.read_bytes(), staging)
        try:
            problems = verify_package(staging)
            if problems:
                raise ModelPackageError(f"{path}: " + "; ".join(problems))
        except ModelPackageError:
            shutil.rmtree(staging, ignore_errors=True)
            partial.unlink(missing_ok=True)
            raise
        os.replace(staging, self.models / version)
        partial.unlink()
        self._event(Level.OK, f"{path}: downloaded, signature, hashes and ONNX inputs/outputs verified")

    def _promote(self, version: str, rollout_id: str) -> None:
        self.local.point(CURRENT, version)
        previous, self.state.current = self._shown(), version
        self._event(Level.OK, f"model {self.config.model_name} {previous} -> {version} (rollout {rollout_id})")

    def _prune(self) -> None:
        """Keep the newest ``keep_versions`` installed versions; never the current one or the candidate."""
        keep = {self.local.pointer(CURRENT), self.local.pointer(CANDIDATE)}
        installed = sorted(self.local.installed(), key=version_key, reverse=True)
        for version in installed[self.config.keep_versions :]:
            if version not in keep:
                shutil.rmtree(self.local.path(version))

    def _tuf(self) -> Updater:
        metadata = self.cache / "tuf"
        if not (metadata / "root.json").exists():
            metadata.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(self.config.trust_root).expanduser(), metadata / "root.json")
        return Updater(
            str(metadata),
            f"{self.url}/metadata/",
            str(self.cache / "rollout"),
            f"{self.url}/targets/",
            fetcher=Urllib3Fetcher(socket_timeout=max(1, round(self.config.timeout_s))),
            bootstrap=None,
        )

    def _shown(self) -> str:
        return self.state.current or "(shipped)"

    def _unreachable(self, why: str) -> None:
        if self.state.link_up or not self.state.last_error:
            self._event(Level.WARN, f"repository unreachable ({why}); keeping model {self._shown()}")
        self.state.link_up, self.state.last_error = False, why

    def _event(self, level: Level, message: str) -> None:
        self.state.events.append(Status(level, EVENT, message, "model_updater"))

    def status(self) -> Status:
        values = {
            "model": self.config.model_name,
            "current": self.state.current or "(shipped)",
            "wanted": self.state.wanted,
            "candidate": self.local.pointer(CANDIDATE),
            "rejected": self.state.rejected,
            "link_up": str(self.state.link_up),
            "last_error": self.state.last_error,
        }
        message = f"running {self._shown()}"
        level = Level.OK
        if self.state.last_error and self.state.link_up:  # the repository answered and was refused
            level, message = Level.ERROR, f"{message}; last update refused: {self.state.last_error}"
        elif self.state.last_error:
            level, message = Level.WARN, f"{message}; repository unreachable"
        return Status(level, "av_edge: model_updater", message, "model_updater", values)


def _verify(target: TargetFile, path: Path) -> None:
    with path.open("rb") as data:
        try:
            target.verify_length_and_hashes(data)
        except tuf_errors.LengthOrHashMismatchError as err:
            raise DownloadError(f"{target.path}: {err} (tampered or corrupted); discarded") from None


def _unpack(data: bytes, directory: Path) -> None:
    """The package's two files only: a tar naming anything else (paths, links) is refused."""
    directory.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        if sorted(m.name for m in members) != sorted((MANIFEST_FILE, MODEL_FILE)) or not all(
            m.isfile() for m in members
        ):
            raise ModelPackageError(f"package tar holds {[m.name for m in members]}, not the manifest and model")
        for member in members:
            source = tar.extractfile(member)
            assert source is not None
            (directory / member.name).write_bytes(source.read())
