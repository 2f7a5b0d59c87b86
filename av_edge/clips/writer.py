"""Streams clips into spool entries on one thread while they are recorded.

A clip's messages go to disk as they arrive (its pre-window from the ring when it opens), so a clip
costs no memory beyond the ring, and the disk work is spread over the clip instead of a burst when
it closes. The executor thread only enqueues; the queue is bounded in bytes: past the bound a
message is dropped from its clip and counted (in the clip's ``entry.json`` and the status), never
the executor blocked. Every error on the thread is counted and logged with the clip's name.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rosbags.typesys import Stores, get_typestore

from av_edge.bagfile import BagWriter
from av_edge.clips.spool import Spool
from av_edge.core.clips.config import BagConfig
from av_edge.core.clips.cutter import Clip
from av_edge.core.clips.ring import RecordedMessage


@dataclass(frozen=True)
class ClipEntry:
    """What a closed clip becomes in the spool."""

    name: str
    kind: str
    priority: int
    protected: bool
    meta: dict[str, Any]
    done: Callable[[], None]  # called once the clip is in the spool, refused or failed


@dataclass
class _Stream:
    tmp: Path | None = None
    bag: BagWriter | None = None
    connections: dict[str, Any] = field(default_factory=dict)
    written: int = 0
    error: Exception | None = None


class ClipWriter:
    def __init__(
        self,
        spool: Spool,
        msgtypes: Mapping[str, str],
        log: Callable[[str], None],
        max_pending_bytes: int,
        bag: BagConfig,
    ) -> None:
        self.spool = spool
        self.bag = bag
        self.msgtypes = msgtypes  # the recorder's: only ever added to
        self.log = log
        self.max_pending_bytes = max_pending_bytes
        self.written: Counter[str] = Counter()  # clips in the spool, by kind
        self.failures = 0
        self.dropped_messages = 0
        self._pending_bytes = 0
        self._dropped: Counter[int] = Counter()  # per open clip (its id), on the caller's thread
        self._lock = threading.Lock()
        self._typestore = get_typestore(Stores.LATEST)
        self._queue: queue.SimpleQueue[tuple[str, Any, Any]] = queue.SimpleQueue()
        self._streams: dict[int, _Stream] = {}  # the writer thread's own
        self._thread = threading.Thread(target=self._run, name="clip_writer", daemon=True)
        self._thread.start()

    # -- the caller's side (the executor thread) -------------------------------------------------------

    def open(self, clip: Clip) -> None:
        self._queue.put(("open", clip, None))

    def write(self, clip: Clip, messages: Iterable[RecordedMessage]) -> None:
        for message in messages:
            size = len(message.data)
            with self._lock:
                room = self._pending_bytes + size <= self.max_pending_bytes
                if room:
                    self._pending_bytes += size
                else:
                    self.dropped_messages += 1
            if room:
                self._queue.put(("write", clip, message))
            else:
                self._dropped[id(clip)] += 1

    def close(self, clip: Clip, entry: ClipEntry) -> None:
        entry.meta["messages_dropped"] = self._dropped.pop(id(clip), 0)
        self._queue.put(("close", clip, entry))

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything enqueued so far is done; False on timeout."""
        done = threading.Event()
        self._queue.put(("flush", None, done))
        return done.wait(timeout_s)

    def stop(self) -> None:
        self._queue.put(("stop", None, None))
        self._thread.join()

    # -- the writer thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            op, clip, arg = self._queue.get()
            if op == "stop":
                return
            if op == "flush":
                arg.set()
            elif op == "open":
                self._streams[id(clip)] = self._open(clip)
            elif op == "write":
                with self._lock:
                    self._pending_bytes -= len(arg.data)
                self._write(self._streams[id(clip)], arg)
            elif op == "close":
                self._close(self._streams.pop(id(clip)), clip, arg)

    def _open(self, clip: Clip) -> _Stream:
        stream = _Stream()
        try:
            stream.tmp = self.spool.begin(f"clip-{clip.start_ns}-{id(clip)}")
            stream.bag = BagWriter(stream.tmp / "clip", self.bag.ros_distro, self.bag.storage)
        except Exception as err:  # disk full, permissions: the clip fails, recording goes on
            stream.error = err
        return stream

    def _write(self, stream: _Stream, message: RecordedMessage) -> None:
        if stream.error is not None or stream.bag is None:
            return
        try:
            connection = stream.connections.get(message.topic)
            if connection is None:
                msgtype = self.msgtypes[message.topic]
                connection = stream.bag.add_connection(message.topic, msgtype, self._typestore)
                stream.connections[message.topic] = connection
            stream.bag.write(connection, message.log_time_ns, message.data)
            stream.written += 1
        except Exception as err:
            stream.error = err

    def _close(self, stream: _Stream, clip: Clip, entry: ClipEntry) -> None:
        try:
            if stream.bag is not None:
                stream.bag.close()
            if stream.error is None and stream.tmp is not None:
                meta = dict(entry.meta, messages=stream.written)
                meta["topics"] = {t: self.msgtypes[t] for t in sorted(stream.connections)}
                path = self.spool.commit(
                    stream.tmp, entry.name, entry.priority, clip.first.time_ns, entry.protected, meta
                )
                if path is not None:  # else refused: the spool said so
                    with self._lock:
                        self.written[entry.kind] += 1
                    triggers = ", ".join(t.kind.value for t in clip.triggers)
                    self.log(f"clip {entry.name}: {stream.written} messages, {triggers}")
                return
        except Exception as err:
            stream.error = stream.error or err
        finally:
            entry.done()
        with self._lock:
            self.failures += 1
        if stream.tmp is not None:
            self.spool.abandon(stream.tmp)
        self.log(f"could not write clip {entry.name}: {stream.error}")
