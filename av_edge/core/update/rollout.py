"""The rollout: which model version a vehicle runs, decided from a signed document and the vehicle id.

The fleet tooling writes one ``rollout.json`` (a TUF target, so it is signed, versioned and expires
with the repository's metadata). A vehicle is in the canary slice when a stable hash of the rollout id
and its vehicle id falls below ``percent``, or when it is named; everyone else stays on ``baseline``.
Salting with the rollout id gives each rollout a different slice, so the same vehicles are not always
the guinea pigs; within one rollout a vehicle's answer never changes as the percentage only grows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from av_edge.core.errors import AvEdgeError

ROLLOUT_TARGET = "rollout.json"
SLICE_BUCKETS = 10_000  # percent resolution 0.01


class RolloutError(AvEdgeError):
    """A rollout document that is malformed or has expired."""


@dataclass(frozen=True)
class Rollout:
    model: str  # model package name (manifest ``name``)
    target: str  # version the slice runs
    baseline: str  # version everyone outside the slice runs
    percent: float
    rollout_id: str  # salts the slice
    expires_ns: int  # wall clock; an expired rollout is not acted on (the current model is kept)
    vehicles: tuple[str, ...] = field(default=())  # always in the slice

    def to_json(self) -> bytes:
        document = asdict(self)
        document["vehicles"] = list(self.vehicles)
        return json.dumps(document, indent=1, sort_keys=True).encode()


def parse_rollout(data: bytes) -> Rollout:
    """``rollout.json`` as written by ``Rollout.to_json``; RolloutError naming the problem otherwise."""
    try:
        document: dict[str, Any] = json.loads(data)
        rollout = Rollout(
            model=str(document["model"]),
            target=str(document["target"]),
            baseline=str(document["baseline"]),
            percent=float(document["percent"]),
            rollout_id=str(document["rollout_id"]),
            expires_ns=int(document["expires_ns"]),
            vehicles=tuple(str(v) for v in document.get("vehicles", ())),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise RolloutError(f"{ROLLOUT_TARGET}: malformed ({type(err).__name__}: {err})") from None
    if not 0.0 <= rollout.percent <= 100.0:
        raise RolloutError(f"{ROLLOUT_TARGET}: percent {rollout.percent} is not within 0..100")
    return rollout


def slice_position(rollout_id: str, vehicle_id: str) -> float:
    """Where ``vehicle_id`` falls in ``rollout_id``'s slice, in percent [0, 100): stable across processes."""
    digest = hashlib.sha256(f"{rollout_id}\0{vehicle_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SLICE_BUCKETS * 100.0 / SLICE_BUCKETS


def in_slice(rollout: Rollout, vehicle_id: str) -> bool:
    return vehicle_id in rollout.vehicles or slice_position(rollout.rollout_id, vehicle_id) < rollout.percent


def wanted_version(rollout: Rollout, vehicle_id: str, now_ns: int) -> str:
    """The version ``vehicle_id`` should run; RolloutError when the rollout has expired."""
    if now_ns >= rollout.expires_ns:
        raise RolloutError(f"{ROLLOUT_TARGET} {rollout.rollout_id} expired; keeping the current model")
    return rollout.target if in_slice(rollout, vehicle_id) else rollout.baseline


def version_key(version: str) -> tuple[int, ...]:
    """``"1.10.2"`` sorts after ``"1.9"``; RolloutError on anything but dotted integers."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise RolloutError(f"version '{version}' is not dotted integers (e.g. 1.4.0)") from None
