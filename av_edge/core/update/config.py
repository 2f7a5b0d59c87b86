"""Model updater node configuration (``config/model_updater.params.yaml`` is the single source)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from av_edge.core.config import Rule, below, bounded, choice, described


@dataclass(frozen=True)
class UpdaterConfig:
    RULES: ClassVar[tuple[Rule, ...]] = (
        below("retry_base_s", "retry_cap_s", "the first retry delay cannot exceed the longest", strict=False),
    )

    vehicle_id: str = described("this vehicle in the rollout's slice (a stable hash of it and the rollout id)")
    model_name: str = described("the model package (manifest name) this updater manages")
    repository_url: str = described(
        "http(s) base of the TUF repository (metadata/ and targets/ below it): an S3 bucket, a mirror or a CDN"
    )
    trust_root: str = described(
        "root.json shipped with the vehicle: the keys every later metadata must chain to (~ expanded)"
    )
    cache_directory: str = described("TUF metadata, partial downloads and installed models (~ expanded)")
    promotion: str = choice(
        "shadow",
        "direct",
        doc="shadow: a new version is the perception node's candidate, promoted after its shadow gates; "
        "direct: current at once, loaded at the perception node's next start (rigs without cameras)",
    )
    keep_versions: int = bounded(2, 20, "installed model versions kept (the current and the previous never go)")
    poll_period_s: float = bounded(1.0, 86400.0, "s between checks for a new rollout")
    poll_jitter: float = bounded(0.0, 1.0, "each wait is the period times 1 + this times a uniform draw")
    retry_base_s: float = bounded(0.1, 3600.0, "s, first retry after a failure (exponential backoff, full jitter)")
    retry_cap_s: float = bounded(1.0, 86400.0, "s, longest retry delay while the repository is unreachable")
    bandwidth_mbit_s: float = bounded(0.0, 100_000.0, "download cap; 0 = uncapped")
    chunk_kib: int = bounded(4, 65536, "KiB per ranged GET; a killed download resumes from the last whole chunk")
    timeout_s: float = bounded(0.5, 600.0, "s, connect and read timeout of each request")
    brake_pause_mps2: float = bounded(0.5, 20.0, "a brake request at or below minus this pauses downloads")
    pause_hold_s: float = bounded(0.0, 600.0, "s downloads stay paused after the last braking or clip recording")
    niceness: int = bounded(0, 19, "the process yields the CPU to perception and braking")
