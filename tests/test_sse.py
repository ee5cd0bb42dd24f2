"""The SSE parser must give the same result however the network splits the bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opscenter.sse import (
    HEARTBEAT,
    SseComment,
    SseError,
    SseMessage,
    SseMessageTooLarge,
    SseParser,
    format_comment,
    format_sse,
)

STREAM = (
    "\ufeff: welcome\r\n"
    "id: 1\r\n"
    "data: first line\r\n"
    "data: second ünïcødé line 🚓\r\n"
    "\r\n"
    "event: shot\r"
    "id: 2\r"
    "data:no space\r"
    "retry: 1500\r"
    "\r"
    "data\n"
    "\n"
    ": hb\n"
    "\n"
    "id: bad\x00id\n"
    "data:  two leading spaces\n"
    "unknown: field\n"
    "\n"
    "id\n"
    "data: cleared id\n\n"
    "data: unterminated at end of stream"
).encode("utf-8")

EXPECTED = [
    SseComment("welcome"),
    SseMessage("1", "message", "first line\nsecond ünïcødé line 🚓"),
    SseMessage("2", "shot", "no space"),
    SseMessage("2", "message", ""),
    SseComment("hb"),
    SseMessage("2", "message", " two leading spaces"),
    SseMessage("", "message", "cleared id"),
]


def parse_all(chunks: list[bytes], **kwargs: int) -> tuple[list[object], SseParser]:
    parser = SseParser(**kwargs)
    out: list[object] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return out, parser


def test_whole_stream_parses_per_spec() -> None:
    items, parser = parse_all([STREAM])
    assert items == EXPECTED
    assert parser.retry_ms == 1500


def test_every_two_way_split_gives_the_same_items() -> None:
    for cut in range(len(STREAM) + 1):
        items, _ = parse_all([STREAM[:cut], STREAM[cut:]])
        assert items == EXPECTED, f"split at byte {cut}"


def test_byte_at_a_time_gives_the_same_items() -> None:
    items, parser = parse_all([STREAM[i : i + 1] for i in range(len(STREAM))])
    assert items == EXPECTED
    assert parser.retry_ms == 1500


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    # Were the LF taken as a second line end, the blank line would dispatch "a" early.
    items, _ = parse_all([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert items == [SseMessage("", "message", "a\nb")]


def test_utf8_split_inside_a_character() -> None:
    raw = "data: 🚓 ü\n\n".encode("utf-8")
    items, _ = parse_all([raw[:7], raw[7:9], raw[9:]])
    assert items == [SseMessage("", "message", "🚓 ü")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    items, _ = parse_all([b"data: \xff\xfe ok\n\n"])
    assert items == [SseMessage("", "message", "\ufffd\ufffd ok")]


def test_comment_only_stream_reports_heartbeats() -> None:
    items, _ = parse_all([HEARTBEAT * 3])
    assert items == [SseComment("hb")] * 3


def test_non_digit_retry_is_ignored() -> None:
    _, parser = parse_all([b"retry: 12a\n\nretry: 250\n\nretry: \xd9\xa3\n\n"])
    assert parser.retry_ms == 250


def test_oversize_message_raises_typed_error() -> None:
    parser = SseParser(max_message_bytes=1000)
    with pytest.raises(SseMessageTooLarge) as info:
        for _ in range(20):
            parser.feed(b"data: " + b"x" * 100 + b"\n")
    assert info.value.limit == 1000
    assert isinstance(info.value, SseError)


def test_oversize_unterminated_line_raises_even_in_small_chunks() -> None:
    parser = SseParser(max_message_bytes=1000)
    with pytest.raises(SseMessageTooLarge):
        for _ in range(200):
            parser.feed(b"data: xxxxxxxxxx")


def test_message_at_the_cap_is_accepted() -> None:
    payload = "y" * 900
    items, _ = parse_all([format_sse(1, payload)], max_message_bytes=1000)
    assert items == [SseMessage("1", "message", payload)]


def test_format_round_trips_multiline_and_event() -> None:
    frame = format_sse(42, "a\nb\r\nc", event="shot") + format_comment("hb")
    items, _ = parse_all([frame])
    assert items == [SseMessage("42", "shot", "a\nb\nc"), SseComment("hb")]


def test_format_rejects_line_breaks_in_id() -> None:
    with pytest.raises(ValueError):
        format_sse("1\n2", "x")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=30))
def test_arbitrary_bytes_only_raise_the_typed_error(chunks: list[bytes]) -> None:
    parser = SseParser(max_message_bytes=256)
    for chunk in chunks:
        try:
            items = parser.feed(chunk)
        except SseError:
            continue
        for item in items:
            assert isinstance(item, (SseMessage, SseComment))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**9), st.text(max_size=40), st.sampled_from([None, "shot", "unit"])),
        max_size=8,
    ),
    st.data(),
)
def test_formatted_events_survive_any_chunking(events: list[tuple[int, str, str | None]], data: st.DataObject) -> None:
    wire = b"".join(format_sse(i, text.replace("\x00", ""), event) for i, text, event in events)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)])]
    items, _ = parse_all(chunks)
    expected = [
        SseMessage(str(i), event or "message", text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n"))
        for i, text, event in events
    ]
    assert items == expected
