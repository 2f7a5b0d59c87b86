"""Clip recorder node configuration (``config/clip_recorder.params.yaml`` is the single source)."""

from __future__ import annotations

from dataclasses import dataclass

from av_edge.core.clips.triggers import TriggerKind, TriggerRule
from av_edge.core.config import bounded
from av_edge.core.errors import ConfigError


@dataclass(frozen=True)
class TriggerRuleConfig:
    priority: int = bounded(0, 100, "upload first and evict last: higher")
    min_interval_s: float = bounded(0.0, 3600.0, "a repeat of this kind sooner than this is suppressed")


@dataclass(frozen=True)
class TriggersConfig:
    braking: TriggerRuleConfig
    warning: TriggerRuleConfig
    disagreement: TriggerRuleConfig
    watchdog: TriggerRuleConfig
    manual: TriggerRuleConfig
    brake_threshold_mps2: float = bounded(0.5, 20.0, "brake request at or below minus this = braking onset")

    def rules(self) -> dict[TriggerKind, TriggerRule]:
        return {
            kind: TriggerRule(rule.priority, rule.min_interval_s)
            for kind in TriggerKind
            for rule in (getattr(self, kind.value),)
        }


@dataclass(frozen=True)
class SpoolConfig:
    directory: str
    evict_braking_clips: bool
    quota_mib: int = bounded(1, 10_000_000)


@dataclass(frozen=True)
class UploaderConfig:
    enabled: bool
    endpoint_url: str  # "default": boto3's (AWS); else e.g. http://minio.local:9000
    region: str
    bucket: str
    prefix: str
    delete_after_upload: bool
    part_size_mib: int = bounded(5, 5120, "S3: every part but the last >= 5 MiB")
    bandwidth_mbit_s: float = bounded(0.0, 100_000.0, "0 = uncapped")
    retry_base_s: float = bounded(0.01, 60.0)
    retry_cap_s: float = bounded(0.1, 3600.0)
    connect_timeout_s: float = bounded(0.1, 60.0)
    read_timeout_s: float = bounded(0.1, 600.0)
    summary_period_s: float = bounded(1.0, 86400.0)


@dataclass(frozen=True)
class RecorderConfig:
    vehicle_id: str
    topics: tuple[str, ...]
    model_versions: tuple[str, ...]
    triggers: TriggersConfig
    spool: SpoolConfig
    uploader: UploaderConfig
    cpus: str  # cores the recorder and uploader may use: "any", or as taskset writes them ("2,3", "2-3")
    pre_trigger_s: float = bounded(0.0, 120.0)
    post_trigger_s: float = bounded(0.0, 120.0)
    max_clip_s: float = bounded(1.0, 600.0)
    ring_max_mib: int = bounded(1, 1_000_000)
    niceness: int = bounded(0, 19, "the recorder and uploader yield the CPU to the braking path")

    def cpu_set(self) -> tuple[int, ...]:
        """``cpus`` as core numbers (empty: no restriction)."""
        return parse_cpu_list(self.cpus)

    def __post_init__(self) -> None:
        if self.pre_trigger_s + self.post_trigger_s > self.max_clip_s:
            raise ConfigError(
                f"pre_trigger_s + post_trigger_s ({self.pre_trigger_s + self.post_trigger_s}) exceeds max_clip_s "
                f"({self.max_clip_s})"
            )
        if self.cpus.strip() != "any" and not self.cpu_set():
            raise ConfigError(f"cpus: '{self.cpus}' names no core; write 'any' for no restriction")
        bad = [t for t in self.topics if not t.startswith("/")]
        if bad:
            raise ConfigError(f"topics must be absolute names: {', '.join(bad)}")


def parse_cpu_list(text: str) -> tuple[int, ...]:
    """Core numbers from a taskset-style list ("3", "0,2", "2-5", "0,4-7"); "any": none (no restriction)."""
    if text.strip() == "any":
        return ()
    cores: set[int] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        first, _, last = part.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            raise ConfigError(f"cpus: '{part}' is not a core number or range (e.g. '2', '2-3', '0,2')") from None
        if lo < 0 or hi < lo:
            raise ConfigError(f"cpus: '{part}' is not an ascending range of core numbers >= 0")
        cores.update(range(lo, hi + 1))
    return tuple(sorted(cores))
