"""Sending missions and shot alerts: real local HTTP receivers, a hub channel, CAP that parses back."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from opscenter.audit import AuditLog
from opscenter.cap_out import CapBuildError, build_alert, mission_cap, shot_alert_cap
from opscenter.dissemination import (
    ChannelEndpoint, Dispatcher, RetryPolicy, WebhookEndpoint, cap_message, mission_message, shot_message,
)
from opscenter.domain import Advisory, AlertType, ShotAlert
from opscenter.envelope import decode_event
from opscenter.formats.cap import CapParser

SENT = 1_717_200_123.0
SECRET = "Bearer s3cr3t-token-value"
SHOT = ShotAlert(id="S-77", version=2, detected_at=SENT - 30, lat=39.2904, lon=-76.6122,
                 alert_type=AlertType.MULTIPLE, rounds=7, address="1200 W Baltimore St <&> \x07",
                 district="Western")
MISSION = {"id": "M-abc", "label": "Western box 1", "district": "Western", "state": "assigned",
           "units": ["1A21", "1A22"], "polygon": [[39.30, -76.62], [39.30, -76.61], [39.31, -76.61],
                                                  [39.31, -76.62]],
           "centre": [39.305, -76.615], "dosage_min": 0.0, "target_min": 120.0, "created_by": "kim",
           "reason": "internal note", "shift_start": SENT, "shift_end": SENT + 28800,
           "why": [{"event_id": "E1", "age_days": 2.5, "share": 0.4}]}


class Receiver:
    """A local webhook that answers the planned statuses in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.bodies: list[bytes] = []
        self.headers: list[dict] = []
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.server = TestServer(app)

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.headers.append(dict(request.headers))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def url(self) -> str:
        return str(self.server.make_url("/hook"))


@pytest.fixture
def sleeps():
    return []


def dispatcher(session, audit, sleeps, attempts=4):
    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)

    return Dispatcher(session, audit=audit, sleep=fake_sleep, rng=random.Random(1),
                      policy=RetryPolicy(max_attempts=attempts, base_delay_s=1.0, max_delay_s=3.0, jitter=0.5))


@pytest.mark.asyncio
async def test_webhook_failing_twice_is_delivered_on_the_third_attempt(tmp_path, sleeps):
    rx = Receiver([500, 500])
    await rx.server.start_server()
    audit = AuditLog(tmp_path / "a.sqlite3")
    try:
        async with ClientSession() as session:
            d = dispatcher(session, audit, sleeps)
            seen = []
            d.subscribe(lambda delivery: seen.append(delivery.state))
            msg = mission_message(MISSION, seq=5, sent_at=SENT)
            ep = WebhookEndpoint("district-tablets", rx.url(), headers={"Authorization": SECRET}, timeout=5)
            [result] = await d.send(msg, [ep], actor="op.diaz")
    finally:
        await rx.server.close()
    assert (result.state, result.attempts, result.last_error) == ("delivered", 3, "")
    assert seen == ["pending", "pending", "pending", "delivered"]
    assert len(rx.bodies) == 3 and rx.headers[0]["Authorization"] == SECRET
    body = json.loads(rx.bodies[-1])
    assert body["kind"] == "mission" and body["record"]["polygon"][0] == [39.30, -76.62]
    assert "reason" not in body["record"] and "created_by" not in body["record"]
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0
    actions = [(e.action, e.actor) for e in audit.entries()]
    assert actions == [("dissemination.send", "op.diaz"), ("dissemination.delivered", "op.diaz")]
    assert audit.verify().ok
    audit.close()


@pytest.mark.asyncio
async def test_webhook_always_failing_ends_failed_with_the_reason_and_no_secret(tmp_path, sleeps, caplog):
    rx = Receiver([503] * 10)
    await rx.server.start_server()
    audit = AuditLog(tmp_path / "a.sqlite3")
    try:
        async with ClientSession() as session:
            d = dispatcher(session, audit, sleeps, attempts=5)
            ep = WebhookEndpoint("cad-bridge", rx.url() + "?token=qs-secret", headers={"X-Key": SECRET})
            [result] = await d.send(shot_message(SHOT, seq=1, sent_at=SENT), [ep], actor="op.diaz")
    finally:
        await rx.server.close()
    assert (result.state, result.attempts, result.last_error) == ("failed", 5, "HTTP 503")
    assert len(sleeps) == 4 and 1.5 <= sleeps[2] <= 3.0 and 1.5 <= sleeps[3] <= 3.0  # capped at 3 s
    final = audit.entries()[-1]
    assert final.action == "dissemination.failed" and final.details["error"] == "HTTP 503"
    everything = caplog.text + json.dumps([e.to_dict() for e in audit.entries()]) + repr(ep) + repr(result)
    assert SECRET not in everything and "qs-secret" not in everything
    audit.close()


