"""The interface every format parser offers, and small helpers they share."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import ClassVar, Iterator
from zoneinfo import ZoneInfo

from ..domain import Deletion, Record
from ..errors import ParseError

Parsed = Record | Deletion | ParseError
"""What a parser yields: a record, a deletion, or the error for one bad item (the rest go on)."""

MAX_DOCUMENT = 256 * 1024 * 1024  # bytes; a bigger file is refused, not read into memory


class FormatParser(ABC):
    """One instance per feed or file: a parser may keep state between documents (for example
    the ids of the last USGS snapshot, to turn vanished ids into deletions)."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, source: str) -> None:
        self.source = source

    @classmethod
    @abstractmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        """Confidence 0..1 that `head` (the first 64 KiB of a file or message) is this format."""

    @abstractmethod
    def parse(self, data: bytes) -> Iterator[Parsed]:
        """Parse one document (a file's content or one feed message).

        Yields records/deletions and, for each bad item, a ParseError; raises ParseError when
        the document as a whole is unreadable.
        """

    def fail(self, reason: str, raw: bytes | str | None = None) -> ParseError:
        return ParseError(self.source, reason, raw)


def local_to_epoch(text: str, fmt: str, zone: str) -> float:
    """A local wall-clock time without zone (as exports write them) to UTC epoch seconds.

    Ambiguous times at the end of DST take the first occurrence (fold=0), as most exports do.
    """
    naive = datetime.strptime(text.strip(), fmt)
    return naive.replace(tzinfo=ZoneInfo(zone)).timestamp()


def iso_to_epoch(text: str) -> float:
    """ISO 8601 with an offset or Z (CAP, CoT, EIDO) to epoch seconds; refuses naive times."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time {text[:40]!r} has no zone")
    return value.timestamp()


def utc_epoch(value: datetime) -> float:
    return value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp()


def coordinate(lat: object, lon: object) -> tuple[float, float] | None:
    """Valid (lat, lon) floats, or None for empty, zero-island or out-of-range values."""
    try:
        la, lo = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(la) and math.isfinite(lo)) or not (-90 <= la <= 90 and -180 <= lo <= 180):
        return None
    if abs(la) < 1e-6 and abs(lo) < 1e-6:
        return None  # (0, 0): a device with no fix, not a place
    return la, lo


def strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data
