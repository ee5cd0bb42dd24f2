"""Feed configuration files: the example loads, every mistake is named, secrets stay secret."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from opscenter.credentials import CredentialError, resolve_auth, resolve_secret
from opscenter.domain import AlertType, ShotAlert
from opscenter.envelope import encode_event
from opscenter.feed_config import ConfigError, FeedConfig, load_feed_config
from opscenter.feed_health import FeedState
from opscenter.feed_manager import FeedManager
from opscenter.quarantine import Quarantine
from opscenter.sse import format_sse

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "feeds.toml"
TOKEN = "tok-9f8e7d6c5b4a-SECRET"


def test_the_example_loads() -> None:
    feeds = load_feed_config(EXAMPLE)
    by_name = {f.name: f for f in feeds}
    assert {f.kind for f in feeds} == {"sse", "poll", "websocket", "replay"}
    assert {f.format for f in feeds} >= {"envelope", "cap", "cot"}
    assert by_name["shotspotter"].auth == "bearer" and by_name["shotspotter"].credential == "env:SHOTS_TOKEN"
    assert by_name["shotspotter"].stall_timeout_s == 15.0
    assert by_name["cap-alerts"].interval_s == 60.0 and by_name["cap-alerts"].stall_timeout_s == 180.0
    assert by_name["tak-units"].username == "wall-1" and by_name["tak-units"].credential == "keyring:opscenter/tak"
    replay = by_name["briefing"]
    assert replay.path is not None and replay.path.is_file() and replay.speed == 30.0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(text)
    return path


GOOD = '[[feed]]\nname = "shots"\nkind = "sse"\nurl = "https://shots.example.org/events"\n'

INVALID = [
    # (file content, substrings the message must contain)
    (GOOD + 'tokn = "x"\n', ["feed 'shots'", "tokn: unknown key for a sse feed", "allowed:"]),
    ('[[feed]]\nname = "a"\nkind = "ftp"\nurl = "https://x.org"\n', ["feed 'a'", "kind: unknown kind 'ftp'", "sse, websocket, poll, replay"]),
    ('[[feed]]\nname = "a"\nkind = "sse"\n', ["feed 'a'", "url: missing (required)"]),
    ('[[feed]]\nkind = "sse"\nurl = "https://x.org"\n', ["feed #1", "name: missing"]),
    (GOOD + GOOD.replace('"shots"', '"Shots"'), ["feed #2", "'Shots' is already used by feed #1"]),
    (GOOD + 'token = "abc123"\n', ["feed 'shots'", "token: refused: looks like a literal secret", 'credential = "env:NAME"']),
    (GOOD + 'password = "hunter2"\n', ["password: refused", "keyring"]),
    (GOOD + 'API_KEY = "k"\n', ["API_KEY: refused"]),
    ('[[feed]]\nname = "a"\nkind = "sse"\nurl = "https://bob:pw@x.org/e"\n', ["url: refused", "user name or password"]),
    ('[[feed]]\nname = "a"\nkind = "poll"\nurl = "https://x.org/e?api_key=zzz"\n', ["url: refused", "secret-looking"]),
    (GOOD + 'auth = "bearer"\ncredential = "abc123literal"\n', ["credential: must be a reference, not a value"]),
    (GOOD + 'auth = "bearer"\n', ["credential: required for auth = \"bearer\""]),
    (GOOD + 'credential = "env:X"\n', ["credential: given but auth = \"none\""]),
    (GOOD + 'auth = "basic"\ncredential = "env:X"\n', ["username: required for auth = \"basic\""]),
    (GOOD + 'auth = "oauth"\n', ["auth: unknown auth 'oauth'"]),
    ('[[feed]]\nname = "a"\nkind = "sse"\nurl = "http://feed.example.org/e"\nauth = "bearer"\ncredential = "env:T"\n',
     ["url: refused: http:// would send the credential unencrypted"]),
    ('[[feed]]\nname = "a"\nkind = "websocket"\nurl = "ftp://x.org/e"\n', ["url: scheme must be one of wss, ws"]),
    (GOOD + 'format = "morse"\n', ["format: unknown format 'morse'", "envelope"]),
    (GOOD + 'stall_timeout_s = -1\n', ["stall_timeout_s: must be greater than 0"]),
    (GOOD + 'stall_timeout_s = "10"\n', ["stall_timeout_s: must be a number of seconds, not str"]),
    (GOOD + 'stall_timeout_s = nan\n', ["stall_timeout_s: must be a finite number"]),
    (GOOD + 'interval_s = 5\n', ["interval_s: unknown key for a sse feed"]),
    ('[[feed]]\nname = "a"\nkind = "poll"\nurl = "https://x.org"\ninterval_s = 60\nstall_timeout_s = 30\n',
     ["stall_timeout_s: must be at least interval_s (60)"]),
    ('[[feed]]\nname = "a"\nkind = "websocket"\nurl = "wss://x.org"\nheartbeat_s = 20\n',
     ["heartbeat_s: must be shorter than stall_timeout_s (10)"]),
    ('[[feed]]\nname = "r"\nkind = "replay"\npath = "nope.jsonl"\n', ["feed 'r'", "path:", "nope.jsonl does not exist"]),
    ('[[feed]]\nname = "r"\nkind = "replay"\nurl = "https://x.org"\n', ["url: unknown key for a replay feed"]),
    ('[[feed]]\nname = "bad name!"\nkind = "sse"\nurl = "https://x.org"\n', ["name: must be 1-40 letters"]),
    ('title = "wall"\n' + GOOD, ["unknown top-level key 'title'"]),
    ('# nothing\n', ["no feeds defined"]),
    ('[[feed]\nname = "a"\n', ["not valid TOML"]),
]


@pytest.mark.parametrize("text, expected", INVALID, ids=[str(i) for i in range(len(INVALID))])
def test_invalid_configs_are_refused_with_a_clear_message(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_feed_config(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": "), message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize("secret_line", ['token = "abc123"', 'password = "hunter2"', 'auth = "bearer"\ncredential = "abc123literal"',
                                         'url = "https://x.org/?token=abc123"'])
def test_refusals_never_echo_the_secret(tmp_path: Path, secret_line: str) -> None:
    text = '[[feed]]\nname = "s"\nkind = "poll"\n' + secret_line + "\n"
    if "url" not in secret_line:
        text += 'url = "https://x.org/"\n'
    with pytest.raises(ConfigError) as info:
        load_feed_config(write(tmp_path, text))
    assert "refused" in str(info.value) or "reference" in str(info.value)
    for secret in ("abc123", "hunter2"):
        assert secret not in str(info.value)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.toml: cannot read"):
        load_feed_config(tmp_path / "missing.toml")


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOTS_TOKEN", TOKEN)
    config = FeedConfig("shots", "sse", url="https://x.org", auth="bearer", credential="env:SHOTS_TOKEN")
    auth = resolve_auth(config)
    assert auth.headers == {"Authorization": f"Bearer {TOKEN}"} and TOKEN in auth.secrets
    assert TOKEN not in repr(auth) and TOKEN not in repr(config)
    monkeypatch.delenv("SHOTS_TOKEN")
    with pytest.raises(CredentialError, match="feed 'shots': environment variable SHOTS_TOKEN is not set"):
        resolve_auth(config)
    monkeypatch.setenv("SHOTS_TOKEN", "bad\r\nX-Injected: 1")
    with pytest.raises(CredentialError, match="control characters") as info:
        resolve_auth(config)
    assert "Injected" not in str(info.value)


def test_credentials_from_the_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    store = {("opscenter", "tak"): "pa55word"}
    monkeypatch.setattr(keyring, "get_password", lambda service, user: store.get((service, user)))
    config = FeedConfig("tak", "websocket", url="wss://x.org", auth="basic", username="wall-1",
                        credential="keyring:opscenter/tak")
    header = resolve_auth(config).headers["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == b"wall-1:pa55word"
    with pytest.raises(CredentialError) as info:
        resolve_secret("keyring:opscenter/other", "tak")
    assert str(info.value) == "feed 'tak': no secret in the OS keyring for service 'opscenter' user 'other'"


def test_keyring_backend_failure_is_a_credential_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.errors import NoKeyringError

    def broken(service: str, user: str) -> str:
        raise NoKeyringError("no backend")

    monkeypatch.setattr(keyring, "get_password", broken)
    with pytest.raises(CredentialError, match="feed 'x': OS keyring unavailable"):
        resolve_secret("keyring:a/b", "x")


@pytest.mark.asyncio
async def test_env_token_reaches_the_server_but_never_health_or_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every connector kind sends the header; a server that echoes it back in an error must not
    get it onto the screen or into the logs."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SHOTS_TOKEN", TOKEN)
    seen: dict[str, list[str | None]] = {"sse": [], "poll": [], "ws": []}
    event = encode_event(1, time.time(), ShotAlert(id="S-1", version=1, detected_at=time.time(), lat=39.3,
                                                   lon=-76.6, alert_type=AlertType.SINGLE, rounds=1))

    def echo_failure(kind: str, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization")
        seen[kind].append(header)
        if len(seen[kind]) == 1:  # first attempt: an error that quotes the credential back
            return web.Response(status=401, reason=f"Unauthorized {header}", text=f"bad {header}")
        return None

    async def sse(request: web.Request) -> web.StreamResponse:
        failure = echo_failure("sse", request)
        if failure is not None:
            return failure
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(format_sse(1, event))
        await asyncio.sleep(5)
        return resp

    async def poll(request: web.Request) -> web.StreamResponse:
        return echo_failure("poll", request) or web.Response(text=event)

    async def ws(request: web.Request) -> web.StreamResponse:
        failure = echo_failure("ws", request)
        if failure is not None:
            return failure
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        await sock.send_str(event)
        await asyncio.sleep(5)
        return sock

    app = web.Application()
    app.router.add_get("/sse", sse)
    app.router.add_get("/poll", poll)
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    config = write(tmp_path, "\n".join(
        f'[[feed]]\nname = "{kind}"\nkind = "{kind if kind != "ws" else "websocket"}"\n'
        f'url = "http://127.0.0.1:{port}/{kind}"\nauth = "bearer"\ncredential = "env:SHOTS_TOKEN"\n'
        f'backoff_initial_s = 0.01\nbackoff_max_s = 0.05\n' + ('interval_s = 0.05\nstall_timeout_s = 1\n' if kind == "poll" else "")
        for kind in ("sse", "poll", "ws")))
    quarantine = Quarantine(clock=time.time)
    got: list[str] = []
    states: list[str] = []
    async with aiohttp.ClientSession() as session:
        manager = FeedManager(load_feed_config(config), lambda item, feed: got.append(feed), quarantine, session,
                              rng=random.Random(1), on_state=lambda h: states.append(repr(h) + h.summary(time.time())))
        manager.start()
        try:
            deadline = time.monotonic() + 5
            while sorted(set(got)) != ["poll", "sse", "ws"]:
                assert time.monotonic() < deadline, got
                await asyncio.sleep(0.01)
            health = manager.health()
        finally:
            await manager.stop()
            await runner.cleanup()
    assert all(seen[k][:2] == [f"Bearer {TOKEN}"] * 2 for k in seen), seen
    assert all(h.reconnects >= 1 and h.state is FeedState.CONNECTED for h in health)
    # The SSE and polling errors quoted the header back: scrubbed, not dropped.
    assert sum("HTTP 401 Unauthorized Bearer ***" in s for s in states) >= 2
    assert any("name='ws'" in s and "HTTP 401" in s for s in states)
    everything = "".join(states) + repr(health) + "".join(h.summary(time.time()) for h in health)
    everything += caplog.text + repr(quarantine.items()) + repr(manager.__dict__)
    assert TOKEN not in everything