@pytest.mark.asyncio
async def test_client_error_is_final_and_unreachable_host_is_retried(sleeps):
    rx = Receiver([404])
    await rx.server.start_server()
    url = rx.url()
    try:
        async with ClientSession() as session:
            d = dispatcher(session, None, sleeps, attempts=3)
            [r404] = await d.send(shot_message(SHOT, seq=1, sent_at=SENT), [WebhookEndpoint("a", url)], "op")
    finally:
        await rx.server.close()
    assert (r404.state, r404.attempts) == ("failed", 1) and "404" in r404.last_error
    async with ClientSession() as session:
        d = dispatcher(session, None, sleeps, attempts=2)
        [down] = await d.send(shot_message(SHOT, seq=2, sent_at=SENT), [WebhookEndpoint("b", url)], "op")
    assert (down.state, down.attempts) == ("failed", 2) and down.last_error.startswith("connection failed")


@pytest.mark.asyncio
async def test_hub_channel_receives_the_message_beside_a_webhook(sleeps):
    got = []

    async def publish(topic: str, payload: dict) -> None:
        got.append((topic, payload))

    sync_got = []
    rx = Receiver([])
    await rx.server.start_server()
    try:
        async with ClientSession() as session:
            d = dispatcher(session, None, sleeps)
            shot = replace(SHOT, address="1200 W Baltimore St <&>")  # as the store holds it
            msg = shot_message(shot, seq=9, sent_at=SENT)
            results = await d.send(msg, [ChannelEndpoint("hub", publish), WebhookEndpoint("w", rx.url()),
                                         ChannelEndpoint("hub-sync", lambda t, p: sync_got.append(t), "urgent")],
                                   actor="op")
    finally:
        await rx.server.close()
    assert [r.state for r in results] == ["delivered"] * 3
    assert got[0][0] == "alerts" and got[0][1]["kind"] == "shot" and sync_got == ["urgent"]
    event = decode_event(json.dumps(got[0][1]["body"]), "hub")  # the envelope decodes it as a feed would
    assert event.payload == replace(shot, source="hub")


@pytest.mark.asyncio
async def test_failing_channel_reports_the_error_type_only(sleeps):
    def publish(topic: str, payload: dict) -> None:
        raise RuntimeError(f"hub down, password={SECRET}")

    d = dispatcher(None, None, sleeps, attempts=2)
    [r] = await d.send(mission_message(MISSION, seq=1, sent_at=SENT), [ChannelEndpoint("hub", publish)], "op")
    assert (r.state, r.attempts, r.last_error) == ("failed", 2, "RuntimeError")


def test_endpoint_config_is_validated():
    with pytest.raises(ValueError, match="credentials"):
        WebhookEndpoint("x", "https://user:pw@example.org/hook")
    with pytest.raises(ValueError, match="TLS"):
        WebhookEndpoint("x", "https://example.org/hook", verify_tls=False)
    with pytest.raises(ValueError):
        WebhookEndpoint("x", "ftp://example.org/hook")
    with pytest.raises(ValueError):
        WebhookEndpoint("x", "https://example.org/hook", headers={"X": "a\r\nInjected: 1"})
    with pytest.raises(ValueError):
        ChannelEndpoint("", print)
    assert WebhookEndpoint("x", "http://127.0.0.1:9/h", verify_tls=False).verify_tls is False


def _parse(xml: bytes) -> Advisory:
    [item] = list(CapParser("cap-out").parse(xml))
    assert isinstance(item, Advisory), item
    return item


def test_shot_alert_cap_parses_back_to_the_same_area_and_time():
    xml = shot_alert_cap(SHOT, sender="sdsc@example.org", sent=SENT, radius_m=200)
    assert b"<&>" not in xml and b"\x07" not in xml and b"&lt;&amp;&gt;" in xml
    adv = _parse(xml)
    assert adv.issued_at == SENT and adv.status == "actual" and adv.msg_type == "alert"
    assert adv.category == "Security" and adv.severity == "severe"
    assert adv.circles == ((pytest.approx(39.2904), pytest.approx(-76.6122), pytest.approx(200.0)),)
    assert adv.id == "sdsc@example.org/shot-S-77-v2"


def test_mission_cap_parses_back_to_the_same_polygon():
    adv = _parse(mission_cap(MISSION, sender="sdsc", sent=SENT))
    ring = adv.polygons[0]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert [tuple(p) for p in ring[:-1]] == [pytest.approx(tuple(p)) for p in MISSION["polygon"]]
    assert adv.expires_at == SENT + 28800 and adv.issued_at == SENT
    assert adv.lat == pytest.approx(39.305) and adv.lon == pytest.approx(-76.615)
    msg = cap_message(mission_cap(MISSION, sender="sdsc", sent=SENT), kind="mission", message_id="m1")
    assert msg.channel_payload()["content_type"] == "application/cap+xml" and msg.topic == "missions"


def test_cap_builder_refuses_invalid_messages():
    base = dict(identifier="a1", sender="s", sent=SENT, event="e", urgency="Immediate", severity="Severe",
                certainty="Observed", area_desc="x", circles=[(39.0, -76.0, 100.0)])
    build_alert(**base)
    for bad in ({"identifier": "has space"}, {"sender": "a,b"}, {"urgency": "Now"}, {"circles": []},
                {"circles": [(95.0, 0.0, 1.0)]}, {"sent": 12.0}, {"polygons": [[(1.0, 1.0), (1.0, 1.0)]]}):
        with pytest.raises(CapBuildError):
            build_alert(**{**base, **bad})
