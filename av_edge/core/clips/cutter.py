"""Cuts clips spanning a pre- and a post-trigger window; overlapping triggers merge into one clip."""

from __future__ import annotations

from dataclasses import dataclass

from av_edge.core.clips.ring import MessageRing, RecordedMessage
from av_edge.core.clips.triggers import Trigger


@dataclass
class Clip:
    start_ns: int
    end_ns: int
    triggers: list[Trigger]
    messages: int = 0  # how many the cutter handed out for it

    @property
    def first(self) -> Trigger:
        return self.triggers[0]


class ClipCutter:
    """Holds at most one open clip and says which messages belong to it, as they come: the caller
    streams them out, so a clip costs no memory beyond the ring.

    A trigger whose window overlaps the open clip extends it (up to ``max_clip_s``), so a warning
    followed by braking is one clip with both reasons, not two overlapping ones. A clip therefore
    closes ``pre_s`` after its post-window ends (a later trigger's pre-window could still reach it).
    Every message of a clip's window is handed out once, in log-time order.
    """

    def __init__(self, pre_s: float, post_s: float, max_clip_s: float) -> None:
        self.pre_ns, self.post_ns, self.max_ns = int(pre_s * 1e9), int(post_s * 1e9), int(max_clip_s * 1e9)
        self.open: Clip | None = None
        self._done: list[Clip] = []

    def trigger(self, trigger: Trigger, ring: MessageRing) -> list[RecordedMessage]:
        """Open a clip for ``trigger`` or extend the open one; returns the ring's messages that now
        belong to the open clip and were not handed out yet (its pre-window, or what the extension
        reaches: messages after the old end that ``on_message`` declined)."""
        start, end = trigger.time_ns - self.pre_ns, trigger.time_ns + self.post_ns
        clip = self.open
        if clip is not None and start <= clip.end_ns and end - clip.start_ns <= self.max_ns:
            clip.triggers.append(trigger)
            if end <= clip.end_ns:
                return []
            old_end, clip.end_ns = clip.end_ns, end
            return self._hand_out(clip, ring.since(old_end + 1))
        if clip is not None:
            self._done.append(clip)
        self.open = Clip(start, end, [trigger])
        return self._hand_out(self.open, ring.since(start))

    def on_message(self, message: RecordedMessage) -> bool:
        """Every message, after it went into the ring: True when it belongs to the open clip."""
        clip = self.open
        if clip is None or not clip.start_ns <= message.log_time_ns <= clip.end_ns:
            return False
        clip.messages += 1
        return True

    def poll(self, now_ns: int) -> list[Clip]:
        """Clips complete at ``now_ns``: post-window over and out of reach of any later trigger."""
        if self.open is not None and now_ns > self.open.end_ns + self.pre_ns:
            self._done.append(self.open)
            self.open = None
        done, self._done = self._done, []
        return done

    @staticmethod
    def _hand_out(clip: Clip, messages: list[RecordedMessage]) -> list[RecordedMessage]:
        inside = [m for m in messages if m.log_time_ns <= clip.end_ns]
        clip.messages += len(inside)
        return inside
