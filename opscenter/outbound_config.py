"""Where sent missions and shot alerts go: the `[[endpoint]]` tables of the config file.

    [[endpoint]]
    name = "district-3-cad"
    url = "https://cad.example.org/hooks/opscenter"
    auth = "env:CAD_HOOK_TOKEN"           # sent as "Authorization: Bearer <secret>"
    headers = { "X-Source" = "opscenter" } # non-secret extras only
    timeout_s = 10
    topics = ["missions"]                 # "alerts", "missions" (default: both)
    format = "cap"                        # "envelope" (default) or "cap"

The rules are the feeds' (`feed_config`), for the same reason: a wrong webhook must fail at
start-up, not when a mission goes nowhere at 2 a.m. Every error names the file, the endpoint and
the key; secrets are references resolved at start-up and never values in the file; https only
(plain http and `verify_tls = false` only to this machine).

The missions service sends every message to every endpoint in the format the sender chose;
`install_endpoints` puts a router in front of its dispatcher so that each configured webhook
gets only its topics, in its own format.
"""

from __future__ import annotations

import asyncio
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence

from yarl import URL

from .cap_out import CONTENT_TYPE as CAP_CONTENT_TYPE
from .credentials import CredentialError, resolve_secret
from .dissemination import Delivery, Endpoint, OutboundMessage, WebhookEndpoint
from .feed_config import (_ENV_REF, _KEYRING_REF, _NAME, _SECRET_WORDS, ConfigError, _is_loopback, _Table,
                          checked_url, unique_names)

if TYPE_CHECKING:
    from .hub.missions_service import MissionsService

TOPICS = ("alerts", "missions")
FORMATS = ("envelope", "cap")
KEYS = frozenset({"name", "url", "auth", "headers", "timeout_s", "verify_tls", "topics", "format"})
MAX_TIMEOUT_S = 120.0  # WebhookEndpoint's own limit
MAX_HEADERS = 20
MAX_HEADER_VALUE = 500
_RESERVED = {"hub"}  # the hub's own channel always takes part in a send under this name
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_SECRET_HEADER = ("auth", "token", "secret", "passw", "key", "cookie", "session", "signature", "bearer",
                  "credential")
_FIXED_HEADERS = {"content-type", "content-length", "host", "transfer-encoding", "connection"}
_ADVICE = ('secrets never go in the config file: keep it in an environment variable or the OS keyring '
           'and write auth = "env:NAME" or auth = "keyring:service/user"')


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """One webhook as configured: `auth` is a reference (env:/keyring:), never the secret."""

    name: str
    url: str
    auth: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 10.0
    verify_tls: bool = True
    topics: frozenset[str] = frozenset(TOPICS)
    format: str = "envelope"


@dataclass(frozen=True)
class RoutedWebhook(WebhookEndpoint):
    """A Dispatcher webhook that also knows which topics it takes and in which format."""

    topics: frozenset[str] = frozenset(TOPICS)
    format: str = "envelope"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.topics or not set(self.topics) <= set(TOPICS):
            raise ValueError(f"endpoint {self.name}: topics must be among {', '.join(TOPICS)}")
        if self.format not in FORMATS:
            raise ValueError(f"endpoint {self.name}: format must be one of {', '.join(FORMATS)}")


