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
    pre_trigger_s: float = bounded(0.0, 120.0)
    post_trigger_s: float = bounded(0.0, 120.0)
    max_clip_s: float = bounded(1.0, 600.0)
    ring_max_mib: int = bounded(1, 1_000_000)
    niceness: int = bounded(0, 19, "the recorder and uploader yield the CPU to the braking path")

    def __post_init__(self) -> None:
        if self.pre_trigger_s + self.post_trigger_s > self.max_clip_s:
            raise ConfigError(
                f"pre_trigger_s + post_trigger_s ({self.pre_trigger_s + self.post_trigger_s}) exceeds max_clip_s "
                f"({self.max_clip_s})"
            )
        bad = [t for t in self.topics if not t.startswith("/")]
        if bad:
            raise ConfigError(f"topics must be absolute names: {', '.join(bad)}")
