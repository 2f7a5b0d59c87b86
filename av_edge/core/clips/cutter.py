"""Cuts clips spanning a pre- and a post-trigger window; overlapping triggers merge into one clip."""

from __future__ import annotations

from dataclasses import dataclass, field

from av_edge.core.clips.ring import MessageRing, RecordedMessage
from av_edge.core.clips.triggers import Trigger


@dataclass
class Clip:
    start_ns: int
    end_ns: int
    triggers: list[Trigger]
    messages: list[RecordedMessage] = field(default_factory=list)

    @property
    def first(self) -> Trigger:
        return self.triggers[0]


class ClipCutter:
    """Holds at most one open clip; ``poll`` hands out clips no later trigger can overlap any more.

    A trigger whose window overlaps the open clip extends it (up to ``max_clip_s``), so a warning
    followed by braking is one clip with both reasons, not two overlapping ones. A clip therefore
    closes ``pre_s`` after its post-window ends (a later trigger's pre-window could still reach it).
    """

    def __init__(self, pre_s: float, post_s: float, max_clip_s: float) -> None:
        self.pre_ns, self.post_ns, self.max_ns = int(pre_s * 1e9), int(post_s * 1e9), int(max_clip_s * 1e9)
        self.open: Clip | None = None
        self._done: list[Clip] = []

    def trigger(self, trigger: Trigger, ring: MessageRing) -> None:
        start, end = trigger.time_ns - self.pre_ns, trigger.time_ns + self.post_ns
        clip = self.open
        if clip is not None and start <= clip.end_ns and end - clip.start_ns <= self.max_ns:
            clip.end_ns = max(clip.end_ns, end)
            clip.triggers.append(trigger)
            return
        if clip is not None:
            self._done.append(clip)
        self.open = Clip(start, end, [trigger], ring.since(start))

    def on_message(self, message: RecordedMessage) -> None:
        """Every message, after it went into the ring."""
        if self.open is not None and message.log_time_ns >= self.open.start_ns:
            self.open.messages.append(message)  # trimmed to the window when the clip closes

    def poll(self, now_ns: int) -> list[Clip]:
        """Clips complete at ``now_ns``: post-window over and out of reach of any later trigger."""
        if self.open is not None and now_ns > self.open.end_ns + self.pre_ns:
            self._done.append(self.open)
            self.open = None
        done, self._done = self._done, []
        for clip in done:
            clip.messages = [m for m in clip.messages if m.log_time_ns <= clip.end_ns]
        return done
