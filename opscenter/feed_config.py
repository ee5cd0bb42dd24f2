"""The feeds a wall subscribes to, from a TOML file (`opscenter run --config FILE`).

Validation is strict because a typo in a feed definition otherwise shows up at 2 a.m. as a
silent, empty wall: every error names the file, the feed and the key. Secrets never live in the
file — a `token = "..."` or `password = "..."` is refused with an explanation, and credentials
are references (`env:NAME`, `keyring:service/user`) resolved by `opscenter.credentials`.
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from yarl import URL

from .errors import OpsCenterError
from .formats.registry import FORMATS

KINDS = ("sse", "websocket", "poll", "replay")
AUTHS = ("none", "bearer", "basic")
DEFAULT_STALL_S = 10.0

_COMMON = {"name", "kind", "format", "stall_timeout_s", "backoff_initial_s", "backoff_max_s"}
_NETWORK = {"url", "auth", "credential", "username"}
ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "sse": frozenset(_COMMON | _NETWORK),
    "websocket": frozenset(_COMMON | _NETWORK | {"heartbeat_s"}),
    "poll": frozenset(_COMMON | _NETWORK | {"interval_s"}),
    "replay": frozenset({"name", "kind", "format", "path", "speed"}),
}
_SCHEMES = {"sse": ("https", "http"), "poll": ("https", "http"), "websocket": ("wss", "ws", "https", "http")}
_SECRET_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "private_key", "bearer")
_SECRET_QUERY = frozenset({"token", "access_token", "api_key", "apikey", "key", "password", "secret", "sig",
                           "signature", "auth"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_ENV_REF = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")
_KEYRING_REF = re.compile(r"^keyring:[^/\s]+/[^/\s]+$")
_SECRET_ADVICE = ("secrets never go in the config file: keep it in an environment variable or the OS "
                  "keyring and write credential = \"env:NAME\" or credential = \"keyring:service/user\"")

T = TypeVar("T")


class ConfigError(OpsCenterError):
    """The feed configuration is wrong; the message says where and why."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One feed. `credential` is a reference (env:/keyring:), never the secret itself."""

    name: str
    kind: str
    format: str = "envelope"
    url: str = ""
    path: Path | None = None
    auth: str = "none"
    credential: str = ""
    username: str = ""
    stall_timeout_s: float = DEFAULT_STALL_S
    interval_s: float = 60.0
    heartbeat_s: float | None = None
    speed: float = 1.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0


