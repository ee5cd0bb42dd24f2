"""Shared pieces of the CSV/TSV file parsers.

Exports from open-data portals differ in small ways between years and tools (a BOM, column
case, `Inside/Outside` vs `Inside_Outside`, an unnamed empty column), so columns are matched
by a normalised key: lower case, letters and digits only. A whole file whose header lacks a
needed column is refused with the missing names listed; a bad row becomes a ParseError naming
its row number (data rows count from 1, the header is not a row) and the rest goes on.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

from ..domain import Record
from ..envelope import MAX_TEXT, record_from_dict, record_to_dict
from ..errors import ParseError
from .base import (
    MAX_DOCUMENT, FormatParser, Parsed, clean_ident, clean_text, coordinate, local_to_epoch, strip_bom,
)

MAX_FIELD = 64 * 1024  # characters; a longer cell is a broken quote, not data
_RAW_LIMIT = 4096
_NON_KEY = re.compile(r"[^0-9a-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_PAIR = re.compile(r"\(\s*([-+]?\d+(?:\.\d*)?)\s*,\s*([-+]?\d+(?:\.\d*)?)\s*\)")
_WKT = re.compile(r"POINT\s*\(\s*([-+]?\d+(?:\.\d*)?)\s+([-+]?\d+(?:\.\d*)?)\s*\)", re.I)


class RowError(ValueError):
    """One row is unusable; the message is the reason shown after "row N: "."""


def column_key(name: str) -> str:
    """The form column names are compared in (`Inside/Outside` == `inside_outside`)."""
    return _NON_KEY.sub("", name.lower())


def decode(data: bytes) -> str:
    """Text of an export: UTF-8 (BOM dropped); older Windows exports fall back to cp1252."""
    body = strip_bom(data)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def header_keys(head: bytes, delimiter: str = ",") -> set[str]:
    """Normalised column names in the first line of `head` (which may be cut anywhere)."""
    first = decode(head[:8192]).splitlines()[:1]
    if not first:
        return set()
    return {column_key(name) for name in first[0].split(delimiter)}


def sniff_columns(head: bytes, columns: Sequence[str], delimiter: str = ",",
                  score: float = 0.9) -> float:
    """`score` when every one of `columns` is in the header line, else 0."""
    keys = header_keys(head, delimiter)
    return score if all(column_key(c) in keys for c in columns) else 0.0


@dataclass(frozen=True, slots=True)
class Row:
    """One data row, its cells keyed by normalised column name."""

    number: int
    cells: dict[str, str]
    raw: str
    keys: dict[str, str]  # column name as the parser writes it → normalised key (a cache)

    def get(self, *names: str) -> str:
        """The first non-empty cell among `names` (aliases), stripped; "" when none."""
        for name in names:
            key = self.keys.get(name)
            if key is None:
                key = self.keys[name] = column_key(name)
            value = self.cells.get(key, "").strip()
            if value:
                return value
        return ""


class Table:
    """A delimited export read once; `rows()` yields Rows and per-row ParseErrors."""

    def __init__(self, data: bytes, source: str, label: str, delimiter: str = ",",
                 quoting: int = csv.QUOTE_MINIMAL) -> None:
        self.source = source
        self.label = label
        if len(data) > MAX_DOCUMENT:
            raise ParseError(source, f"{label}: file larger than {MAX_DOCUMENT // 2**20} MiB")
        self._reader = csv.reader(io.StringIO(decode(data), newline=""), delimiter=delimiter,
                                  quoting=quoting, strict=False)
        self._delimiter = delimiter
        try:
            header = next(self._reader)
        except StopIteration:
            raise ParseError(source, f"{label}: empty file") from None
        except csv.Error as exc:
            raise ParseError(source, f"{label}: unreadable header ({exc})") from None
        self.header = [name.strip() for name in header]
        self.keys: dict[str, int] = {}
        self._names: dict[str, str] = {}
        for index, name in enumerate(self.header):
            key = column_key(name)
            if key and key not in self.keys:  # an unnamed column is ignored; first of twins wins
                self.keys[key] = index

    def has(self, *names: str) -> bool:
        return all(column_key(n) in self.keys for n in names)

    def require(self, *names: str, hint: str = "") -> None:
        """Refuse the file, naming every missing column, when the header lacks any of `names`."""
        missing = [n for n in names if column_key(n) not in self.keys]
        if missing:
            found = ", ".join(n for n in self.header if n)[:300] or "nothing"
            raise ParseError(self.source, f"not a {self.label} file: missing column"
                             f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}{hint}"
                             f" (found: {found})", ",".join(self.header))

    def rows(self) -> Iterator[Row | ParseError]:
        number = 0
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield ParseError(self.source, f"row {number}: unreadable ({exc})")
                continue
            if not any(c.strip() for c in cells):
                continue  # blank line
            number += 1
            if any(len(c) > MAX_FIELD for c in cells):
                yield ParseError(self.source, f"row {number}: a cell longer than {MAX_FIELD} "
                                 "characters (a broken quote?)")
                continue
            raw = self._delimiter.join(cells)[:_RAW_LIMIT]
            values = {key: cells[i] if i < len(cells) else "" for key, i in self.keys.items()}
            yield Row(number, values, raw, self._names)


class CsvFormat(FormatParser):
    """An export with a header row: its required columns recognise it, its zone reads its
    local times. Subclasses set COLUMNS, TITLE and ZONE and convert one row at a time."""

    COLUMNS: tuple[str, ...] = ()
    TITLE = "CSV export"
    ZONE = "UTC"
    SNIFF_SCORE = 0.95

    def __init__(self, source: str, zone: str | None = None) -> None:
        super().__init__(source)
        self.zone = zone or self.ZONE

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        return sniff_columns(head, cls.COLUMNS, score=cls.SNIFF_SCORE)

    def table(self, data: bytes) -> "Table":
        """The file as rows, with a clear error naming what is missing from the header."""
        table = Table(data, self.source, self.TITLE)
        table.require(*self.COLUMNS)
        return table


def convert_rows(table: Table, convert: Callable[[Row], Iterable[Record]]) -> Iterator[Parsed]:
    """Each row through `convert`; every record is checked as the feed envelope would check it,
    and any failure becomes "row N: reason" with the row's text, so one bad row costs one row."""
    for row in table.rows():
        if isinstance(row, ParseError):
            yield row
            continue
        try:
            records = [checked(r, table.source) for r in convert(row)]
        except ParseError as exc:
            yield ParseError(table.source, f"row {row.number}: {exc.reason}", row.raw)
        except (ValueError, TypeError, KeyError, ArithmeticError, OSError) as exc:
            yield ParseError(table.source, f"row {row.number}: {exc}", row.raw)
        else:
            yield from records


