"""Server-Sent Events framing: an incremental parser for clients and a formatter for servers.

The parser follows the WHATWG "event stream interpretation" rules. It is pure (no I/O), so a
client can hand it network chunks split anywhere — inside a UTF-8 sequence, between CR and LF —
and tests can prove the result never depends on where the splits fall.

Comment lines (":" first) come back as `SseComment` so the caller can count them as heartbeats
for liveness. A message larger than `max_message_bytes` raises `SseMessageTooLarge`: a feed that
sends one is broken or hostile, and buffering without a bound would let it exhaust memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import FeedError

MAX_MESSAGE_BYTES = 1 << 20
HEARTBEAT = b": hb\n\n"
# Response (and resume request) header naming the server's numbering of events; see feed_client.
EPOCH_HEADER = "X-Feed-Epoch"
_BOM = b"\xef\xbb\xbf"


class SseError(FeedError):
    """The byte stream broke the event-stream rules badly enough that the connection is useless."""


class SseMessageTooLarge(SseError):
    """One message (or one unterminated line) grew past the parser's size cap."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"SSE message larger than {limit} bytes (at least {size})")
        self.size = size
        self.limit = limit


@dataclass(frozen=True, slots=True)
class SseMessage:
    """One dispatched event. `id` is the stream's last event id at dispatch ("" if none yet)."""

    id: str
    event: str
    data: str


@dataclass(frozen=True, slots=True)
class SseComment:
    """A comment line; servers send these as keep-alive heartbeats."""

    text: str


SseItem = SseMessage | SseComment


class SseParser:
    """Turns a byte stream into messages and comments, one chunk at a time.

    After it raises `SseMessageTooLarge` the parser is reset; the caller should drop the
    connection, since the rest of that stream cannot be trusted to be framed correctly.
    """

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self.last_event_id = ""
        self.retry_ms: int | None = None
        self._buf = bytearray()
        self._skip_lf = False
        self._bom_checked = False
        self._reset_message()

    def _reset_message(self) -> None:
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""

    def reset(self) -> None:
        """Forget everything except the last event id, as after a reconnect."""
        self._buf.clear()
        self._skip_lf = False
        self._bom_checked = False
        self._reset_message()

    def feed(self, chunk: bytes) -> list[SseItem]:
        """Add bytes; return the messages and comments they complete, in order."""
        if not chunk:
            return []
        if self._skip_lf:
            # The previous chunk ended in CR: a LF here belongs to that CRLF.
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        buf = self._buf
        buf += chunk
        if not self._bom_checked:
            if len(buf) < len(_BOM) and _BOM.startswith(bytes(buf)):
                return []
            if buf.startswith(_BOM):
                del buf[: len(_BOM)]
            self._bom_checked = True
        if b"\n" not in chunk and b"\r" not in chunk:
            if len(buf) > self.max_message_bytes:
                size = len(buf)
                self.reset()
                raise SseMessageTooLarge(size, self.max_message_bytes)
            return []
        data = bytes(buf)
        if b"\r" in data:
            if data.endswith(b"\r"):
                self._skip_lf = True
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        rest = lines.pop()
        buf.clear()
        buf += rest
        out: list[SseItem] = []
        try:
            for line in lines:
                self._line(line, out)
            if len(buf) > self.max_message_bytes:
                raise SseMessageTooLarge(len(buf), self.max_message_bytes)
        except SseMessageTooLarge:
            self.reset()
            raise
        return out

    def _line(self, raw: bytes, out: list[SseItem]) -> None:
        if not raw:
            self._dispatch(out)
            return
        line = raw.decode("utf-8", "replace")
        if line[0] == ":":
            out.append(SseComment(line[1:].removeprefix(" ")))
            return
        field, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data_size += len(raw) + 1
            if self._data_size > self.max_message_bytes:
                raise SseMessageTooLarge(self._data_size, self.max_message_bytes)
            self._data.append(value)
        elif field == "id":
            if "\x00" not in value:
                self.last_event_id = value
        elif field == "event":
            self._event = value
        elif field == "retry":
            if value.isascii() and value.isdigit():
                self.retry_ms = int(value)
        # Any other field name is ignored, as the spec says.

    def _dispatch(self, out: list[SseItem]) -> None:
        if self._data:
            out.append(SseMessage(self.last_event_id, self._event or "message", "\n".join(self._data)))
        self._reset_message()


def _check_field(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"SSE {name} must not contain line breaks")


def format_sse(id: str | int | None, data: str, event: str | None = None, retry_ms: int | None = None) -> bytes:
    """Frame one event for the wire; multi-line data becomes several `data:` lines."""
    parts: list[str] = []
    if id is not None:
        id_text = str(id)
        _check_field("id", id_text)
        if "\x00" in id_text:
            raise ValueError("SSE id must not contain NULL")
        parts.append(f"id: {id_text}\n")
    if event is not None:
        _check_field("event", event)
        parts.append(f"event: {event}\n")
    if retry_ms is not None:
        parts.append(f"retry: {int(retry_ms)}\n")
    for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def format_comment(text: str = "") -> bytes:
    """A comment frame (ignored by parsers, but proof the connection is alive)."""
    _check_field("comment", text)
    return f": {text}\n\n".encode("utf-8")
