"""What every feed connector shares, so the feed manager can treat SSE, WebSocket, polling and
file replay alike.

A connector owns one transport: it connects, hands raw messages on, and reconnects after any
failure with the same capped exponential backoff and full jitter as the SSE client, so a wall of
screens never hammers a recovering server in lockstep. It knows nothing of formats; whoever
parses its messages reports delivered and rejected events back through `count_delivered` and
`count_rejected`, so `health` tells the operator both "is the line up" and "is the data good".
"""

from __future__ import annotations

import logging
from typing import Iterator, Protocol, runtime_checkable

from .errors import ParseError
from .feed_health import FeedHealth
from .formats.base import FormatParser, Parsed

logger = logging.getLogger(__name__)

RAW_KEEP = 4096  # bytes of a failed document kept for the quarantine


@runtime_checkable
class FeedConnector(Protocol):
    """The face every connector shows the manager (SseFeedClient included)."""

    name: str

    @property
    def health(self) -> FeedHealth: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...

    def count_delivered(self, events: int = 1, sent_at: float | None = None) -> None: ...

    def count_rejected(self, errors: int = 1) -> None: ...


def safe_parse(parser: FormatParser, data: bytes) -> Iterator[Parsed]:
    """`parser.parse(data)`, but a parser bug becomes a ParseError instead of killing the feed."""
    try:
        for item in parser.parse(data):
            yield item
    except ParseError as err:
        if err.raw is None:
            err.raw = data[:RAW_KEEP]
        yield err
    except Exception as exc:  # a parser bug must cost one document, not the feed
        logger.exception("feed %s: parser %s failed", parser.source, type(parser).__name__)
        yield ParseError(parser.source, f"parser failed: {type(exc).__name__}: {exc}"[:200],
                         data[:RAW_KEEP])