def load_feed_config(path: str | Path) -> list[FeedConfig]:
    """Read and validate a feeds file; ConfigError naming the file, feed and key otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_feed_config(data, origin=str(path), base_dir=path.parent)


def parse_feed_config(data: dict[str, Any], origin: str, base_dir: Path) -> list[FeedConfig]:
    """Validate already-parsed TOML; relative replay paths are taken from `base_dir`."""
    extra = sorted(set(data) - {"feed", "map", "endpoint", "briefing"})
    if extra:
        raise ConfigError(f"{origin}: unknown top-level key {extra[0]!r} "
                          "(only [[feed]], [map], [[endpoint]] and [briefing] tables are allowed)")
    if "feed" not in data and set(data) & {"map", "endpoint", "briefing"}:
        return []  # a file without feeds sets up the rest: the wall keeps the embedded demo
    feeds = data.get("feed")
    if not isinstance(feeds, list) or not feeds or not all(isinstance(f, dict) for f in feeds):
        raise ConfigError(f"{origin}: no feeds defined (add one or more [[feed]] tables)")
    return unique_names(feeds, origin, "feed", lambda table, number: _feed(table, origin, number, base_dir))


def unique_names(tables: list, origin: str, what: str, build: Callable[[Any, int], T]) -> list[T]:
    """Build one config per table (numbered from 1 for messages); names are unique, ignoring case."""
    out: list[T] = []
    seen: dict[str, int] = {}
    for number, table in enumerate(tables, start=1):
        config = build(table, number)
        key = config.name.casefold()  # type: ignore[attr-defined]
        if key in seen:
            raise ConfigError(f"{origin}: {what} #{number}: name {config.name!r} is already used by "  # type: ignore[attr-defined]
                              f"{what} #{seen[key]} (names must be unique)")
        seen[key] = number
        out.append(config)
    return out


class _Table:
    """Typed reads from one [[feed]] table, with errors naming the file, feed and key."""

    def __init__(self, table: dict[str, Any], origin: str, label: str) -> None:
        self.table = table
        self.origin = origin
        self.label = label

    def fail(self, key: str | None, why: str) -> ConfigError:
        where = f"{self.origin}: {self.label}"
        return ConfigError(f"{where}: {key}: {why}" if key else f"{where}: {why}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if value is None:
            raise self.fail(key, "missing (required)")
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {type(value).__name__}")
        return value

    def number(self, key: str, default: float | None, minimum: float = 0.0, allow_zero: bool = False,
               allow_inf: bool = False) -> float | None:
        value = self.table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number of seconds, not {type(value).__name__}")
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            raise self.fail(key, "must be a finite number")
        if value < minimum or (value == minimum and not allow_zero):
            raise self.fail(key, f"must be {'at least' if allow_zero else 'greater than'} {minimum:g} (got {value:g})")
        return value


def _feed(table: dict[str, Any], origin: str, number: int, base_dir: Path) -> FeedConfig:
    raw_name = table.get("name")
    label = f"feed {raw_name!r}" if isinstance(raw_name, str) and raw_name else f"feed #{number}"
    t = _Table(table, origin, label)
    for key in table:
        lowered = key.lower()
        if lowered != "credential" and any(word in lowered for word in _SECRET_WORDS):
            raise t.fail(key, f"refused: looks like a literal secret; {_SECRET_ADVICE}")
    name = t.text("name")
    if not _NAME.match(name):
        raise t.fail("name", "must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit")
    kind = t.text("kind")
    if kind not in KINDS:
        raise t.fail("kind", f"unknown kind {kind[:40]!r} (one of: {', '.join(KINDS)})")
    unknown = sorted(set(table) - ALLOWED_KEYS[kind])
    if unknown:
        raise t.fail(unknown[0], f"unknown key for a {kind} feed (allowed: {', '.join(sorted(ALLOWED_KEYS[kind]))})")
    fmt = t.text("format", "envelope")
    if fmt not in FORMATS:
        raise t.fail("format", f"unknown format {fmt[:40]!r} (one of: {', '.join(sorted(FORMATS))})")
    if kind == "replay":
        return _replay(t, name, fmt, base_dir)
    url = _url(t, kind)
    auth, credential, username = _auth(t, url)
    stall = t.number("stall_timeout_s", None)
    interval = t.number("interval_s", 60.0) if kind == "poll" else 60.0
    assert interval is not None
    if stall is None:
        stall = max(3.0 * interval, DEFAULT_STALL_S) if kind == "poll" else DEFAULT_STALL_S
    if kind == "poll" and stall < interval:
        raise t.fail("stall_timeout_s", f"must be at least interval_s ({interval:g}), or every poll gap looks stale")
    backoff_initial = t.number("backoff_initial_s", 0.5)
    backoff_max = t.number("backoff_max_s", 30.0)
    assert backoff_initial is not None and backoff_max is not None
    if backoff_max < backoff_initial:
        raise t.fail("backoff_max_s", f"must be at least backoff_initial_s ({backoff_initial:g})")
    heartbeat = t.number("heartbeat_s", None) if kind == "websocket" else None
    if heartbeat is not None and heartbeat >= stall:
        raise t.fail("heartbeat_s", f"must be shorter than stall_timeout_s ({stall:g})")
    return FeedConfig(
        name=name, kind=kind, format=fmt, url=url, auth=auth, credential=credential, username=username,
        stall_timeout_s=stall, interval_s=interval, heartbeat_s=heartbeat,
        backoff_initial_s=backoff_initial, backoff_max_s=backoff_max,
    )


def _replay(t: _Table, name: str, fmt: str, base_dir: Path) -> FeedConfig:
    path = Path(t.text("path"))
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise t.fail("path", f"{path} does not exist")
    speed = t.number("speed", 1.0, allow_zero=True, allow_inf=True)
    assert speed is not None
    return FeedConfig(name=name, kind="replay", format=fmt, path=path, speed=speed)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_url(t: _Table, schemes: tuple[str, ...], what: str, advice: str = _SECRET_ADVICE) -> URL:
    """The table's `url`: parseable, one of `schemes`, with a host, and with no secret in it
    (user:password@ or a token in the query) — secrets are referenced, never written down."""
    text = t.text("url")
    try:
        url = URL(text)
    except ValueError:
        raise t.fail("url", "not a valid URL") from None
    if url.user is not None or url.password is not None:
        raise t.fail("url", f"refused: it carries a user name or password; {advice}")
    if any(key.lower() in _SECRET_QUERY for key in url.query):
        raise t.fail("url", f"refused: its query string carries a secret-looking parameter; {advice}")
    if url.scheme not in schemes:
        raise t.fail("url", f"scheme must be one of {', '.join(schemes)} for {what} (got {url.scheme!r})")
    if not url.host:
        raise t.fail("url", "has no host")
    return url


def _url(t: _Table, kind: str) -> str:
    checked_url(t, _SCHEMES[kind], f"a {kind} feed")
    return t.text("url")


def _auth(t: _Table, url: str) -> tuple[str, str, str]:
    auth = t.text("auth", "none")
    if auth not in AUTHS:
        raise t.fail("auth", f"unknown auth {auth[:20]!r} (one of: {', '.join(AUTHS)})")
    credential = t.text("credential", "")
    username = t.text("username", "")
    if auth == "none":
        if credential or username:
            raise t.fail("credential" if credential else "username", 'given but auth = "none"')
        return auth, "", ""
    if not credential:
        raise t.fail("credential", f'required for auth = "{auth}" ("env:NAME" or "keyring:service/user")')
    if not (_ENV_REF.match(credential) or _KEYRING_REF.match(credential)):
        # The value is not echoed: it may well be a pasted secret.
        raise t.fail("credential", f"must be a reference, not a value; {_SECRET_ADVICE}")
    if auth == "basic" and (not username or ":" in username):
        raise t.fail("username", 'required for auth = "basic" (without ":")')
    if auth == "bearer" and username:
        raise t.fail("username", 'only used with auth = "basic"')
    parsed = URL(url)
    if parsed.scheme in ("http", "ws") and not _is_loopback(parsed.host or ""):
        raise t.fail("url", f"refused: {parsed.scheme}:// would send the credential unencrypted; use "
                            f"{'https' if parsed.scheme == 'http' else 'wss'}://")
    return auth, credential, username
