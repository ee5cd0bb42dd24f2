"""Quarantine: bad messages are kept, counted and shown, never silently dropped.

The feed keeps flowing; the operator and the analyst can see which source sent what and why
it was refused. Raw bytes are capped so a hostile feed cannot grow memory without bound.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable

from .errors import ParseError

RAW_CAP = 4096


@dataclass(frozen=True, slots=True)
class QuarantinedMessage:
    source: str
    at: float
    reason: str
    raw: bytes
    truncated: bool


class Quarantine:
    """Keeps the most recent `capacity` rejected messages and a count per source."""

    def __init__(self, clock: Callable[[], float], capacity: int = 1000, raw_cap: int = RAW_CAP) -> None:
        self._clock = clock
        self._items: deque[QuarantinedMessage] = deque(maxlen=capacity)
        self._raw_cap = raw_cap
        self.counts: Counter[str] = Counter()
        self._listeners: list[Callable[[QuarantinedMessage], None]] = []

    def subscribe(self, listener: Callable[[QuarantinedMessage], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def add(self, error: ParseError) -> QuarantinedMessage:
        raw = error.raw or b""
        item = QuarantinedMessage(
            source=error.source, at=self._clock(), reason=error.reason,
            raw=raw[: self._raw_cap], truncated=len(raw) > self._raw_cap,
        )
        self._items.append(item)
        self.counts[error.source] += 1
        for listener in list(self._listeners):
            listener(item)
        return item

    def items(self) -> list[QuarantinedMessage]:
        """Newest first, as an operator reads them."""
        return list(reversed(self._items))

    def __len__(self) -> int:
        return sum(self.counts.values())
