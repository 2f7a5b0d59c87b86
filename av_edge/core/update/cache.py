"""The vehicle's model cache: installed package versions and three pointers, shared by two processes.

``models/<name>/``::

    <version>/            an installed, verified package (the updater writes it once)
    candidate -> <version>   offered by the updater, shadow-evaluated by the perception node
    current -> <version>     what the perception node serves (and loads at start)
    rejected/<version>.json  failed its shadow gates or its watch on this vehicle: never offered again

Links are replaced atomically (a new link renamed over the old), so a reader sees the old or the new.
The updater writes versions and ``candidate`` (``current`` too when promotion is direct); the
perception node writes ``current`` and ``rejected``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

CURRENT = "current"
CANDIDATE = "candidate"


class ModelCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, version: str) -> Path:
        return self.directory / version

    def pointer(self, name: str) -> str:
        """The version ``name`` (current, candidate) points at; "" when absent."""
        link = self.directory / name
        return os.readlink(link) if link.is_symlink() else ""

    def point(self, name: str, version: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{name}.new"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(version)
        os.replace(temporary, self.directory / name)

    def clear(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)

    def installed(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return [p.name for p in self.directory.iterdir() if p.is_dir() and not p.is_symlink() and p.name[0] != "."]

    def reject(self, version: str, why: str) -> None:
        folder = self.directory / "rejected"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{version}.json").write_text(json.dumps({"version": version, "why": why}))

    def rejected(self, version: str) -> str:
        """Why ``version`` was rejected on this vehicle; "" when it was not."""
        path = self.directory / "rejected" / f"{version}.json"
        return str(json.loads(path.read_text())["why"]) if path.is_file() else ""
