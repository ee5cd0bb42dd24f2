"""NENA-STA-024 EIDO conveyance: the subscriber state machine, and a real WebSocket exchange."""

from __future__ import annotations

import asyncio
import copy
import json
from itertools import count

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from opscenter.domain import CallForService, Incident, Kind
from opscenter.errors import ParseError
from opscenter.formats.eido import EidoParser
from opscenter.formats.nena_sta024 import (
    SUBPROTOCOL,
    ProtocolStateError,
    SessionState,
    Sta024Session,
    decode,
    encode,
    event_message,
    subscribe_response,
    terminate_message,
    unsubscribe_response,
)
from opscenter.store import LiveStore, Outcome
from tests.conftest import SHARED_DATA, serve_app

TRANSFER = json.loads((SHARED_DATA / "eido" / "nena_sta021_sample_call_transfer_eido.json").read_text())
DRAFT = json.loads((SHARED_DATA / "eido" / "nena_sta021_sample_eido_2020_draft.json").read_text())


def session() -> Sta024Session:
    ids = count(1)
    return Sta024Session("sta024-test", expires=3600, new_id=lambda: f"req-{next(ids)}")


def subscribed() -> Sta024Session:
    s = session()
    s.subscribe()
    s.handle(subscribe_response("req-1", "sub-9"))
    return s


def test_subscribe_message_and_successful_response() -> None:
    s = session()
    assert s.subscribe() == {"subscribe": {"requestId": "req-1", "requestType": "eido",
                                           "requestSubType": "new", "expires": 3600}}
    assert s.state is SessionState.SUBSCRIBING
    reaction = s.handle(encode(subscribe_response("req-1", "sub-9", expires=600)))
    assert reaction.state is SessionState.SUBSCRIBED and s.subscription_id == "sub-9"
    assert s.expires == 600 and reaction.errors == [] and reaction.replies == []
    renewal = s.subscribe()["subscribe"]
    assert renewal["subscriptionId"] == "sub-9" and s.state is SessionState.SUBSCRIBED


@pytest.mark.parametrize(("status", "text"), [(403, "Forbidden"), (460, "Unsupported requestType"),
                                              (500, "Server Error")])
def test_refused_subscription_goes_back_to_idle(status: int, text: str) -> None:
    s = session()
    s.subscribe()
    reaction = s.handle(subscribe_response("req-1", None, status, text))
    assert reaction.state is SessionState.IDLE and s.subscription_id is None
    assert reaction.note == f"subscription refused: {status} {text}"
    s.subscribe()  # and may try again
    assert s.state is SessionState.SUBSCRIBING


def test_response_to_someone_elses_request_is_an_error_not_a_state_change() -> None:
    s = session()
    s.subscribe()
    reaction = s.handle(subscribe_response("req-77", "sub-9"))
    assert s.state is SessionState.SUBSCRIBING and isinstance(reaction.errors[0], ParseError)


def test_event_is_acknowledged_with_its_transaction_id_and_delivers_the_eidos() -> None:
    s = subscribed()
    reaction = s.handle(event_message("sub-9", "tx-1", [TRANSFER, DRAFT]))
    assert reaction.eidos == [TRANSFER, DRAFT] and reaction.errors == []
    assert reaction.replies == [{"eventResponse": {"transactionId": "tx-1", "statusCode": 200,
                                                   "statusText": "OK"}}]
    again = s.handle(event_message("sub-9", "tx-1", [TRANSFER]))
    assert again.eidos == [] and again.replies[0]["eventResponse"]["statusCode"] == 200
    keep_alive = s.handle(event_message("sub-9", "tx-2", []))
    assert keep_alive.eidos == [] and keep_alive.note == "keep-alive"


@pytest.mark.parametrize(("body", "status", "tx"), [
    ({"subscriptionId": "sub-9", "notification": [{}]}, 400, None),
    ({"subscriptionId": "sub-9", "transactionId": "tx-5", "notification": "EIDO"}, 400, "tx-5"),
    ({"subscriptionId": "sub-9", "transactionId": "tx-6", "notification": [1, {}]}, 400, "tx-6"),
    ({"subscriptionId": "sub-other", "transactionId": "tx-7", "notification": []}, 404, "tx-7"),
])
def test_malformed_events_get_an_error_response_with_a_reason(body: dict, status: int, tx) -> None:
    reaction = subscribed().handle({"event": body})
    [reply] = reaction.replies
    assert reply["eventResponse"]["statusCode"] == status
    assert reply["eventResponse"].get("transactionId") == tx
    assert reply["eventResponse"]["statusText"] and isinstance(reaction.errors[0], ParseError)


