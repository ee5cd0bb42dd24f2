"""Replay a recorded file (or a directory of files) as if it were a live feed.

For training and briefings: the records go out in event-time order at `speed` simulated seconds
per real second (0 or infinity: as fast as possible), through the same store and screens as live
data. Parsing runs in a worker thread, since a year of detections must not freeze the wall.
Health shows progress as events done / total.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from typing import Callable

from .connectors import RAW_KEEP, safe_parse
from .domain import Deletion, Record
from .errors import ParseError
from .feed_health import FeedHealth, FeedState
from .reconnect import ConnectorBase
from .store import event_time as record_time
from .formats.base import MAX_DOCUMENT, FormatParser

logger = logging.getLogger(__name__)

Item = Record | Deletion
_YIELD_EVERY = 256  # records delivered between yields to the loop when not pacing


def event_time(item: Item) -> float | None:
    """When the event happened by the source's clock; None for a deletion (it has no time)."""
    return None if isinstance(item, Deletion) else record_time(item)


def in_event_order(items: list[Item]) -> list[tuple[float, Item]]:
    """Items sorted by event time. A deletion has no time of its own: it takes the time of the
    record it deletes (the latest seen before it in the file), else of the item before it, so
    a delete never overtakes what it removes; the sort is stable, so ties keep file order."""
    known = next((t for t in map(event_time, items) if t is not None), 0.0)
    latest: dict[tuple[str, str], float] = {}
    timed: list[tuple[float, Item]] = []
    for item in items:
        t = event_time(item)
        if isinstance(item, Deletion):
            t = max(known, latest.get((item.kind.value, item.id), known))
        else:
            if t is None:
                t = known
            key = (item.kind.value, item.id)
            latest[key] = max(t, latest.get(key, t))
        known = t
        timed.append((t, item))
    timed.sort(key=lambda pair: pair[0])  # stable
    return timed


class FileReplayClient(ConnectorBase):
    """Emits a file's records once, paced by their event times; `run()` returns when done."""

    def __init__(
        self,
        name: str,
        path: Path,
        parser: FormatParser,
        on_record: Callable[[Item], None],
        *,
        on_reject: Callable[[ParseError], None] | None = None,
        speed: float = 1.0,
        clock: Callable[[], float] = time.time,
        on_state: Callable[[FeedHealth], None] | None = None,
    ) -> None:
        if math.isnan(speed) or speed < 0:
            raise ValueError(f"feed {name}: replay speed must be 0 (as fast as possible) or positive")
        self.path = Path(path)
        super().__init__(name, FeedHealth(name=name, url=f"file {self.path.name}"), clock, on_state)
        self._parser = parser
        self._on_record = on_record
        self._on_reject = on_reject
        self.speed = speed

    def _files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(p for p in self.path.iterdir() if p.is_file() and not p.name.startswith("."))
        return [self.path]

    def _load(self) -> tuple[list[Item], list[ParseError]]:
        """Parse every file (in a worker thread): the records, and the errors for quarantine."""
        items: list[Item] = []
        errors: list[ParseError] = []
        for file in self._files():
            try:
                if file.stat().st_size > MAX_DOCUMENT:
                    raise ParseError(self.name, f"{file.name}: larger than {MAX_DOCUMENT} bytes")
                data = file.read_bytes()
            except ParseError as err:
                errors.append(err)
                continue
            except OSError as exc:
                errors.append(ParseError(self.name, f"cannot read {file.name}: {exc.strerror or exc}"))
                continue
            for parsed in safe_parse(self._parser, data):
                if isinstance(parsed, ParseError):
                    if not parsed.reason.startswith(file.name):
                        parsed.reason = f"{file.name}: {parsed.reason}"
                    if parsed.raw is None:
                        parsed.raw = data[:RAW_KEEP]
                    errors.append(parsed)
                else:
                    items.append(parsed)
        return items, errors

    async def _work(self) -> None:
        """Load, then deliver in event-time order until done or `stop()`."""
        await self._replay()

    async def _replay(self) -> None:
        health = self._health
        self._set_state(FeedState.CONNECTING)
        loop = asyncio.get_running_loop()
        items, errors = await loop.run_in_executor(None, self._load)
        for err in errors:
            health.rejected += 1
            health.last_error = err.reason[:200]
            if self._on_reject is not None:
                self._on_reject(err)
        ordered = in_event_order(items)
        health.total = len(ordered)
        health.connected_since = self._clock()
        self._set_state(FeedState.CONNECTED)
        pace = 0.0 < self.speed < math.inf
        t0 = ordered[0][0] if ordered else 0.0
        r0 = loop.time()
        for index, (t, item) in enumerate(ordered):
            if pace:
                wait = r0 + (t - t0) / self.speed - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            elif index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
            now = self._clock()
            health.received += 1
            health.last_message_at = health.last_event_at = now
            try:
                self._on_record(item)
            except Exception:
                logger.exception("feed %s: consumer failed on %s", self.name, getattr(item, "id", "?"))
