"""Typed errors, so callers can quarantine bad input without catching everything."""

from __future__ import annotations


class OpsCenterError(Exception):
    """Base of every error the core raises on purpose."""


class ParseError(OpsCenterError):
    """A message from a feed could not be turned into a domain record.

    Carries the feed name and a human reason, because the operator must see *which* source
    sent *what* kind of garbage, not a stack trace.
    """

    def __init__(self, source: str, reason: str, raw: bytes | str | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "replace")
        self.raw = raw


class FeedError(OpsCenterError):
    """A feed connection failed (network, HTTP status, stall)."""
