"""Open clips on disk: a clip the recorder dies holding is reported at the next start, never lost silently.

A marker is written when a trigger opens a clip and removed once the clip is in the spool (or was
refused or failed, each with its own log line). Markers found at start-up are clips whose window
was still in memory when the process died (``kill -9``, power loss): the recorder logs each and
counts them in its diagnostics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from av_edge.clips.spool import write_json_atomic
from av_edge.core.clips.triggers import Trigger

JOURNAL_DIR = ".journal"


class ClipJournal:
    def __init__(self, spool_root: Path) -> None:
        self.directory = spool_root / JOURNAL_DIR
        self.directory.mkdir(parents=True, exist_ok=True)

    def opened(self, start_ns: int, trigger: Trigger) -> None:
        document = {
            "start_ns": start_ns,
            "kind": trigger.kind.value,
            "time_ns": trigger.time_ns,
            "reason": trigger.reason,
        }
        write_json_atomic(self._path(start_ns), document)

    def closed(self, start_ns: int) -> None:
        self._path(start_ns).unlink(missing_ok=True)

    def orphans(self) -> list[dict[str, Any]]:
        """Markers a previous process left (its open clips), removed as they are read."""
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                found.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                found.append({"marker": path.name, "reason": "unreadable marker"})
            path.unlink(missing_ok=True)
        return found

    def _path(self, start_ns: int) -> Path:
        return self.directory / f"{start_ns}.json"
