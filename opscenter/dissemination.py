"""Sending a mission or a shot alert to units: message building, endpoints, delivery tracking.

An operator's send goes to every configured endpoint at once: webhooks (POST over the app's one
aiohttp session, TLS verified) and hub channels that mobile clients subscribe to. Each endpoint
gets a `Delivery` (pending -> delivered | failed) with its attempt count and last error, so the
wall can show which units' systems have the message. Transient failures (5xx, 408, 429,
network, timeouts) are retried with capped exponential backoff and jitter, so a recovering
receiver is not hammered in lockstep; other 4xx answers are final. Errors name the status or
the exception type only: header values and URL query strings may hold tokens and never appear.

Mission message body (JSON envelope kind "mission", op "upsert"): id, label, district, state,
units, polygon [[lat, lon], ...], centre [lat, lon], shift_start, shift_end, target_min,
dosage_min, why. Shot alerts use the envelope's own "shot" record unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import random
import time
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Mapping, Sequence
from urllib.parse import urlsplit

import aiohttp

from .audit import AuditLog
from .cap_out import CONTENT_TYPE as CAP_CONTENT_TYPE
from .domain import ShotAlert
from .envelope import encode_event

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"
MISSION_FIELDS = ("id", "label", "district", "state", "units", "polygon", "centre", "shift_start",
                  "shift_end", "target_min", "dosage_min", "why")
MAX_BODY = 1_000_000


@dataclass(frozen=True)
class OutboundMessage:
    """What is sent: an id for delivery records, the serialized body and its type."""

    id: str
    kind: str  # "shot" or "mission"
    content_type: str
    body: str
    topic: str

    def channel_payload(self) -> dict[str, Any]:
        """For hub channels: JSON bodies as objects, CAP as text."""
        body: Any = json.loads(self.body) if self.content_type == JSON_CONTENT_TYPE else self.body
        return {"id": self.id, "kind": self.kind, "content_type": self.content_type, "body": body}


def mission_message(mission: Mapping[str, Any], *, seq: int, sent_at: float) -> OutboundMessage:
    """A mission (`Mission.to_dict()`) in the JSON envelope, kind "mission"."""
    record = {k: mission[k] for k in MISSION_FIELDS if k in mission}
    body = json.dumps({"seq": seq, "sent_at": sent_at, "kind": "mission", "op": "upsert", "record": record},
                      separators=(",", ":"), allow_nan=False)
    return OutboundMessage(f"mission:{mission['id']}:{seq}", "mission", JSON_CONTENT_TYPE, body, "missions")


def shot_message(shot: ShotAlert, *, seq: int, sent_at: float) -> OutboundMessage:
    """A shot alert in the project's envelope, exactly as feeds carry it."""
    return OutboundMessage(f"shot:{shot.id}:{seq}", "shot", JSON_CONTENT_TYPE,
                           encode_event(seq, sent_at, shot), "alerts")


def cap_message(xml: bytes, *, kind: str, message_id: str) -> OutboundMessage:
    """Wrap CAP XML from `cap_out` for sending."""
    return OutboundMessage(message_id, kind, CAP_CONTENT_TYPE, xml.decode("utf-8"),
                           "missions" if kind == "mission" else "alerts")


# -- endpoints ------------------------------------------------------------------------------------
def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 80 or any(ord(c) < 32 for c in name):
        raise ValueError("endpoint name must be 1..80 printable characters")
    return name


@dataclass(frozen=True)
class WebhookEndpoint:
    """POST to `url`; `headers` (e.g. an Authorization token) are never logged or shown."""

    name: str
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 10.0
    verify_tls: bool = True

    def __post_init__(self) -> None:
        _check_name(self.name)
        parts = urlsplit(self.url) if isinstance(self.url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint {self.name}: url must be http(s)://host/...")
        if parts.username or parts.password:
            raise ValueError(f"endpoint {self.name}: credentials go in headers, not in the url")
        if not self.verify_tls and not _loopback(parts.hostname):
            raise ValueError(f"endpoint {self.name}: TLS verification can only be off for loopback test rigs")
        for k, v in self.headers.items():
            if not isinstance(k, str) or not isinstance(v, str) or any(c in k + v for c in "\r\n\x00"):
                raise ValueError(f"endpoint {self.name}: header names and values must be single-line text")
        if isinstance(self.timeout, bool) or not 0 < self.timeout <= 120:
            raise ValueError(f"endpoint {self.name}: timeout must be within 0..120 s")


@dataclass(frozen=True)
class ChannelEndpoint:
    """A hub channel: `publish(topic, payload)`; topic defaults to the message's topic."""

    name: str
    publish: Callable[[str, dict], Awaitable[None] | None]
    topic: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not callable(self.publish):
            raise ValueError(f"endpoint {self.name}: publish must be callable")


Endpoint = WebhookEndpoint | ChannelEndpoint


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# -- delivery -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    message_id: str
    endpoint: str
    state: str = "pending"  # pending, delivered, failed
    attempts: int = 0
    last_error: str = ""
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "endpoint": self.endpoint, "state": self.state,
                "attempts": self.attempts, "last_error": self.last_error, "updated_at": self.updated_at}


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts in all, and the backoff before attempt n+1: min(cap, base * 2**(n-1)), jittered."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    jitter: float = 0.5  # up to this fraction is taken off each delay at random

    def delay(self, attempt: int, rng: random.Random) -> float:
        capped = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return capped * (1.0 - self.jitter * rng.random())


