"""A ring of serialized messages bounded by duration and by bytes: the recorder's memory of the past."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordedMessage:
    topic: str
    log_time_ns: int  # receive time on the recorder's clock (as `ros2 bag record`)
    data: bytes  # CDR, exactly as DDS delivered it


class MessageRing:
    """Keeps the last ``max_age_s`` of messages in at most ``max_bytes``.

    Ageing out is the normal case; a message evicted for bytes while younger than ``max_age_s``
    shortens the pre-trigger window and is counted in ``evicted_for_bytes``.
    """

    def __init__(self, max_age_s: float, max_bytes: int) -> None:
        self.max_age_ns = int(max_age_s * 1e9)
        self.max_bytes = max_bytes
        self._messages: deque[RecordedMessage] = deque()
        self.bytes = 0
        self.evicted_for_bytes = 0
        self.evicted_bytes_for_bytes = 0

    def add(self, message: RecordedMessage) -> None:
        self._messages.append(message)
        self.bytes += len(message.data)
        oldest_kept = message.log_time_ns - self.max_age_ns
        while self._messages and self._messages[0].log_time_ns < oldest_kept:
            self._pop()
        while self.bytes > self.max_bytes and self._messages:
            dropped = self._pop()
            self.evicted_for_bytes += 1
            self.evicted_bytes_for_bytes += len(dropped.data)

    def since(self, start_ns: int) -> list[RecordedMessage]:
        """Messages logged at or after ``start_ns``, oldest first."""
        return [m for m in self._messages if m.log_time_ns >= start_ns]

    def span_s(self) -> float:
        if not self._messages:
            return 0.0
        return (self._messages[-1].log_time_ns - self._messages[0].log_time_ns) / 1e9

    def __len__(self) -> int:
        return len(self._messages)

    def _pop(self) -> RecordedMessage:
        message = self._messages.popleft()
        self.bytes -= len(message.data)
        return message
