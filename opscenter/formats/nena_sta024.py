"""NENA-STA-024 EIDO conveyance (WebSocket subscribe/notify): the subscriber's side, without I/O.

The caller owns the socket; `Sta024Session` decides what each message means and what to answer,
so the protocol is testable without a network and the same logic serves any transport.

Wire form: one JSON object per WebSocket text message; its single key names the message.
WebSocket sub-protocol: `emergency-ent1.0`. Status codes are HTTP-like (200 OK, 400 bad
request, 404 subscription does not exist; a refusal may use any 4xx/5xx).

    subscriber → notifier
      {"subscribe": {"requestId", "requestType": "eido", "requestSubType": "new" | "single",
                     "incidentId"?, "subscriptionId"? (renewal), "expires"?, "minRate"?}}
      {"eventResponse": {"transactionId", "statusCode", "statusText"}}
      {"unsubscribe": {"requestId", "subscriptionId"}}
      {"terminateResponse": {"requestId", "subscriptionId", "statusCode", "statusText"}}
    notifier → subscriber
      {"subscribeResponse": {"requestId", "subscriptionId", "statusCode", "statusText",
                             "expires"?, "minRate"?}}
      {"event": {"subscriptionId", "transactionId", "notification": [EIDO, ...]}}
      {"unsubscribeResponse": {"requestId", "subscriptionId", "statusCode", "statusText"}}
      {"terminate": {"requestId", "subscriptionId", "reason"?}}

States: idle → subscribing → subscribed (→ unsubscribing) → terminated. A refused subscribe
goes back to idle. Every event gets an eventResponse with its transactionId: 200 when its EIDOs
were taken (an empty notification is a keep-alive), 400 naming the fault when it is malformed
(the EIDO objects in it are still delivered), 404 for an unknown subscription. The ack means
"received"; whether an EIDO makes sense is `EidoParser`'s business. A repeated transactionId is
acknowledged again but not delivered twice.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import OpsCenterError, ParseError

SUBPROTOCOL = "emergency-ent1.0"
MAX_MESSAGE = 16 * 1024 * 1024  # bytes of one WebSocket message
MAX_NOTIFICATION = 1000  # EIDOs in one event
MAX_ID_LENGTH = 256
OK, BAD_REQUEST, NOT_FOUND = 200, 400, 404
_STATUS_TEXT = {OK: "OK", BAD_REQUEST: "Bad Request", NOT_FOUND: "Subscription Does Not Exist"}
_FROM_NOTIFIER = ("subscribeResponse", "event", "unsubscribeResponse", "terminate")
_FROM_SUBSCRIBER = ("subscribe", "eventResponse", "unsubscribe", "terminateResponse")


class SessionState(str, enum.Enum):
    IDLE = "idle"
    SUBSCRIBING = "subscribing"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBING = "unsubscribing"
    TERMINATED = "terminated"


class ProtocolStateError(OpsCenterError):
    """The caller asked for a step the session's state does not allow (a bug, not bad input)."""


@dataclass
class Reaction:
    """What one incoming message means: replies to send in order, EIDOs to parse, problems."""

    state: SessionState
    replies: list[dict] = field(default_factory=list)
    eidos: list[dict] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    note: str = ""


# -- message builders (both sides, so tests and tools speak the same shapes) -------------------

def subscribe_message(request_id: str, subscription_id: str | None = None, sub_type: str = "new",
                      incident_id: str | None = None, expires: int | None = None,
                      min_rate: int | None = None) -> dict:
    body: dict[str, Any] = {"requestId": request_id, "requestType": "eido", "requestSubType": sub_type}
    optional = {"incidentId": incident_id, "subscriptionId": subscription_id, "expires": expires,
                "minRate": min_rate}
    body.update({k: v for k, v in optional.items() if v is not None})
    return {"subscribe": body}


def subscribe_response(request_id: str, subscription_id: str | None, status: int = OK,
                       text: str | None = None, expires: int | None = None) -> dict:
    body: dict[str, Any] = {"requestId": request_id, "subscriptionId": subscription_id,
                            "statusCode": status, "statusText": text or _STATUS_TEXT.get(status, "")}
    if expires is not None:
        body["expires"] = expires
    return {"subscribeResponse": body}


def event_message(subscription_id: str, transaction_id: str, eidos: list[dict]) -> dict:
    return {"event": {"subscriptionId": subscription_id, "transactionId": transaction_id,
                      "notification": eidos}}


