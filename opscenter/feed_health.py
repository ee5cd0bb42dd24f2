"""What the operator needs to know about one feed connection, and a one-line summary of it.

A wall display must never show old data as if it were live: every feed carries its state and
the age of its last bytes, and the UI prints `summary()` beside the feed's name.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

SKEW_WARN_S = 2.0  # below this, sender/receiver clock differences are not worth a word


class FeedState(str, enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    STALE = "stale"
    STOPPED = "stopped"


def _age(seconds: float) -> str:
    """Short human age: '0.4 s', '17 s', '3 min', '2 h'."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


@dataclass(slots=True)
class FeedHealth:
    """Counters and timestamps (epoch seconds) for one feed; `url` never holds credentials."""

    name: str
    url: str
    state: FeedState = FeedState.CONNECTING
    connected_since: float | None = None
    last_message_at: float | None = None  # any bytes, heartbeats included
    last_event_at: float | None = None  # last event delivered to the consumer
    last_seq: int = 0
    received: int = 0
    duplicates: int = 0
    rejected: int = 0
    reconnects: int = 0
    stalls: int = 0
    resyncs: int = 0  # the server's event numbering restarted (new epoch)
    attempt: int = 0  # consecutive failed connections since the last healthy one
    last_error: str = ""
    next_retry_at: float | None = None
    clock_skew_s: float | None = None  # median of received_at - sent_at over recent events
    total: int | None = None  # events a replay will deliver; `received` counts those done

    def summary(self, now: float) -> str:
        """One line for the status bar, e.g. 'connected · last msg 0.4 s'."""
        text = self._state_text(now)
        if self.clock_skew_s is not None and abs(self.clock_skew_s) > SKEW_WARN_S:
            text += f" · clock skew {self.clock_skew_s:+.1f} s"
        return text

    def _state_text(self, now: float) -> str:
        if self.total is not None and self.state in (FeedState.CONNECTED, FeedState.STOPPED):
            if self.total == 0 and self.last_error:
                return f"replay failed: {self.last_error}"
            if self.state is FeedState.CONNECTED:
                return f"replaying · {self.received}/{self.total} events"
            done = "replay finished" if self.received >= self.total else "replay stopped"
            return f"{done} · {self.received}/{self.total} events"
        if self.state is FeedState.CONNECTED:
            if self.last_message_at is None:
                return "connected · no data yet"
            return f"connected · last msg {_age(now - self.last_message_at)}"
        if self.state is FeedState.STALE:
            since = self.last_message_at if self.last_message_at is not None else self.connected_since
            text = "STALE: no data" if since is None else f"STALE: no data for {_age(now - since)}"
            if self.next_retry_at is not None and self.next_retry_at > now:
                text += f" · retry in {_age(self.next_retry_at - now)}"
            return text
        if self.state is FeedState.RECONNECTING:
            wait = "" if self.next_retry_at is None else f" in {_age(self.next_retry_at - now)}"
            text = f"reconnecting{wait} (attempt {self.attempt})"
            return f"{text}: {self.last_error}" if self.last_error else text
        if self.state is FeedState.CONNECTING:
            return "connecting…" if self.attempt == 0 else f"connecting… (attempt {self.attempt + 1})"
        return "stopped"


class SkewMeter:
    """Running median of (received_at - sent_at): a sender's clock off by seconds makes every
    "time since detection" on the wall wrong by as much, so the operator must be told.

    `add` is O(1) for the feed's hot path; the median is computed only when health is read.
    """

    def __init__(self, window: int = 100) -> None:
        self._samples: deque[float] = deque(maxlen=window)

    def add(self, received_at: float, sent_at: float) -> None:
        self._samples.append(received_at - sent_at)

    def __len__(self) -> int:
        return len(self._samples)

    def median(self) -> float | None:
        """The median offset in seconds, or None before the first sample."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
