"""Run every configured feed: one connector and one parser per feed, one shared ClientSession.

The manager is the seam between transports and formats. Connectors hand it raw messages; it
parses them with the feed's own parser, passes records on, and sends everything refused to the
quarantine with the feed's name and the reason — including a parser that crashes, which costs
one message, never the feed. SSE feeds in the envelope format keep the SSE client's own decoding
(seq-based resume and de-duplication); other formats over SSE get the raw data of each message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

import aiohttp

from .connectors import FeedConnector, safe_parse
from .credentials import resolve_auth
from .domain import Deletion, Record
from .envelope import decode_event
from .errors import ParseError
from .feed_client import SseFeedClient
from .feed_config import KINDS, ConfigError, FeedConfig
from .feed_health import FeedHealth
from .formats.base import FormatParser, strip_bom
from .formats.nena_sta024 import SUBPROTOCOL as STA024_SUBPROTOCOL
from .formats.nena_sta024 import SessionState, Sta024Session
from .formats.nena_sta024 import encode as sta024_encode
from .formats.registry import make_parser
from .poll_client import PollingFeedClient
from .quarantine import Quarantine
from .replay import FileReplayClient
from .ws_client import OnOpen, WebSocketFeedClient

logger = logging.getLogger(__name__)

OnRecord = Callable[[Record | Deletion, str], None]
ParserFactory = Callable[[str, str], FormatParser]


@dataclass(eq=False, slots=True)
class _Feed:
    config: FeedConfig
    parser: FormatParser
    connector: FeedConnector | None = None
    task: asyncio.Task[None] | None = None


class FeedManager:
    """Builds the connectors at construction (so bad credentials fail early), runs them on
    `start()`, and reports every feed's health."""

    def __init__(
        self,
        configs: Sequence[FeedConfig],
        on_record: OnRecord,
        quarantine: Quarantine,
        session: aiohttp.ClientSession,
        clock: Callable[[], float] = time.time,
        *,
        rng: random.Random | None = None,
        on_open: Mapping[str, OnOpen] | None = None,
        on_state: Callable[[FeedHealth], None] | None = None,
        parser_factory: ParserFactory = make_parser,
    ) -> None:
        self._on_record = on_record
        self._quarantine = quarantine
        self._session = session
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._on_open = dict(on_open or {})
        self._on_state = on_state
        self._feeds: list[_Feed] = []
        names: set[str] = set()
        for config in configs:
            if config.name in names:
                raise ConfigError(f"feed {config.name!r} is defined twice")
            names.add(config.name)
            if config.kind not in KINDS:
                raise ConfigError(f"feed {config.name!r}: unknown kind {config.kind!r}")
            try:
                parser = parser_factory(config.format, config.name)
            except (KeyError, ImportError, AttributeError) as exc:
                raise ConfigError(f"feed {config.name!r}: format {config.format!r} is not available ({exc})") from None
            feed = _Feed(config, parser)
            feed.connector = self._build(feed)
            self._feeds.append(feed)

    # -- building --------------------------------------------------------------------------

    def _build(self, feed: _Feed) -> FeedConnector:
        config = feed.config
        name = config.name
        if config.kind == "replay":
            assert config.path is not None, f"replay feed {name} has no path"
            return FileReplayClient(
                name, config.path, feed.parser, lambda item: self._deliver(item, name),
                on_reject=self._quarantine.add, speed=config.speed, clock=self._clock, on_state=self._on_state,
            )
        auth = resolve_auth(config)
        stall = config.stall_timeout_s
        if config.kind == "poll":
            stall = max(stall, config.interval_s)  # a gap between polls is not a stall
        options = dict(
            session=self._session, stall_timeout=stall, backoff_initial=config.backoff_initial_s,
            backoff_max=config.backoff_max_s, rng=random.Random(self._rng.random()), headers=auth.headers,
            clock=self._clock, on_state=self._on_state, secrets=auth.secrets,
        )
        on_message = lambda data: self._handle(feed, data)  # noqa: E731
        if config.kind == "sse":
            if config.format == "envelope":
                return SseFeedClient(name, config.url, lambda event: self._deliver(event.payload, name),
                                     on_reject=self._quarantine.add, **options)  # type: ignore[arg-type]
            return SseFeedClient(name, config.url, _ignore, on_data=on_message, **options)  # type: ignore[arg-type]
        if config.kind == "websocket" and config.format == "eido" and name not in self._on_open:
            return self._build_sta024(feed, options)
        if config.kind == "websocket":
            return WebSocketFeedClient(name, config.url, on_message, on_open=self._on_open.get(name),
                                       heartbeat_s=config.heartbeat_s, **options)
        return PollingFeedClient(name, config.url, on_message, interval_s=config.interval_s, **options)

    def _build_sta024(self, feed: _Feed, options: dict) -> WebSocketFeedClient:
        """EIDO over WebSocket is NENA-STA-024: subscribe on every (re)connection, acknowledge
        every event, hand its EIDOs to the feed's parser."""
        name = feed.config.name
        session = Sta024Session(name)
        client: WebSocketFeedClient

        async def on_open(send) -> None:
            session.state = SessionState.IDLE  # a new connection knows no subscription
            await send(sta024_encode(session.subscribe()))

        def on_message(data: bytes) -> None:
            reaction = session.handle(data)
            for reply in reaction.replies:
                task = asyncio.ensure_future(client.send(sta024_encode(reply)))
                task.add_done_callback(_log_send_failure)
            for error in reaction.errors:
                self._quarantine.add(error)
                client.count_rejected()
            for eido in reaction.eidos:
                self._handle(feed, json.dumps(eido).encode("utf-8"))

        client = WebSocketFeedClient(name, feed.config.url, on_message, on_open=on_open,
                                     heartbeat_s=feed.config.heartbeat_s, protocols=(STA024_SUBPROTOCOL,),
                                     **options)
        return client

    # -- the data path ---------------------------------------------------------------------

    def _decode(self, feed: _Feed, data: bytes) -> Iterator[tuple[Record | Deletion | ParseError, float | None]]:
        """Parsed items with their send time when the format carries one (for clock skew)."""
        if feed.config.format != "envelope":
            for item in safe_parse(feed.parser, data):
                yield item, None
            return
        # The envelope parser drops sent_at; decode here to keep it.
        for number, line in enumerate(strip_bom(data).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                event = decode_event(line, feed.config.name)
            except ParseError as err:
                if number > 1 or b"\n" in data.strip():
                    err.reason = f"line {number}: {err.reason}"
                yield err, None
                continue
            yield event.payload, event.sent_at

    def _handle(self, feed: _Feed, data: bytes) -> None:
        """One message from a connector: parse, deliver records, quarantine the rest."""
        connector = feed.connector
        name = feed.config.name
        for item, sent_at in self._decode(feed, data):
            if isinstance(item, ParseError):
                if item.source != name:
                    item = ParseError(name, f"{item.source}: {item.reason}", item.raw)
                self._quarantine.add(item)
                connector.count_rejected()  # type: ignore[union-attr]
                continue
            connector.count_delivered(1, sent_at)  # type: ignore[union-attr]
            self._deliver(item, name)

    def _deliver(self, item: Record | Deletion, name: str) -> None:
        try:
            self._on_record(item, name)
        except Exception:
            logger.exception("feed %s: record consumer failed on %s", name, getattr(item, "id", "?"))

    # -- running ---------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [f.config.name for f in self._feeds]

    def connector(self, name: str) -> FeedConnector:
        """The connector of one feed (e.g. to `send` a reply on a WebSocket)."""
        for feed in self._feeds:
            if feed.config.name == name:
                assert feed.connector is not None
                return feed.connector
        raise KeyError(name)

    def start(self) -> None:
        """Start every connector on the running loop; returns at once."""
        for feed in self._feeds:
            if feed.task is None or feed.task.done():
                assert feed.connector is not None
                feed.task = asyncio.create_task(feed.connector.run(), name=f"feed-{feed.config.name}")
                feed.task.add_done_callback(_report_crash)

    async def stop(self) -> None:
        """Stop every connector and wait for them; the shared session stays open (not ours)."""
        await asyncio.gather(*(f.connector.stop() for f in self._feeds if f.connector is not None))
        tasks = [f.task for f in self._feeds if f.task is not None]
        if tasks:
            await asyncio.wait(tasks)
        for feed in self._feeds:
            feed.task = None

    def health(self) -> list[FeedHealth]:
        return [f.connector.health for f in self._feeds if f.connector is not None]


def _log_send_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("acknowledgement not sent: %s", task.exception())


def _ignore(_event: object) -> None:
    """Raw-mode SSE clients hand messages to `on_data`; nothing arrives here."""


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s ended with an error", task.get_name(), exc_info=task.exception())