def event_response(transaction_id: str | None, status: int = OK, text: str | None = None) -> dict:
    body: dict[str, Any] = {"statusCode": status, "statusText": text or _STATUS_TEXT.get(status, "")}
    if transaction_id is not None:
        body = {"transactionId": transaction_id, **body}
    return {"eventResponse": body}


def unsubscribe_message(request_id: str, subscription_id: str) -> dict:
    return {"unsubscribe": {"requestId": request_id, "subscriptionId": subscription_id}}


def unsubscribe_response(request_id: str, subscription_id: str, status: int = OK) -> dict:
    return {"unsubscribeResponse": {"requestId": request_id, "subscriptionId": subscription_id,
                                    "statusCode": status, "statusText": _STATUS_TEXT.get(status, "")}}


def terminate_message(request_id: str, subscription_id: str, reason: str = "") -> dict:
    body = {"requestId": request_id, "subscriptionId": subscription_id}
    return {"terminate": {**body, "reason": reason} if reason else body}


def terminate_response(request_id: str | None, subscription_id: str | None, status: int = OK) -> dict:
    return {"terminateResponse": {"requestId": request_id, "subscriptionId": subscription_id,
                                  "statusCode": status, "statusText": _STATUS_TEXT.get(status, "")}}


def encode(message: dict) -> str:
    """Compact JSON for one WebSocket text message."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def decode(message: dict | bytes | str, source: str, names: tuple[str, ...] = _FROM_NOTIFIER
           + _FROM_SUBSCRIBER) -> tuple[str, dict]:
    """(message name, body) of one message; ParseError for anything that is not one of `names`."""
    raw = message
    if isinstance(message, (bytes, bytearray, str)):
        if len(message) > MAX_MESSAGE:
            raise ParseError(source, f"message larger than {MAX_MESSAGE} bytes")
        try:
            message = json.loads(message)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(source, f"not JSON ({str(exc)[:120]})", _raw(raw)) from None
    if not isinstance(message, dict) or len(message) != 1:
        raise ParseError(source, "not an object with exactly one message name", _raw(raw))
    name, body = next(iter(message.items()))
    if name not in names:
        raise ParseError(source, f"unknown message {str(name)[:40]!r}", _raw(raw))
    if not isinstance(body, dict):
        raise ParseError(source, f"{name}: body is not an object", _raw(raw))
    return name, body


def _raw(raw: Any) -> bytes | str | None:
    if isinstance(raw, (bytes, str)):
        return raw[:4096]
    return None


def _ident(body: dict, name: str) -> str | None:
    value = body.get(name)
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable():
        return value
    return None


def _status(body: dict) -> int | None:
    value = body.get("statusCode")
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 999:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) == 3:
        return int(value)
    return None


class Sta024Session:
    """One subscription over one WebSocket, seen from the subscriber (the wall)."""

    def __init__(self, source: str, sub_type: str = "new", incident_id: str | None = None,
                 expires: int | None = None, min_rate: int | None = None,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.source = source
        self.sub_type = sub_type
        self.incident_id = incident_id
        self.expires = expires
        self.min_rate = min_rate
        self.new_id = new_id
        self.state = SessionState.IDLE
        self.subscription_id: str | None = None
        self._pending: str | None = None  # requestId of the subscribe/unsubscribe in flight
        self._recent: deque[str] = deque(maxlen=512)  # transactionIds already delivered

    def subscribe(self) -> dict:
        """The subscribe to send; renews the subscription when already subscribed."""
        if self.state in (SessionState.SUBSCRIBING, SessionState.UNSUBSCRIBING):
            raise ProtocolStateError(f"cannot subscribe while {self.state.value}")
        renewing = self.state is SessionState.SUBSCRIBED
        if not renewing:
            self.subscription_id = None
            self.state = SessionState.SUBSCRIBING
        self._pending = self.new_id()
        return subscribe_message(self._pending, self.subscription_id if renewing else None,
                                 self.sub_type, self.incident_id, self.expires, self.min_rate)

    def unsubscribe(self) -> dict:
        if self.state is not SessionState.SUBSCRIBED or self.subscription_id is None:
            raise ProtocolStateError(f"cannot unsubscribe while {self.state.value}")
        self.state = SessionState.UNSUBSCRIBING
        self._pending = self.new_id()
        return unsubscribe_message(self._pending, self.subscription_id)

    def handle(self, message: dict | bytes | str) -> Reaction:
        """React to one message from the notifier; never raises for bad input."""
        try:
            name, body = decode(message, self.source, _FROM_NOTIFIER)
        except ParseError as exc:
            return Reaction(self.state, errors=[exc])
        handler = {"subscribeResponse": self._on_subscribe_response, "event": self._on_event,
                   "unsubscribeResponse": self._on_unsubscribe_response,
                   "terminate": self._on_terminate}[name]
        return handler(body)

    def _fail(self, reason: str) -> ParseError:
        return ParseError(self.source, reason)

    def _on_subscribe_response(self, body: dict) -> Reaction:
        renewing = self.state is SessionState.SUBSCRIBED
        if self._pending is None or _ident(body, "requestId") != self._pending or not (
                renewing or self.state is SessionState.SUBSCRIBING):
            return Reaction(self.state, errors=[self._fail("subscribeResponse to no pending subscribe")])
        self._pending = None
        status = _status(body)
        subscription = _ident(body, "subscriptionId") or (self.subscription_id if renewing else None)
        if status is not None and 200 <= status < 300 and subscription is not None:
            self.state, self.subscription_id = SessionState.SUBSCRIBED, subscription
            if isinstance(body.get("expires"), int) and not isinstance(body["expires"], bool):
                self.expires = body["expires"]
            return Reaction(self.state, note=f"subscribed as {subscription}")
        self.state, self.subscription_id = SessionState.IDLE, None
        text = str(body.get("statusText", ""))[:120]
        if status is None or 200 <= status < 300:
            error = self._fail("subscribeResponse without a valid statusCode and subscriptionId")
            return Reaction(self.state, errors=[error], note="subscription not established")
        what = "renewal" if renewing else "subscription"
        return Reaction(self.state, note=f"{what} refused: {status} {text}".strip())

    def _on_event(self, body: dict) -> Reaction:
        transaction = _ident(body, "transactionId")
        if transaction is None:
            error = self._fail("event without a valid transactionId")
            return Reaction(self.state, replies=[event_response(None, BAD_REQUEST,
                                                                "missing transactionId")], errors=[error])
        if (self.state not in (SessionState.SUBSCRIBED, SessionState.UNSUBSCRIBING)
                or body.get("subscriptionId") != self.subscription_id):
            error = self._fail(f"event {transaction} for a subscription this session does not hold")
            return Reaction(self.state, replies=[event_response(transaction, NOT_FOUND)], errors=[error])
        if transaction in self._recent:
            return Reaction(self.state, replies=[event_response(transaction)], note="repeated event")
        notification = body.get("notification", [])
        if notification is None:
            notification = []
        if not isinstance(notification, list) or len(notification) > MAX_NOTIFICATION:
            why = f"notification is not a list of at most {MAX_NOTIFICATION} EIDOs"
            return Reaction(self.state, replies=[event_response(transaction, BAD_REQUEST, why)],
                            errors=[self._fail(f"event {transaction}: {why}")])
        eidos = [item for item in notification if isinstance(item, dict)]
        self._recent.append(transaction)
        bad = [i for i, item in enumerate(notification) if not isinstance(item, dict)]
        if bad:
            why = f"notification item {bad[0]} is not an EIDO object"
            return Reaction(self.state, replies=[event_response(transaction, BAD_REQUEST, why)],
                            eidos=eidos, errors=[self._fail(f"event {transaction}: {why}")])
        return Reaction(self.state, replies=[event_response(transaction)], eidos=eidos,
                        note="keep-alive" if not eidos else "")

    def _on_unsubscribe_response(self, body: dict) -> Reaction:
        if self.state is not SessionState.UNSUBSCRIBING or _ident(body, "requestId") != self._pending:
            return Reaction(self.state, errors=[self._fail("unsubscribeResponse to no pending unsubscribe")])
        status = _status(body)
        self.state, self.subscription_id, self._pending = SessionState.TERMINATED, None, None
        note = "unsubscribed" if status == OK else f"unsubscribed (notifier answered {status})"
        return Reaction(self.state, note=note)

    def _on_terminate(self, body: dict) -> Reaction:
        request = _ident(body, "requestId")
        subscription = _ident(body, "subscriptionId")
        if self.subscription_id is None or subscription != self.subscription_id:
            error = self._fail("terminate for a subscription this session does not hold")
            return Reaction(self.state, replies=[terminate_response(request, subscription, NOT_FOUND)],
                            errors=[error])
        self.state, self.subscription_id, self._pending = SessionState.TERMINATED, None, None
        reason = str(body.get("reason", ""))[:120]
        return Reaction(self.state, replies=[terminate_response(request, subscription)],
                        note=f"terminated by the notifier{': ' + reason if reason else ''}")
