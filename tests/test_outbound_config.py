"""`[[endpoint]]` webhooks: parsing with named errors, secrets from references, routing, and a hub
that sends a mission to a configured webhook over a real socket."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from opscenter.audit import AuditLog
from opscenter.cli import _config, build_parser
from opscenter.credentials import CredentialError
from opscenter.dissemination import ChannelEndpoint, Delivery, OutboundMessage, WebhookEndpoint
from opscenter.domain import AlertType, ShotAlert
from opscenter.feed_config import ConfigError
from opscenter.hub.client import HubClient
from opscenter.hub.service import HubConfig
from opscenter.outbound_config import (EndpointConfig, RoutedWebhook, Router, build_endpoints, load_endpoint_config,
                                       parse_endpoint_config)
from opscenter.runtime import Runtime, RuntimeConfig
from tests.conftest import serve_app

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "feeds.toml"
SECRET = "s3cr3t-hook-token-42"

GOOD = '''
[[endpoint]]
name = "district-3-cad"
url = "https://cad.example.org/hooks/opscenter"
auth = "env:CAD_HOOK_TOKEN"
headers = { "X-Source" = "opscenter" }
timeout_s = 15
topics = ["missions"]
format = "cap"

[[endpoint]]
name = "rig"
url = "http://127.0.0.1:9999/hook"
verify_tls = false
'''

ONE = '[[endpoint]]\nname = "cad"\nurl = "https://cad.example.org/h"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(text)
    return path


def test_a_good_file_parses_with_defaults(tmp_path: Path) -> None:
    cad, rig = load_endpoint_config(write(tmp_path, GOOD))
    assert cad == EndpointConfig(name="district-3-cad", url="https://cad.example.org/hooks/opscenter",
                                 auth="env:CAD_HOOK_TOKEN", headers=(("X-Source", "opscenter"),), timeout_s=15.0,
                                 verify_tls=True, topics=frozenset({"missions"}), format="cap")
    assert rig.verify_tls is False and rig.topics == {"alerts", "missions"} and rig.format == "envelope"
    assert rig.auth == "" and rig.timeout_s == 10.0 and rig.headers == ()


INVALID = [
    (ONE + 'token = "abc123"\n', ["endpoint 'cad'", "token: refused: looks like a literal secret", 'auth = "env:NAME"']),
    (ONE + 'auth = "abc123"\n', ["endpoint 'cad'", "auth: must be a reference, not a value"]),
    ('[[endpoint]]\nname = "cad"\nurl = "http://cad.example.org/h"\n', ["url: refused: http://", "use https://"]),
    (ONE + 'retries = 3\n', ["endpoint 'cad'", "retries: unknown key for an endpoint", "allowed:"]),
    (ONE + 'verify_tls = false\n', ["verify_tls: false is only allowed for this machine"]),
    (ONE + 'verify_tls = "no"\n', ["verify_tls: must be true or false"]),
    (ONE + 'topics = ["alerts", "weather"]\n', ["topics: unknown topic 'weather'"]),
    (ONE + 'topics = []\n', ["topics: must be a non-empty list"]),
    (ONE + 'format = "fax"\n', ["format: unknown format 'fax'"]),
    (ONE + 'timeout_s = 500\n', ["timeout_s: must be at most 120"]),
    (ONE + 'timeout_s = 0\n', ["timeout_s: must be greater than 0"]),
    (ONE + 'headers = { "Authorization" = "Bearer abc123" }\n', ["headers.Authorization: refused"]),
    (ONE + 'headers = { "X-Api-Key" = "abc123" }\n', ["headers.X-Api-Key: refused"]),
    (ONE + 'headers = { "X-Note" = "Bearer abc123" }\n', ["headers.X-Note: refused: looks like a literal secret"]),
    (ONE + 'headers = { "Content-Type" = "text/plain" }\n', ["headers.Content-Type: is set by OpsCenter"]),
    (ONE + 'headers = { "bad name" = "x" }\n', ["headers: 'bad name' is not a valid HTTP header name"]),
    ('[[endpoint]]\nname = "cad"\nurl = "https://bob:abc123@cad.example.org/h"\n', ["url: refused", "user name"]),
    ('[[endpoint]]\nname = "cad"\nurl = "https://cad.example.org/h?token=abc123"\n', ["url: refused", "secret-looking"]),
    ('[[endpoint]]\nname = "cad"\nurl = "ftp://cad.example.org/h"\n', ["url: scheme must be one of https, http"]),
    ('[[endpoint]]\nname = "hub"\nurl = "https://cad.example.org/h"\n', ["name: 'hub' is the hub's own channel"]),
    ('[[endpoint]]\nurl = "https://cad.example.org/h"\n', ["endpoint #1", "name: missing"]),
    (ONE + ONE.replace('"cad"', '"CAD"'), ["endpoint #2", "'CAD' is already used by endpoint #1"]),
    ('[endpoint]\nname = "cad"\n', ["write each endpoint as an [[endpoint]] table"]),
]


@pytest.mark.parametrize("text, expected", INVALID, ids=[str(i) for i in range(len(INVALID))])
def test_invalid_endpoints_are_refused_naming_file_endpoint_and_key(tmp_path: Path, text: str,
                                                                    expected: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_endpoint_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert "abc123" not in message  # a refused secret is never echoed


def test_credential_from_the_environment_becomes_a_bearer_header(monkeypatch, caplog) -> None:
    monkeypatch.setenv("CAD_HOOK_TOKEN", SECRET)
    configs = parse_endpoint_config({"endpoint": [
        {"name": "cad", "url": "https://cad.example.org/h", "auth": "env:CAD_HOOK_TOKEN",
         "headers": {"X-Source": "opscenter"}, "topics": ["alerts"], "format": "cap"},
        {"name": "open", "url": "https://open.example.org/h"}]}, "wall.toml")
    with caplog.at_level(logging.DEBUG):
        cad, open_ = build_endpoints(configs)
    assert isinstance(cad, WebhookEndpoint) and cad.topics == {"alerts"} and cad.format == "cap"
    assert dict(cad.headers) == {"X-Source": "opscenter", "Authorization": f"Bearer {SECRET}"}
    assert "Authorization" not in open_.headers
    assert SECRET not in repr(cad) and SECRET not in repr(configs) and SECRET not in caplog.text

    monkeypatch.delenv("CAD_HOOK_TOKEN")
    with pytest.raises(CredentialError, match="endpoint 'cad': environment variable CAD_HOOK_TOKEN is not set"):
        build_endpoints(configs)


def test_cli_reads_endpoints_and_briefing_beside_feeds_or_alone(tmp_path: Path) -> None:
    feed = '[[feed]]\nname = "shots"\nkind = "sse"\nurl = "https://shots.example.org/events"\n'
    briefing = '[briefing]\nviews = [{name = "queue", seconds = 10}]\nalert_view = "queue"\n'

    def config(text: str) -> RuntimeConfig:
        return _config(build_parser().parse_args(["run", "--config", str(write(tmp_path, text))]))

    both = config(feed + GOOD + briefing)
    assert [f.name for f in both.feeds] == ["shots"]
    assert [e.name for e in both.endpoints] == ["district-3-cad", "rig"]
    assert both.briefing is not None and both.briefing.alert_view == "queue"
    alone = config(GOOD + briefing)
    assert alone.feeds is None and len(alone.endpoints) == 2  # no feeds: the embedded demo runs
    plain = config(feed)
    assert plain.endpoints is None and plain.briefing is None
    with pytest.raises(ConfigError, match="endpoint 'district-3-cad': format"):
        config(feed + GOOD.replace('"cap"', '"pdf"'))


def test_the_commented_example_parses_when_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    block = text[text.index("# [[endpoint]]"):]
    uncommented = re.sub(r"(?m)^# ?", "", block)
    path = write(tmp_path, uncommented)
    assert [e.name for e in load_endpoint_config(path)] == ["district-3-cad", "mobile-gateway"]
    from opscenter.briefing_config import load_briefing_config

    assert [v.name for v in load_briefing_config(path).views] == ["map", "compstat", "missions"]


@pytest.mark.asyncio
async def test_router_sends_each_webhook_its_topics_in_its_own_format() -> None:
    calls: list[tuple[str, str, list[str]]] = []

    async def send(message: OutboundMessage, endpoints, actor: str) -> list[Delivery]:
        calls.append((message.id, message.content_type, [e.name for e in endpoints]))
        return [Delivery(message.id, e.name, "delivered", 1) for e in endpoints]

    def rebuild(message: OutboundMessage, fmt: str) -> OutboundMessage:
        assert fmt == "cap"
        return OutboundMessage("other-id", message.kind, "application/cap+xml", "<alert/>", message.topic)

    hub = ChannelEndpoint("hub", lambda topic, payload: None)
    endpoints = [RoutedWebhook("alerts-only", "https://a.example.org/h", topics=frozenset({"alerts"})),
                 RoutedWebhook("cap", "https://b.example.org/h", format="cap"),
                 WebhookEndpoint("plain", "https://c.example.org/h"), hub]
    mission = OutboundMessage("mission:m1:7", "mission", "application/json", "{}", "missions")
    deliveries = await Router(send, rebuild).send(mission, endpoints, "olga")
    assert sorted(calls) == [("mission:m1:7", "application/cap+xml", ["cap"]),
                             ("mission:m1:7", "application/json", ["plain", "hub"])]
    assert {d.endpoint for d in deliveries} == {"cap", "plain", "hub"}


def _shot(runtime: Runtime) -> ShotAlert:
    shot = ShotAlert("SST-1", 1, runtime.store.clock(), 39.295, -76.615, AlertType.MULTIPLE, 4, "1200 N Gay St")
    runtime.apply(shot)
    return shot


@pytest.mark.asyncio
async def test_a_hub_sends_a_mission_to_its_configured_webhook(tmp_path: Path, monkeypatch, caplog) -> None:
    received: list[tuple[str, str, str, bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.path, request.headers.get("Authorization", ""),
                         request.headers.get("Content-Type", ""), await request.read()))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/{name}", hook)
    rx, port = await serve_app(receiver)
    monkeypatch.setenv("CAD_HOOK_TOKEN", SECRET)
    path = write(tmp_path, f'''
[[endpoint]]
name = "cad"
url = "http://127.0.0.1:{port}/cad"
auth = "env:CAD_HOOK_TOKEN"
topics = ["missions"]
format = "cap"

[[endpoint]]
name = "mdt"
url = "http://127.0.0.1:{port}/mdt"
topics = ["alerts"]
''')
    runtime = Runtime(RuntimeConfig(db_path=tmp_path / "hub.sqlite3", feed_url="http://127.0.0.1:9/events",
                                    hub=HubConfig(port=0, commit_s=0.02), endpoints=load_endpoint_config(path)))
    caplog.set_level(logging.DEBUG)
    await runtime.start()
    try:
        async with aiohttp.ClientSession() as session:
            ana = HubClient(runtime.hub.url, runtime.hub.users.add("ana", "analyst"), session)
            olga = HubClient(runtime.hub.url, runtime.hub.users.add("olga", "operator"), session)
            await ana.sign_in()
            await olga.sign_in()
            made = await ana.add_mission([[39.29, -76.62], [39.29, -76.61], [39.30, -76.61]], "Box A", "hand")
            deliveries = await olga.send_message("mission", made["id"], "envelope")
            assert {d["endpoint"]: d["state"] for d in deliveries} == {"cad": "delivered", "hub": "delivered"}
            assert len({d["message_id"] for d in deliveries}) == 1
            [(where, auth, ctype, body)] = received
            assert where == "/cad" and auth == f"Bearer {SECRET}"
            assert ctype.startswith("application/cap+xml") and b"<polygon>" in body  # its format, not the sender's

            shot = _shot(runtime)
            deliveries = await olga.send_message("shot", shot.id, "envelope")
            assert {d["endpoint"] for d in deliveries} == {"mdt", "hub"}
            where, auth, ctype, body = received[1]
            assert where == "/mdt" and auth == "" and ctype.startswith("application/json")
            assert json.loads(body)["record"]["id"] == "SST-1"
            assert len(received) == 2
    finally:
        await runtime.stop()
        await rx.cleanup()
    with AuditLog(tmp_path / "hub.sqlite3") as audit:
        entries = audit.entries()
    assert ("olga", "dissemination.delivered") in [(e.actor, e.action) for e in entries]
    assert SECRET not in caplog.text and all(SECRET not in e.content for e in entries)


@pytest.mark.asyncio
async def test_a_missing_secret_stops_start_up_naming_the_endpoint(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_HOOK_TOKEN", raising=False)
    endpoints = [EndpointConfig("cad", "https://cad.example.org/h", auth="env:NO_SUCH_HOOK_TOKEN")]
    runtime = Runtime(RuntimeConfig(db_path=tmp_path / "hub.sqlite3", feed_url="http://127.0.0.1:9/events",
                                    hub=HubConfig(port=0), endpoints=endpoints))
    with pytest.raises(CredentialError, match="endpoint 'cad': environment variable NO_SUCH_HOOK_TOKEN"):
        await runtime.start()
    assert runtime.hub is None and runtime.journal is None  # nothing left open
    await asyncio.sleep(0)