def test_terminate_from_the_notifier_is_answered_and_ends_the_session() -> None:
    s = subscribed()
    reaction = s.handle(terminate_message("req-x", "sub-9", "Shutting Down"))
    assert reaction.state is SessionState.TERMINATED and "Shutting Down" in reaction.note
    assert reaction.replies == [{"terminateResponse": {"requestId": "req-x", "subscriptionId": "sub-9",
                                                       "statusCode": 200, "statusText": "OK"}}]
    late = s.handle(event_message("sub-9", "tx-9", [TRANSFER]))
    assert late.eidos == [] and late.replies[0]["eventResponse"]["statusCode"] == 404


def test_unsubscribe_flow() -> None:
    s = subscribed()
    assert s.unsubscribe() == {"unsubscribe": {"requestId": "req-2", "subscriptionId": "sub-9"}}
    in_flight = s.handle(event_message("sub-9", "tx-3", [DRAFT]))  # still acknowledged
    assert in_flight.eidos == [DRAFT] and s.state is SessionState.UNSUBSCRIBING
    reaction = s.handle(unsubscribe_response("req-2", "sub-9"))
    assert reaction.state is SessionState.TERMINATED and s.subscription_id is None
    with pytest.raises(ProtocolStateError):
        s.unsubscribe()


def test_steps_the_state_does_not_allow_are_refused() -> None:
    s = session()
    with pytest.raises(ProtocolStateError):
        s.unsubscribe()
    s.subscribe()
    with pytest.raises(ProtocolStateError):
        s.subscribe()


@pytest.mark.parametrize("garbage", [b"\xff\x00", "not json", "[]", '{"a": 1, "b": 2}',
                                     '{"subscribe": {}}', '{"event": "x"}', '{"party": {}}', 42])
def test_garbage_gives_a_typed_parse_error_and_no_reply(garbage) -> None:
    s = subscribed()
    reaction = s.handle(garbage)
    assert reaction.replies == [] and reaction.eidos == []
    assert len(reaction.errors) == 1 and isinstance(reaction.errors[0], ParseError)
    assert s.state is SessionState.SUBSCRIBED


def test_decode_names_the_message() -> None:
    assert decode(encode(event_message("s", "t", [])), "x")[0] == "event"
    with pytest.raises(ParseError):
        decode(b"{}", "x")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=500) | st.text(max_size=200).map(lambda t: json.dumps({"event": t})))
def test_arbitrary_input_never_raises(data) -> None:
    reaction = subscribed().handle(data)
    assert all(isinstance(e, ParseError) for e in reaction.errors)
    assert reaction.state in SessionState


# -- end to end over a real WebSocket ---------------------------------------------------------

def notifier(acks: list[dict], eidos: list[dict]) -> web.Application:
    """The PSAP side: accept one subscribe, push each EIDO as an event, then terminate."""

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,))
        await ws.prepare(request)
        request_body = (await ws.receive_json())["subscribe"]
        assert request_body["requestType"] == "eido"
        await ws.send_json(subscribe_response(request_body["requestId"], "sub-1"))
        for number, eido in enumerate(eidos, start=1):
            await ws.send_json(event_message("sub-1", f"tx-{number}", [eido]))
            acks.append((await ws.receive_json())["eventResponse"])
        await ws.send_json(terminate_message("term-1", "sub-1", "Shutting Down"))
        acks.append(await ws.receive_json())
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/IncidentData/ent", handler)
    return app


async def subscriber(url: str, store: LiveStore) -> tuple[Sta024Session, list]:
    """The wall's side: a minimal client loop around the session and the EIDO parser."""
    session, parser, problems = Sta024Session("sta024"), EidoParser("sta024"), []
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, protocols=(SUBPROTOCOL,)) as ws:
            assert ws.protocol == SUBPROTOCOL
            await ws.send_str(encode(session.subscribe()))
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                reaction = session.handle(message.data)
                problems.extend(reaction.errors)
                for eido in reaction.eidos:
                    for item in parser.parse_object(eido):
                        if isinstance(item, ParseError):
                            problems.append(item)
                        else:
                            store.apply(item)
                for reply in reaction.replies:
                    await ws.send_str(encode(reply))
                if session.state is SessionState.TERMINATED:
                    break
    return session, problems


