"""Which formats exist, and which one a file or message is (when nobody says).

Parsers are imported on first use so a missing optional piece never stops the others.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import ParseError
from .base import FormatParser

FORMATS: dict[str, tuple[str, str]] = {
    "envelope": ("opscenter.formats.envelope_format", "EnvelopeParser"),
    "cap": ("opscenter.formats.cap", "CapParser"),
    "cot": ("opscenter.formats.cot", "CotParser"),
    "eido": ("opscenter.formats.eido", "EidoParser"),
    "usgs-geojson": ("opscenter.formats.usgs", "UsgsGeoJsonParser"),
    "dc-shotspotter": ("opscenter.formats.gunshot", "DcShotSpotterParser"),
    "jtl-shotspotter": ("opscenter.formats.gunshot", "JtlShotSpotterParser"),
    "chicago-shotspotter": ("opscenter.formats.gunshot", "ChicagoShotSpotterParser"),
    "baltimore-part1": ("opscenter.formats.baltimore", "BaltimorePart1Parser"),
    "baltimore-arrests": ("opscenter.formats.baltimore", "BaltimoreArrestsParser"),
    "baltimore-911": ("opscenter.formats.baltimore", "Baltimore911Parser"),
    "seattle-fire": ("opscenter.formats.seattle", "SeattleFireParser"),
}

SNIFF_BYTES = 64 * 1024


def parser_class(name: str) -> type[FormatParser]:
    if name not in FORMATS:
        raise KeyError(f"unknown format {name!r}; known: {', '.join(sorted(FORMATS))}")
    module, attr = FORMATS[name]
    return getattr(importlib.import_module(module), attr)


def make_parser(name: str, source: str) -> FormatParser:
    """A fresh parser instance for one feed or file."""
    return parser_class(name)(source)


def detect(head: bytes, filename: str = "", source: str = "") -> str:
    """The most likely format of `head`; ParseError naming the source when none fits."""
    scores = []
    for name in FORMATS:
        try:
            cls = parser_class(name)
        except (ImportError, AttributeError):
            continue
        try:
            score = cls.sniff(head[:SNIFF_BYTES], Path(filename).name)
        except Exception:  # a sniffer must never decide for the others
            score = 0.0
        scores.append((score, name))
    scores.sort(reverse=True)
    if not scores or scores[0][0] < 0.5:
        raise ParseError(source or filename, "format not recognised; give it with --format "
                         f"({', '.join(sorted(FORMATS))})")
    return scores[0][1]
