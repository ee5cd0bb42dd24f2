"""`opscenter replay`: serve a file as a live feed, in event-time order, at a chosen speed.

For training and briefings: last New Year's Eve, or a week of real detections, played into a
running wall (`opscenter run --feed http://127.0.0.1:8766/events`) exactly as a live feed would
arrive, with resume and health like any other feed.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import logging
import time
from pathlib import Path

from .demo_feed import DemoFeedServer
from .domain import Deletion, Record
from .errors import ParseError
from .importer import parse_file
from .replay import in_event_order
from .store import EVENT_TIME_FIELD

log = logging.getLogger(__name__)


class RecordTimeline:
    """Records in event-time order (deletions keep their place behind the record before them),
    handed out as the replay clock passes them."""

    def __init__(self, items: list[Record | Deletion]) -> None:
        ordered = in_event_order(items)
        self._records = [item for _, item in ordered]
        self._times = [t for t, _ in ordered]
        self._next = 0
        self.start = self._times[0] if self._times else 0.0
        self.end = self._times[-1] if self._times else 0.0

    def __len__(self) -> int:
        return len(self._records)

    @property
    def done(self) -> int:
        return self._next

    def retimed(self, origin: float, speed: float) -> "RecordTimeline":
        """The same records as if happening live from `origin`, `speed` times faster:
        t' = origin + (t - start) / speed. Played at real time, they arrive as they say."""
        moved: list[Record | Deletion] = []
        for record in self._records:
            if isinstance(record, Deletion):
                moved.append(record)
                continue
            name = EVENT_TIME_FIELD[record.kind]
            when = origin + (getattr(record, name) - self.start) / speed
            moved.append(dataclasses.replace(record, **{name: when}))
        return RecordTimeline(moved)

    def advance_to(self, t: float) -> list[Record | Deletion]:
        stop = bisect.bisect_right(self._times, t, lo=self._next)
        out = self._records[self._next:stop]
        self._next = stop
        return out


def load_timeline(path: Path, format_name: str | None = None) -> tuple[RecordTimeline, str, int]:
    """Parse the file; returns the timeline, the format and how many items were rejected."""
    name, items, _ = parse_file(path, format_name)
    good: list[Record | Deletion] = []
    rejected = 0
    for item in items:
        if isinstance(item, ParseError):
            rejected += 1
        else:
            good.append(item)
    return RecordTimeline(good), name, rejected


async def run_replay_feed(path: Path, format_name: str | None, speed: float, host: str, port: int,
                          on_ready=None, as_live: bool = True) -> None:
    """Serve the file as an SSE feed until every record has gone out, then keep serving.

    `as_live` moves the file's times so its first event happens now: the wall then ages,
    retains and alerts on them as it would on a live feed.
    """
    timeline, name, rejected = load_timeline(path, format_name)
    if not len(timeline):
        raise ParseError(str(path), "nothing to replay: no valid records")
    if as_live:
        timeline, speed = timeline.retimed(time.time() + 1.0, speed), 1.0
    server = DemoFeedServer(timeline, speed=speed, start=timeline.start - 1.0,
                            epoch=f"replay-{path.name}-{timeline.start:.0f}-{speed:g}")
    actual = await server.start(host, port)
    log.info("replaying %s (%s, %d records, %d rejected) at %gx on http://%s:%d/events",
             path, name, len(timeline), rejected, speed, host, actual)
    if on_ready is not None:
        on_ready(actual, len(timeline), rejected, name)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