class _Final(Exception):
    """A failure retrying cannot fix (e.g. 401, 404)."""


class Dispatcher:
    """Sends one message to many endpoints, retrying each on its own; every outcome audited."""

    def __init__(self, session: aiohttp.ClientSession | None = None, *, audit: AuditLog | None = None,
                 policy: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time) -> None:
        self.session = session
        self.audit = audit
        self.policy = policy
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self.deliveries: dict[tuple[str, str], Delivery] = {}
        self._listeners: list[Callable[[Delivery], None]] = []

    def subscribe(self, callback: Callable[[Delivery], None]) -> Callable[[], None]:
        """`callback(delivery)` on every state or attempt change; returns the unsubscriber."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    async def send(self, message: OutboundMessage, endpoints: Sequence[Endpoint], actor: str) -> list[Delivery]:
        """Deliver to every endpoint concurrently; returns the final delivery of each."""
        if len(message.body.encode("utf-8")) > MAX_BODY:
            raise ValueError(f"message larger than {MAX_BODY} bytes")
        names = [e.name for e in endpoints]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique")
        if self.audit is not None:
            self.audit.append(actor, "dissemination.send", message.id[:200],
                              {"kind": message.kind, "content_type": message.content_type, "endpoints": names})
        for e in endpoints:
            self._update(Delivery(message.id, e.name, updated_at=self._clock()))
        return list(await asyncio.gather(*(self._deliver(message, e, actor) for e in endpoints)))

    async def _deliver(self, message: OutboundMessage, endpoint: Endpoint, actor: str) -> Delivery:
        delivery = self.deliveries[(message.id, endpoint.name)]
        for attempt in range(1, self.policy.max_attempts + 1):
            error, final = "", False
            try:
                await self._attempt(message, endpoint)
            except _Final as exc:
                error, final = str(exc), True
            except asyncio.TimeoutError:
                error = "timed out"
            except aiohttp.ClientError as exc:
                error = f"connection failed ({type(exc).__name__})"
            except Exception as exc:  # a hub callback's own failure: report its type only
                error = f"{type(exc).__name__}" if not isinstance(exc, _Retry) else str(exc)
            state = "delivered" if not error else ("failed" if final or attempt == self.policy.max_attempts
                                                   else "pending")
            delivery = self._update(replace(delivery, state=state, attempts=attempt, last_error=error,
                                            updated_at=self._clock()))
            if state != "pending":
                break
            await self._sleep(self.policy.delay(attempt, self._rng))
        if self.audit is not None:
            self.audit.append(actor, f"dissemination.{delivery.state}", message.id[:200],
                              {"endpoint": endpoint.name, "attempts": delivery.attempts,
                               "error": delivery.last_error})
        if delivery.state == "failed":
            logger.warning("delivery of %s to %s failed after %d attempts: %s", message.id, endpoint.name,
                           delivery.attempts, delivery.last_error)
        return delivery

    async def _attempt(self, message: OutboundMessage, endpoint: Endpoint) -> None:
        if isinstance(endpoint, ChannelEndpoint):
            result = endpoint.publish(endpoint.topic or message.topic, message.channel_payload())
            if inspect.isawaitable(result):
                await result
            return
        if self.session is None:
            raise _Final("no HTTP session configured")
        headers = {**endpoint.headers, "Content-Type": f"{message.content_type}; charset=utf-8"}
        async with self.session.post(endpoint.url, data=message.body.encode("utf-8"), headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=endpoint.timeout),
                                     ssl=None if endpoint.verify_tls else False,
                                     allow_redirects=False) as response:
            status = response.status
        if 200 <= status < 300:
            return
        if status >= 500 or status in (408, 429):
            raise _Retry(f"HTTP {status}")
        raise _Final(f"HTTP {status} (not retried)")

    def _update(self, delivery: Delivery) -> Delivery:
        self.deliveries[(delivery.message_id, delivery.endpoint)] = delivery
        for callback in list(self._listeners):
            try:
                callback(delivery)
            except Exception:
                logger.exception("delivery listener failed")
        return delivery


class _Retry(Exception):
    """A failure worth another attempt (server error, throttling)."""