# -- parsing ----------------------------------------------------------------------------------
def read_config(path: str | Path) -> dict[str, Any]:
    """The whole config file as TOML; ConfigError naming the file when it cannot be read."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def load_endpoint_config(path: str | Path) -> list[EndpointConfig]:
    """The `[[endpoint]]` tables of a config file (none: an empty list)."""
    return parse_endpoint_config(read_config(path), origin=str(path))


def parse_endpoint_config(data: dict[str, Any], origin: str) -> list[EndpointConfig]:
    """Validate the `endpoint` tables of already-parsed TOML; names are unique, "hub" is taken."""
    tables = data.get("endpoint", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{origin}: endpoint: write each endpoint as an [[endpoint]] table")
    return unique_names(tables, origin, "endpoint", lambda table, number: _endpoint(table, origin, number))


def _endpoint(table: dict[str, Any], origin: str, number: int) -> EndpointConfig:
    raw_name = table.get("name")
    label = f"endpoint {raw_name!r}" if isinstance(raw_name, str) and raw_name else f"endpoint #{number}"
    t = _Table(table, origin, label)
    for key in table:
        if key != "auth" and any(word in key.lower() for word in _SECRET_WORDS):
            raise t.fail(key, f"refused: looks like a literal secret; {_ADVICE}")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise t.fail(unknown[0], f"unknown key for an endpoint (allowed: {', '.join(sorted(KEYS))})")
    name = t.text("name")
    if not _NAME.match(name):
        raise t.fail("name", "must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if name.casefold() in _RESERVED:
        raise t.fail("name", f"{name!r} is the hub's own channel; choose another name")
    url = _url(t)
    host = URL(url).host or ""
    auth = t.text("auth", "")
    if auth and not (_ENV_REF.match(auth) or _KEYRING_REF.match(auth)):
        raise t.fail("auth", f"must be a reference, not a value; {_ADVICE}")  # never echoed: it may be a secret
    timeout = t.number("timeout_s", 10.0)
    assert timeout is not None
    if timeout > MAX_TIMEOUT_S:
        raise t.fail("timeout_s", f"must be at most {MAX_TIMEOUT_S:g} (got {timeout:g})")
    verify = table.get("verify_tls", True)
    if not isinstance(verify, bool):
        raise t.fail("verify_tls", f"must be true or false, not {type(verify).__name__}")
    if not verify and not _is_loopback(host):
        raise t.fail("verify_tls", "false is only allowed for this machine (a loopback test rig)")
    fmt = t.text("format", "envelope")
    if fmt not in FORMATS:
        raise t.fail("format", f"unknown format {fmt[:40]!r} (one of: {', '.join(FORMATS)})")
    return EndpointConfig(name=name, url=url, auth=auth, headers=_headers(t), timeout_s=timeout,
                          verify_tls=verify, topics=_topics(t), format=fmt)


def _url(t: _Table) -> str:
    url = checked_url(t, ("https", "http"), "an endpoint", _ADVICE)
    text = t.text("url")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise t.fail("url", "refused: http:// would send missions and alerts unencrypted; use https:// "
                            "(plain http only to this machine)")
    return text


def _headers(t: _Table) -> tuple[tuple[str, str], ...]:
    table = t.table.get("headers", {})
    if not isinstance(table, dict):
        raise t.fail("headers", "must be a table of header names to values")
    if len(table) > MAX_HEADERS:
        raise t.fail("headers", f"at most {MAX_HEADERS} headers")
    out: list[tuple[str, str]] = []
    for name, value in table.items():
        if not _HEADER_NAME.match(name):
            raise t.fail("headers", f"{name[:40]!r} is not a valid HTTP header name")
        key = f"headers.{name}"
        lowered = name.lower()
        if any(word in lowered for word in _SECRET_HEADER):
            raise t.fail(key, f"refused: a header that carries credentials; {_ADVICE}")
        if lowered in _FIXED_HEADERS:
            raise t.fail(key, "is set by OpsCenter itself")
        if not isinstance(value, str):
            raise t.fail(key, f"must be a string, not {type(value).__name__}")
        if len(value) > MAX_HEADER_VALUE or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise t.fail(key, f"must be one line of at most {MAX_HEADER_VALUE} printable characters")
        if value.lower().startswith(("bearer ", "basic ", "token ")):
            raise t.fail(key, f"refused: looks like a literal secret; {_ADVICE}")  # value not echoed
        out.append((name, value))
    return tuple(out)


def _topics(t: _Table) -> frozenset[str]:
    value = t.table.get("topics", list(TOPICS))
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise t.fail("topics", f"must be a non-empty list of: {', '.join(TOPICS)}")
    unknown = [v for v in value if v not in TOPICS]
    if unknown:
        raise t.fail("topics", f"unknown topic {unknown[0][:40]!r} (one of: {', '.join(TOPICS)})")
    if len(set(value)) != len(value):
        raise t.fail("topics", "a topic is listed twice")
    return frozenset(value)


# -- start-up ---------------------------------------------------------------------------------
def build_endpoints(configs: Sequence[EndpointConfig]) -> list[RoutedWebhook]:
    """Dispatcher webhooks with their secrets read now (at start-up); a missing secret is a
    CredentialError naming the endpoint and where it was looked for, never the secret."""
    out: list[RoutedWebhook] = []
    for config in configs:
        headers = dict(config.headers)
        if config.auth:
            headers["Authorization"] = f"Bearer {_secret(config)}"
        try:
            out.append(RoutedWebhook(config.name, config.url, headers, config.timeout_s, config.verify_tls,
                                     config.topics, config.format))
        except ValueError as exc:  # parsing checks all of this first; WebhookEndpoint checks again
            raise ConfigError(f"endpoint {config.name!r}: {exc}") from None
    return out


def _secret(config: EndpointConfig) -> str:
    try:
        return resolve_secret(config.auth, config.name)
    except CredentialError as exc:  # the feeds' wording, for an endpoint
        raise CredentialError(str(exc).replace(f"feed {config.name!r}", f"endpoint {config.name!r}", 1)) from None


# -- routing at send time ---------------------------------------------------------------------
Send = Callable[[OutboundMessage, Sequence[Endpoint], str], Awaitable[list[Delivery]]]
Rebuild = Callable[[OutboundMessage, str], OutboundMessage]


def message_format(message: OutboundMessage) -> str:
    return "cap" if message.content_type == CAP_CONTENT_TYPE else "envelope"


class Router:
    """In front of `Dispatcher.send`: drops webhooks whose topics leave the message out and sends
    the others in their own format (same message id, so deliveries stay together). Other
    endpoints (the hub channel, unconfigured webhooks) get the message as it is."""

    def __init__(self, send: Send, rebuild: Rebuild) -> None:
        self._send = send
        self._rebuild = rebuild

    async def send(self, message: OutboundMessage, endpoints: Sequence[Endpoint], actor: str) -> list[Delivery]:
        same: list[Endpoint] = []
        other: dict[str, list[Endpoint]] = {}
        fmt = message_format(message)
        for endpoint in endpoints:
            if isinstance(endpoint, RoutedWebhook):
                if message.topic not in endpoint.topics:
                    continue
                if endpoint.format != fmt:
                    other.setdefault(endpoint.format, []).append(endpoint)
                    continue
            same.append(endpoint)
        # every variant is built before anything goes out: a message that cannot be built fails whole
        jobs = [(replace(self._rebuild(message, f), id=message.id), targets) for f, targets in other.items()]
        if same:
            jobs.insert(0, (message, same))
        results = await asyncio.gather(*(self._send(m, targets, actor) for m, targets in jobs))
        return [delivery for result in results for delivery in result]


def install_endpoints(service: "MissionsService", endpoints: Sequence[Endpoint]) -> None:
    """Give the missions service its configured webhooks, with a Router in front of its
    dispatcher so each webhook gets only its topics, in its own format."""
    def rebuild(message: OutboundMessage, fmt: str) -> OutboundMessage:
        kind, _, rest = message.id.partition(":")  # "mission:<id>:<seq>" or "shot:<id>:<seq>"
        return service.build_message(kind, rest.rpartition(":")[0], fmt)

    service.set_endpoints(endpoints, sender=Router(service.dispatcher.send, rebuild).send)
