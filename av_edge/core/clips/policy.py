"""Upload queue policy: upload order and disk-quota eviction (pacing lives in core/pacing.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SpoolEntry:
    entry_id: str
    priority: int
    created_ns: int
    size_bytes: int
    protected: bool  # an un-uploaded braking clip: never evicted unless configured
    uploaded: bool = False  # kept locally after upload (``delete_after_upload: false``): evicted first


def upload_order(entries: Iterable[SpoolEntry]) -> list[SpoolEntry]:
    """Entries still to upload: highest priority first, oldest first within a priority."""
    return sorted((e for e in entries if not e.uploaded), key=lambda e: (-e.priority, e.created_ns, e.entry_id))


def evictions(
    entries: Iterable[SpoolEntry], quota_bytes: int, incoming: SpoolEntry, evict_protected: bool
) -> tuple[list[SpoolEntry], bool]:
    """Entries to delete so ``incoming`` fits in ``quota_bytes``, and whether it then fits.

    Victims: already uploaded ones first, then lowest priority first, oldest first; never an un-uploaded
    one with a higher priority than ``incoming`` and never a protected one unless ``evict_protected``.
    When ``incoming`` cannot be made to fit the victims are still returned; the caller decides (drop
    ``incoming`` and keep them, or keep both).
    """
    candidates = [
        e for e in entries if e.uploaded or (e.priority <= incoming.priority and (evict_protected or not e.protected))
    ]
    candidates.sort(key=lambda e: (not e.uploaded, e.priority, e.created_ns, e.entry_id))
    used = sum(e.size_bytes for e in entries)
    victims: list[SpoolEntry] = []
    for victim in candidates:
        if used + incoming.size_bytes <= quota_bytes:
            break
        victims.append(victim)
        used -= victim.size_bytes
    return victims, used + incoming.size_bytes <= quota_bytes
