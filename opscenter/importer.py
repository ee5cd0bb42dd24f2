"""`opscenter import`: load a file of any known format into the archive, and say what happened.

History goes into the archive table (the commanders' figures and the risk models read it), not
into the live picture: a 39,000-row export must not become 39,000 open alerts on the wall.
Imports are idempotent — the same file twice changes nothing — because records keep their ids
and versions.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TextIO

from .domain import Deletion, Record
from .errors import ParseError
from .formats.base import MAX_DOCUMENT
from .formats.registry import detect, make_parser
from .persistence import Archive

ProgressFn = Callable[[int, int], None]


@dataclass
class ImportSummary:
    path: str
    format: str
    read: int = 0
    imported: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"{self.path} ({self.format}): {self.read:,} records read, {self.imported:,} imported, "
            f"{self.unchanged:,} already there, {self.deleted:,} deleted, {self.rejected:,} rejected "
            f"in {self.seconds:.1f} s",
        ]
        for reason, count in self.reasons.most_common(10):
            out.append(f"  rejected {count:,}× {reason}")
        if len(self.reasons) > 10:
            out.append(f"  … and {len(self.reasons) - 10} other reasons")
        return out


_ROW_PREFIX = re.compile(r"^(row|line|feature|entry|alert|event) \d+:\s*", re.IGNORECASE)


def reason_key(error: ParseError) -> str:
    """A rejection reason without its row number, so equal problems are counted together."""
    return _ROW_PREFIX.sub("", error.reason)[:200]


def read_document(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_DOCUMENT:
        raise ParseError(str(path), f"file is {size:,} bytes; the limit is {MAX_DOCUMENT:,}")
    return path.read_bytes()


def parse_file(path: Path, format_name: str | None = None) -> tuple[str, Iterable[Record | Deletion | ParseError], int]:
    """The format (detected if not given), the parsed items, and a count of lines — a cheap
    estimate of the records to come, for the progress bar."""
    data = read_document(path)
    name = format_name or detect(data[:65536], path.name, source=str(path))
    return name, make_parser(name, source=path.name).parse(data), data.count(b"\n")


def import_file(
    path: Path,
    archive: Archive,
    format_name: str | None = None,
    progress: ProgressFn | None = None,
    batch: int = 5000,
) -> ImportSummary:
    """Parse `path` and write its records to the archive in batches."""
    started = time.perf_counter()
    name, items, expected = parse_file(path, format_name)
    summary = ImportSummary(path=str(path), format=name)
    pending: list[Record | Deletion] = []

    def flush() -> None:
        written, unchanged, deleted = archive.write(pending)
        summary.imported += written
        summary.unchanged += unchanged
        summary.deleted += deleted
        pending.clear()

    for item in items:
        if isinstance(item, ParseError):
            summary.rejected += 1
            summary.reasons[reason_key(item)] += 1
            continue
        summary.read += 1
        pending.append(item)
        if len(pending) >= batch:
            flush()
            if progress is not None:
                progress(summary.read + summary.rejected, expected)
    flush()
    summary.seconds = time.perf_counter() - started
    if progress is not None:
        progress(summary.read + summary.rejected, max(expected, summary.read + summary.rejected))
    return summary


class TextProgress:
    """A one-line progress bar on a terminal: share of the expected records, count, time."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.started = time.perf_counter()
        self.enabled = stream.isatty()

    def __call__(self, done: int, expected: int) -> None:
        if not self.enabled:
            return
        spent = time.perf_counter() - self.started
        share = min(1.0, done / expected) if expected else 0.0
        bar = "#" * int(share * 30)
        self.stream.write(f"\r{self.label}: [{bar:<30}] {share:4.0%} {done:,} records, {spent:.1f} s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