@pytest.mark.asyncio
async def test_subscribe_notify_exchange_end_to_end() -> None:
    updated = copy.deepcopy(TRANSFER)
    updated["lastUpdateTimeStamp"] = "2021-04-30T14:53:49.439-04:00"
    acks: list[dict] = []
    store = LiveStore()
    server = TestServer(notifier(acks, [TRANSFER, DRAFT, updated]))
    await server.start_server()
    try:
        session, problems = await asyncio.wait_for(
            subscriber(str(server.make_url("/IncidentData/ent")), store), timeout=10)
    finally:
        await server.close()
    assert session.state is SessionState.TERMINATED
    assert [a["transactionId"] for a in acks[:3]] == ["tx-1", "tx-2", "tx-3"]
    assert all(a["statusCode"] == 200 for a in acks[:3])
    assert acks[3] == {"terminateResponse": {"requestId": "term-1", "subscriptionId": "sub-1",
                                             "statusCode": 200, "statusText": "OK"}}
    incidents = store.all(Kind.INCIDENT)
    assert len(incidents) == 2 and all(isinstance(i, Incident) for i in incidents)
    assert store.counts[Outcome.UPDATED.value] == 1  # the third EIDO is a newer version
    transfer = store.get(Kind.INCIDENT, "urn:emergency:uid:incidentid:a56e556d871:bcf.state.pa.us")
    assert transfer.version == 1619808829
    [call] = store.all(Kind.CALL)
    assert isinstance(call, CallForService) and call.priority.value == "emergency"
    # the call transfer sample's call has no position by value: reported twice, never dropped silently
    assert len(problems) == 2 and all("no usable location" in p.reason for p in problems)


@pytest.mark.asyncio
async def test_an_eido_websocket_feed_in_the_config_speaks_sta024_end_to_end(tmp_path) -> None:
    """`kind = "websocket"`, `format = "eido"`: the manager subscribes, acknowledges every event
    and the EIDOs reach the store — across a dropped connection, with a new subscription."""
    from aiohttp import web

    from opscenter.domain import Kind
    from opscenter.feed_config import load_feed_config
    from opscenter.runtime import Runtime, RuntimeConfig

    acks: list[str] = []
    subscribes: list[dict] = []
    connections = [0]

    async def notifier(request):
        ws = web.WebSocketResponse(protocols=("emergency-ent1.0",))
        await ws.prepare(request)
        connections[0] += 1
        n = connections[0]
        async for msg in ws:
            body = json.loads(msg.data)
            if "subscribe" in body:
                subscribes.append(body["subscribe"])
                await ws.send_str(json.dumps({"subscribeResponse": {
                    "requestId": body["subscribe"]["requestId"], "subscriptionId": f"sub-{n}",
                    "statusCode": 200, "statusText": "OK"}}))
                await ws.send_str(json.dumps({"event": {"subscriptionId": f"sub-{n}",
                                                        "transactionId": f"tx-{n}",
                                                        "notification": [DRAFT]}}))
            elif "eventResponse" in body:
                acks.append(body["eventResponse"]["transactionId"])
                if n == 1:
                    await ws.close()  # drop: the wall must come back and subscribe again
        return ws

    app = web.Application()
    app.router.add_get("/eido", notifier)
    runner, port = await serve_app(app)
    config = tmp_path / "feeds.toml"
    config.write_text(f'[[feed]]\nname = "cad"\nkind = "websocket"\nformat = "eido"\n'
                      f'url = "ws://127.0.0.1:{port}/eido"\nbackoff_initial_s = 0.05\nbackoff_max_s = 0.2\n')
    runtime = Runtime(RuntimeConfig(db_path=None, feeds=load_feed_config(config)))
    await runtime.start()
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while acks != ["tx-1", "tx-2"]:
            assert asyncio.get_running_loop().time() < deadline, f"acks so far: {acks}"
            await asyncio.sleep(0.05)
        assert len(subscribes) == 2 and all(s["requestType"] == "eido" for s in subscribes)
        assert runtime.store.size(Kind.INCIDENT) == 1 and runtime.store.size(Kind.CALL) == 1
    finally:
        await runtime.stop()
        await runner.cleanup()