def checked(record: Record, source: str) -> Record:
    """The record as the store would accept it from a feed (same limits), or ParseError."""
    return record_from_dict(record.kind, _plain(record), source)


def _plain(record: Record) -> dict[str, object]:
    """`record_to_dict` for flat records, without its deep copy (a big import checks every
    record); records holding tuples go through `record_to_dict` itself."""
    out: dict[str, object] = {}
    for name in record.__dataclass_fields__:
        value = getattr(record, name)
        if isinstance(value, tuple):
            return record_to_dict(record)
        out[name] = value.value if isinstance(value, enum.Enum) else value
    out.pop("source", None)
    return out


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Display text from a cell (the shared cleaner, without an ellipsis marker in ids)."""
    return clean_text(text, limit)


def clean_id(text: str) -> str:
    """An id from a cell; blanks become underscores, a long one keeps a digest of the whole."""
    return clean_ident(clean_text(text, limit=10_000).replace(" ", "_"))


def digest(*parts: str) -> str:
    """Twelve hex characters naming `parts`; the same input gives the same id on every run."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:12]


def synthetic_id(prefix: str, parts: Sequence[str], seen: Counter[str]) -> str:
    """A stable id from row content, for files without ids. Identical rows are told apart by
    their order among themselves, so re-importing the same file gives the same ids."""
    key = digest(*parts)
    seen[key] += 1
    n = seen[key]
    return f"{prefix}{key}" if n == 1 else f"{prefix}{key}-{n}"


def numbered_id(base: str, seen: Counter[str]) -> str:
    """`base`, or `base-2`, `base-3`… for the repeats of an id a file gives more than once."""
    seen[base] += 1
    return base if seen[base] == 1 else f"{base}-{seen[base]}"


def place(lat: object, lon: object) -> tuple[float, float] | None:
    """A usable map position: `coordinate()`, also refusing points within a degree of (0, 0)
    (no city lies there; rounded no-fix positions like 0.001, -0.002 do)."""
    point = coordinate(lat, lon)
    if point is None or (abs(point[0]) < 1.0 and abs(point[1]) < 1.0):
        return None
    return point


def paren_point(text: str) -> tuple[float, float] | None:
    """The last "(lat, lon)" in a cell such as Socrata's `Location 1`."""
    found = _PAIR.findall(text)
    return place(*found[-1]) if found else None


def wkt_point(text: str) -> tuple[float, float] | None:
    """(lat, lon) from WKT `POINT (lon lat)` (longitude first, as WKT always is)."""
    match = _WKT.search(text)
    return place(match.group(2), match.group(1)) if match else None


def local_time(text: str, formats: Sequence[str], zone: str, what: str = "date") -> float:
    """Epoch seconds of a zone-less local time in the first format that fits."""
    value = text.strip()
    if value[4:5] == "-" and value[:4].isdigit():  # ISO 8601 is unambiguous (and fast)
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return (stamp if stamp.tzinfo else stamp.replace(tzinfo=ZoneInfo(zone))).timestamp()
    for fmt in formats:
        try:
            return local_to_epoch(value, fmt, zone)
        except ValueError:
            continue
    raise RowError(f"bad {what} {value[:40]!r}" if value else f"no {what}")


def whole_number(text: str, what: str, high: int) -> int:
    """A count such as rounds fired: "" is 0, "3.0" is 3; negative or above `high` is refused."""
    value = text.strip()
    if not value:
        return 0
    try:
        number = float(value)
    except ValueError:
        raise RowError(f"bad {what} {value[:20]!r}") from None
    if not (0 <= number <= high) or number != int(number):
        raise RowError(f"bad {what} {value[:20]!r}")
    return int(number)
