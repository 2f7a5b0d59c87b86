"""The spool directory: the persistent upload queue (survives WAN loss, reboots and crashes).

Each entry is a directory ``<spool>/<entry_id>/`` holding ``entry.json`` (metadata, file sizes and
sha256) and the payload (a rosbag2 MCAP directory ``clip/`` or a ``summary.json``). Entries are built
under ``.tmp-<entry_id>`` and renamed into place, so a crash never leaves a half clip in the queue.
The uploader keeps its resumable state in ``<entry>/upload.json``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from rosbags.typesys import Stores, get_typestore

from av_edge.bagfile import BagWriter
from av_edge.core.clips.policy import SpoolEntry, evictions
from av_edge.core.clips.ring import RecordedMessage

ENTRY_FILE = "entry.json"
STATE_FILE = "upload.json"
TMP_PREFIX = ".tmp-"
LOCK_PREFIX = ".lock-"  # flock()ed by the process uploading the entry (the uploader may be another process)
CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomic(path: Path, document: Mapping[str, Any]) -> None:
    """Write, fsync, rename: a reader sees the old or the new document, never half of one."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}")
    with tmp.open("w") as f:
        json.dump(document, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_mcap(
    path: Path, messages: Iterable[RecordedMessage], msgtypes: Mapping[str, str], ros_distro: str = "humble"
) -> None:
    """A rosbag2 MCAP directory at ``path`` from serialized messages (``ros2 bag play`` and Foxglove open it)."""
    typestore = get_typestore(Stores.LATEST)
    writer = BagWriter(path, ros_distro)
    try:
        connections = {topic: writer.add_connection(topic, msgtype, typestore) for topic, msgtype in msgtypes.items()}
        for message in messages:
            writer.write(connections[message.topic], message.log_time_ns, message.data)
    finally:
        writer.close()


class Spool:
    def __init__(self, root: Path, quota_bytes: int, evict_protected: bool, log: Callable[[str], None]) -> None:
        self.root = root
        self.quota_bytes = quota_bytes
        self.evict_protected = evict_protected
        self.log = log
        self.evicted: list[str] = []
        self.refused: list[str] = []
        self.uploading: str | None = None  # never evicted under the uploader's feet (see also claim())
        self._lock = threading.Lock()  # the recorder adds and evicts while the uploader removes
        root.mkdir(parents=True, exist_ok=True)

    def discard_partial(self) -> list[str]:
        """Remove entries a crash left half-written (their data died with the process); their names."""
        partial = sorted(p.name for p in self.root.glob(f"{TMP_PREFIX}*"))
        for name in partial:
            path = self.root / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        return partial

    def add(
        self,
        entry_id: str,
        priority: int,
        created_ns: int,
        protected: bool,
        meta: Mapping[str, Any],
        write_payload: Callable[[Path], None],
    ) -> Path | None:
        """Build an entry with ``write_payload(tmp_dir)``, make room under the quota, publish it.

        Returns its path, or None when it did not fit (refused, logged, counted in ``refused``).
        """
        tmp = self.begin(entry_id)
        try:
            write_payload(tmp)
        except BaseException:
            self.abandon(tmp)
            raise
        return self.commit(tmp, entry_id, priority, created_ns, protected, meta)

    def begin(self, name: str) -> Path:
        """A hidden directory to build an entry in, step by step (a clip streamed as it is recorded);
        :meth:`commit` publishes it, :meth:`abandon` or the next start's :meth:`discard_partial` removes it."""
        tmp = self.root / f"{TMP_PREFIX}{name}"
        tmp.mkdir()
        return tmp

    def abandon(self, tmp: Path) -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    def commit(
        self, tmp: Path, entry_id: str, priority: int, created_ns: int, protected: bool, meta: Mapping[str, Any]
    ) -> Path | None:
        """Checksum and fsync what ``tmp`` holds, make room under the quota, rename it to ``entry_id``.

        Returns its path, or None when it did not fit (refused, logged, counted in ``refused``).
        """
        try:
            files = {
                str(p.relative_to(tmp)): {"size": p.stat().st_size, "sha256": sha256_file(p)}
                for p in sorted(tmp.rglob("*"))
                if p.is_file()
            }
            document = dict(meta, entry_id=entry_id, priority=priority, created_ns=created_ns, protected=protected)
            write_json_atomic(tmp / ENTRY_FILE, dict(document, files=files))
            size = _tree_size(tmp)
            _fsync_tree(tmp)
            with self._lock:
                if not self._make_room(SpoolEntry(entry_id, priority, created_ns, size, protected)):
                    shutil.rmtree(tmp)
                    self.refused.append(entry_id)
                    self.log(f"spool quota {self.quota_bytes / 2**20:.0f} MiB: no room for {entry_id}; dropped")
                    return None
                final = self.root / entry_id
                os.rename(tmp, final)
                _fsync_dir(self.root)
            return final
        except BaseException:
            self.abandon(tmp)
            raise

    def entries(self) -> list[SpoolEntry]:
        found = []
        for path in sorted(self.root.iterdir()):
            if path.name.startswith(TMP_PREFIX) or not (path / ENTRY_FILE).is_file():
                continue
            document = json.loads((path / ENTRY_FILE).read_text())
            state = path / STATE_FILE
            uploaded = state.is_file() and bool(json.loads(state.read_text()).get("done"))
            found.append(
                SpoolEntry(
                    path.name,
                    document["priority"],
                    document["created_ns"],
                    _tree_size(path),
                    document["protected"] and not uploaded,
                    uploaded,
                )
            )
        return found

    def path(self, entry_id: str) -> Path:
        return self.root / entry_id

    def payload_files(self, entry_id: str) -> list[Path]:
        """Files to upload, relative to the entry (the uploader's own state is not one)."""
        base = self.path(entry_id)
        return sorted(
            p.relative_to(base)
            for p in base.rglob("*")
            if p.is_file() and p.name != STATE_FILE and not p.name.startswith(TMP_PREFIX)
        )

    def remove(self, entry_id: str) -> None:
        with self._lock:
            shutil.rmtree(self.path(entry_id))

    @contextlib.contextmanager
    def claim(self, entry_id: str) -> Iterator[bool]:
        """Hold ``entry_id`` against eviction by any process sharing the spool (an flock the kernel
        drops if this process dies); yields False when the entry is gone (evicted meanwhile)."""
        lock = self.root / f"{LOCK_PREFIX}{entry_id}"
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits while an evictor deletes it
            self.uploading = entry_id
            yield self.path(entry_id).is_dir()
        finally:
            self.uploading = None
            with contextlib.suppress(FileNotFoundError):
                if not self.path(entry_id).exists():
                    lock.unlink()
            os.close(fd)  # releases the flock

    def _make_room(self, incoming: SpoolEntry) -> bool:
        # an entry being uploaded (by this process or another) still takes disk space but is never a victim
        with contextlib.ExitStack() as held:
            queued = [
                e if e.entry_id != self.uploading and self._hold(e.entry_id, held) else replace(e, priority=sys.maxsize)
                for e in self.entries()
            ]
            victims, fits = evictions(queued, self.quota_bytes, incoming, self.evict_protected)
            if not fits and not incoming.protected:
                return False  # keep what is queued rather than evict it for nothing
            if not fits:
                self.log(f"spool over quota: keeping braking clip {incoming.entry_id} anyway (nothing else evictable)")
            for victim in victims:
                shutil.rmtree(self.path(victim.entry_id))
                (self.root / f"{LOCK_PREFIX}{victim.entry_id}").unlink(missing_ok=True)
                self.evicted.append(victim.entry_id)
                self.log(f"spool quota: evicted {victim.entry_id} (priority {victim.priority}, not uploaded)")
        return True

    def _hold(self, entry_id: str, held: contextlib.ExitStack) -> bool:
        """Lock ``entry_id`` until ``held`` closes, unless an uploader holds it; True when locked."""
        fd = os.open(self.root / f"{LOCK_PREFIX}{entry_id}", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        held.callback(os.close, fd)
        return True


def _tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _fsync_tree(path: Path) -> None:
    for p in path.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
