"""The interface every format parser offers, and small helpers they share."""

from __future__ import annotations

import hashlib
import json
import math
import re
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterator
from zoneinfo import ZoneInfo

from ..domain import Deletion, Record
from ..envelope import MAX_ID, MAX_TEXT
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

    def load_json(self, data: bytes) -> Any:
        """A whole JSON document, size-capped, or a ParseError saying why not."""
        if len(data) > MAX_DOCUMENT:
            raise self.fail(f"document larger than {MAX_DOCUMENT} bytes")
        try:
            return json.loads(strip_bom(data).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise self.fail(f"not UTF-8 ({exc.reason})", data[:4096]) from None
        except (ValueError, RecursionError) as exc:
            raise self.fail(f"not JSON ({str(exc)[:120]})", data[:4096]) from None


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


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BLANKS = re.compile(r"\s+")


def clean_text(value: object, limit: int = MAX_TEXT) -> str:
    """One line of display text from whatever a feed sent: control characters and runs of
    blanks become one space, clipped to `limit` with an ellipsis — records refuse control
    characters and long strings, and a bad field should cost its tail, not the record."""
    if not isinstance(value, str) or not value:
        return ""
    text = _BLANKS.sub(" ", _CONTROL.sub(" ", value)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_ident(value: object, limit: int = MAX_ID) -> str:
    """A record id from a feed key: the key when it fits, else its start plus a digest of the
    whole, so long keys that differ only at the end stay distinct — and the same next import."""
    key = clean_text(value, limit=10_000)
    if len(key) <= limit:
        return key
    return key[: limit - 17] + "~" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data
