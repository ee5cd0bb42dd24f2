"""CoT parsing on a real TAK session (shared/data/cot, 887 events from 2020-02-08): units,
markers, the device without a fix, replacement by time, deletion, hostile XML and damage."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opscenter.domain import Advisory, Deletion, Kind, Unit, UnitStatus
from opscenter.envelope import record_from_dict, record_to_dict
from opscenter.errors import ParseError
from opscenter.formats.cap import CapParser
from opscenter.formats.cot import CotParser, type_name
from opscenter.store import LiveStore
from tests.conftest import SHARED_DATA

COT_DIR = SHARED_DATA / "cot"
FILES_DIR = COT_DIR / "freetakserver_example_metrics"
STREAM = COT_DIR / "freetakserver_cot_events_time_sorted.xml"
SESSION_START, SESSION_END = "2020-02-08T18:10:44Z", "2020-02-08T18:30:34Z"
HQ_UID = "aa0b0312-b5cd-4c2c-bbbc-9c4c70216261"  # WinTAK "Eliopoli HQ"
HOSTILE_UID = "abc9a11f-0dcf-489f-94fa-629e078bec42"  # "Command & Control Team"

# folder (CoT type) -> files, and what each file becomes
TYPES = {"a-f-G-U-C": 502, "a-f-G-E-V-C": 228, "a-u-G": 69, "a-h-G": 33, "a-u-A-M-F": 23,
         "a-u-G-E-V": 11, "b-m-p-s-m": 10, "a-f-G": 9, "b-t-f": 1, "a-u-A-M-H": 1}
EVENTS = {"a-u-G": "unknown ground", "a-h-G": "hostile ground", "a-u-A-M-F": "unknown air (fixed wing)",
          "a-u-G-E-V": "unknown ground (vehicle)", "b-m-p-s-m": "map point",
          "a-f-G": "friendly ground", "b-t-f": "chat to Eliopoli HQ",
          "a-u-A-M-H": "unknown air (helicopter)"}


def outcome(data: bytes, parser: CotParser | None = None) -> list:
    """Everything parse gives, with a ParseError raised for the whole input as the item."""
    try:
        return list((parser or CotParser("test")).parse(data))
    except ParseError as exc:
        return [exc]


def assert_clean(items: list) -> None:
    for item in items:
        assert isinstance(item, (Unit, Advisory, Deletion, ParseError)), item
        if isinstance(item, (Unit, Advisory)):
            record_from_dict(item.kind, record_to_dict(item), "test")


def when(item: Unit | Advisory) -> float:
    return item.reported_at if isinstance(item, Unit) else item.issued_at


def utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def per_type() -> dict[str, list]:
    out: dict[str, list] = {}
    for folder in sorted(FILES_DIR.iterdir()):
        files = sorted(folder.glob("*.xml"))
        out[folder.name] = [item for f in files for item in outcome(f.read_bytes())]
        assert len(files) == TYPES[folder.name]
    return out


@pytest.fixture(scope="module")
def stream() -> list:
    return outcome(STREAM.read_bytes())


def test_the_887_single_files_parse_by_type(per_type):
    assert {t: len(items) for t, items in per_type.items()} == TYPES  # one item per file
    for items in per_type.values():
        assert_clean(items)
    units = Counter(u.id for u in per_type["a-f-G-U-C"] if isinstance(u, Unit))
    no_fix = [e for e in per_type["a-f-G-U-C"] if isinstance(e, ParseError)]
    assert units == {"C0rv0": 28} and len(no_fix) == 474  # corvTab's tablet never had a fix
    assert all("unit 'corvTab': no position fix" in e.reason for e in no_fix)
    assert {type(u) for u in per_type["a-f-G-E-V-C"]} == {Unit}
    for cot_type, event in EVENTS.items():
        assert {(type(a), a.event) for a in per_type[cot_type]} == {(Advisory, event)}, cot_type


def test_ids_times_and_positions(per_type):
    records = [i for items in per_type.values() for i in items if not isinstance(i, ParseError)]
    assert len(records) == 887 - 474
    advisory_ids = {r.id for r in records if isinstance(r, Advisory)}
    unit_ids = {r.id for r in records if isinstance(r, Unit)}
    assert len(advisory_ids) == 15 and unit_ids == {"Eliopoli HQ", "C0rv0"}  # + corvTab = 18
    times = sorted(when(r) for r in records)
    assert (utc(times[0]), utc(times[-1])) == (SESSION_START, SESSION_END)
    assert all(r.version == round(when(r) * 1000) for r in records)
    placed = [r for r in records if r.lat is not None]
    assert all(43.9 < r.lat < 44.3 and -66.2 < r.lon < -65.9 for r in placed)  # Nova Scotia


def test_units_and_markers_in_detail(per_type):
    hq = next(u for u in per_type["a-f-G-E-V-C"] if isinstance(u, Unit))
    assert (hq.id, hq.status, hq.district, hq.lat, hq.lon) == (
        "Eliopoli HQ", UnitStatus.AVAILABLE, "", 43.97957317, -66.07737696)
    assert utc(hq.reported_at) == SESSION_START
    moving = [u for u in per_type["a-f-G-U-C"] if isinstance(u, Unit) and u.heading]
    assert any(abs(u.heading - 209.49418484) < 1e-6 for u in moving)
    hostile = next(a for a in per_type["a-h-G"] if a.id == HOSTILE_UID)
    assert hostile.category == "cot" and hostile.headline == "Command & Control Team"
    assert hostile.expires_at - hostile.issued_at == 7 * 86400  # stale a week on
    aircraft = per_type["a-u-A-M-F"][0]
    assert aircraft.expires_at - aircraft.issued_at == pytest.approx(300)
    (chat,) = per_type["b-t-f"]
    assert (chat.category, chat.headline, chat.lat, chat.lon) == ("chat", "corvTab: need supoort",
                                                                  None, None)


def test_the_time_sorted_stream_gives_the_same(per_type, stream):
    assert_clean(stream)
    singles = [i for items in per_type.values() for i in items]
    key = lambda r: (r.kind.value, r.id, r.version)  # noqa: E731
    assert sorted((key(r) for r in stream if not isinstance(r, ParseError))) == sorted(
        key(r) for r in singles if not isinstance(r, ParseError))
    assert sum(isinstance(i, ParseError) for i in stream) == 474


def test_latest_report_per_uid_wins_in_any_order(stream):
    records = [r for r in stream if not isinstance(r, ParseError)]
    in_order = LiveStore(clock=lambda: 1581186000.0)
    in_order.apply_many(records)
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    mixed = LiveStore(clock=lambda: 1581186000.0)
    mixed.apply_many(shuffled)
    for kind in (Kind.UNIT, Kind.ADVISORY):
        assert sorted(map(key_of, in_order.all(kind))) == sorted(map(key_of, mixed.all(kind)))
    newest = {}
    for r in records:
        newest[(r.kind, r.id)] = max(newest.get((r.kind, r.id), 0), r.version)
    assert {(r.kind, r.id): r.version for k in Kind for r in mixed.all(k)} == newest
    assert in_order.size(Kind.UNIT) == 2 and in_order.size(Kind.ADVISORY) == 15


def key_of(record: Unit | Advisory) -> tuple[str, int]:
    return record.id, record.version


def delete_event(target: str, at: str = "2020-02-08T18:31:00.000Z") -> bytes:
    return (f"<event version='2.0' uid='del-{target}' type='t-x-d-d' time='{at}' start='{at}' "
            f"stale='{at}' how='h-g-i-g-o'><point lat='0' lon='0' hae='0' ce='9999999' "
            f"le='9999999'/><detail><link uid='{target}' relation='none' type='none'/>"
            f"<__forcedelete/></detail></event>").encode()


def test_a_delete_event_removes_the_marker_and_the_unit():
    parser = CotParser("tak")
    store = LiveStore(clock=lambda: 1581186700.0)
    store.apply_many(r for r in outcome(STREAM.read_bytes(), parser) if not isinstance(r, ParseError))
    assert store.get(Kind.ADVISORY, HOSTILE_UID) is not None
    store.apply_many(outcome(delete_event(HOSTILE_UID), parser))
    assert store.get(Kind.ADVISORY, HOSTILE_UID) is None
    deletions = outcome(delete_event(HQ_UID), parser)  # the parser knows this uid is a unit
    assert Deletion(Kind.UNIT, "Eliopoli HQ", 1581186660000) in deletions
    store.apply_many(deletions)
    assert store.get(Kind.UNIT, "Eliopoli HQ") is None
    old = STREAM.read_bytes().split(b"\n")[0]  # a late copy of an older report stays deleted
    assert store.apply_many(outcome(old, parser)) == Counter({"stale": 1})


def test_a_bad_line_in_the_stream_spoils_only_itself():
    lines = STREAM.read_bytes().split(b"\n")[:20]
    lines[5] = lines[5].replace(b"<detail>", b"<detail", 1)
    items = outcome(b"<?xml version='1.0'?>\n" + b"\n".join(lines))
    errors = [i for i in items if isinstance(i, ParseError)]
    assert len(items) == 20 and any(e.reason.startswith("event 6: not well-formed XML") for e in errors)


def test_events_wrapped_in_one_document_and_pings():
    lines = STREAM.read_bytes().split(b"\n")[:3]
    ping = (b"<event version='2.0' uid='p' type='t-x-c-t' time='2020-02-08T18:11:00Z' "
            b"start='2020-02-08T18:11:00Z' stale='2020-02-08T18:12:00Z' how='h-g-i-g-o'>"
            b"<point lat='0' lon='0' hae='0' ce='0' le='0'/></event>")
    items = outcome(b"<events>" + b"".join(lines) + ping + b"</events>")
    assert [type(i) for i in items] == [Unit, ParseError, Unit]


def test_type_names():
    assert type_name("a-h-G") == "hostile ground"
    assert type_name("a-n-S") == "neutral sea"
    assert type_name("b-m-p-w-GOTO") == "waypoint"
    assert type_name("b-a-o-tbl") == "emergency: 911"
    assert type_name("y-z") == type_name("a-q-G") == "other"


def test_sniffing():
    head = STREAM.read_bytes()[:65536]
    assert CotParser.sniff(head, STREAM.name) >= 0.9 and CapParser.sniff(head, STREAM.name) < 0.5
    one = next(FILES_DIR.glob("a-h-G/*.xml")).read_bytes()
    assert CotParser.sniff(one, "x.xml") >= 0.9


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
    b'&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><event uid="x" type="a-h-G" '
    b'time="2020-02-08T18:11:00Z"><point lat="1" lon="1"/><detail><remarks>&c;</remarks></detail>'
    b'</event>',
    b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><event '
    b'uid="x" type="a-h-G" time="2020-02-08T18:11:00Z"><point lat="1" lon="1"/><detail><remarks>'
    b'&xxe;</remarks></detail></event>',
])
def test_xml_bombs_and_external_entities_are_refused_quickly(doc):
    start = time.perf_counter()
    items = outcome(doc)
    assert time.perf_counter() - start < 1.0
    assert items and all(isinstance(i, ParseError) for i in items)
    assert items[0].reason.startswith("XML refused")


LINES = [line for line in STREAM.read_bytes().split(b"\n") if line.strip()]
SAMPLES = [LINES[0], LINES[1], LINES[200], LINES[-1],
           next(FILES_DIR.glob("b-t-f/*.xml")).read_bytes()]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_only_parse_errors(data):
    assert all(isinstance(i, ParseError) for i in outcome(data))


@FUZZ
@given(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=4), st.data())
def test_damaged_events_give_records_or_parse_errors(events, data):
    blob = b"\n".join(events)
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(blob)))
        end = data.draw(st.integers(start, min(len(blob), start + 60)))
        filler = data.draw(st.sampled_from([
            b"", b"<", b"&", b"'", b"\x00", b"\xff", b"<event ", b"</event>", b"lat='nan'",
            b"time='2020-02-08T18:11:00'", b"type='t-x-d-d'", b"course='1e308'", b"<detail/>"]))
        blob = blob[:start] + filler + blob[end:]
    assert_clean(outcome(blob))
