"""The staged response as a pure state machine: warning -> partial braking -> full braking -> hold.

Escalation is immediate; the stage never drops while a threat persists (no chatter); the path must
stay clear for ``release_clear_frames`` before the AEB lets go; at standstill it holds.
"""

from __future__ import annotations

from enum import Enum

from av_edge.core.aeb.config import BrakeConfig
from av_edge.core.aeb.threat import Threat


class AebState(Enum):
    CRUISE = "cruise"
    WARNING = "warning"
    PARTIAL = "partial_braking"
    FULL = "full_braking"
    HOLD = "hold"


_RANK = {AebState.CRUISE: 0, AebState.WARNING: 1, AebState.PARTIAL: 2, AebState.FULL: 3}
_BY_LEVEL = {1: AebState.WARNING, 2: AebState.PARTIAL, 3: AebState.FULL}
BRAKING = frozenset({AebState.PARTIAL, AebState.FULL, AebState.HOLD})


def threat_level(threat: Threat, brake: BrakeConfig) -> int:
    """0 none, 1 warn, 2 partial braking, 3 full braking (at most the threat's ``max_level``)."""
    if threat.required_decel_mps2 >= brake.full_trigger_mps2:
        level = 3
    elif threat.required_decel_mps2 >= brake.partial_trigger_mps2:
        level = 2
    else:
        level = 1 if threat.ttc_s <= brake.warning_ttc_s else 0
    return min(level, threat.max_level)


def next_state(state: AebState, level: int, stopped: bool, released: bool) -> AebState:
    """One transition. ``released``: the path has been clear long enough to let go."""
    if state is AebState.HOLD:
        return AebState.CRUISE if released else AebState.HOLD
    if level > _RANK[state]:
        return _BY_LEVEL[level]
    if state in (AebState.PARTIAL, AebState.FULL) and stopped:
        return AebState.HOLD
    if released and state is not AebState.CRUISE:
        return AebState.CRUISE
    return state


def requested_decel(state: AebState, brake: BrakeConfig) -> float:
    """Deceleration (>= 0) the state asks for."""
    return {
        AebState.PARTIAL: brake.partial_decel_mps2,
        AebState.FULL: brake.full_decel_mps2,
        AebState.HOLD: brake.hold_decel_mps2,
    }.get(state, 0.0)
