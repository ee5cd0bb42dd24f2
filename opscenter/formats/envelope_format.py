"""The project's own JSON envelope as a file format: one event per line (JSON Lines)."""

from __future__ import annotations

from typing import Iterator

from ..envelope import decode_event
from ..errors import ParseError
from .base import FormatParser, Parsed, strip_bom


class EnvelopeParser(FormatParser):
    name = "envelope"
    description = "OpsCenter JSON event envelope, one event per line (docs/FEEDS.md)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        first = strip_bom(head).lstrip()[:400]
        if first.startswith(b"{") and b'"kind"' in first and b'"record"' in first and b'"seq"' in first:
            return 0.95
        return 0.0

    def parse(self, data: bytes) -> Iterator[Parsed]:
        for number, line in enumerate(strip_bom(data).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield decode_event(line, self.source).payload
            except ParseError as exc:
                exc.reason = f"line {number}: {exc.reason}"
                yield exc
