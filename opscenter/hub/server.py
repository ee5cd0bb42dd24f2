"""The hub on the network: WebSocket for the live picture, REST for what people do.

`GET /ws?since=N&epoch=E` sends everything after N (or a snapshot when N is gone or from another
epoch), then every committed batch as it happens. A client that falls too far behind is closed
(code 1013) and resumes where it stopped, rather than making everyone else wait.

Every request carries `Authorization: Bearer <token>`; the role decides (403 changes nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import math
from typing import Any, Awaitable, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from ..annotations import AnnotationError
from ..domain import Kind
from ..envelope import record_to_dict
from ..persistence import Archive
from ..errors import OpsCenterError
from ..retention import RetentionError
from ..users import AuthError, Forbidden, User, UserDirectory
from ..workflow import WorkflowError
from .core import HubCore
from .eventlog import LoggedEvent

logger = logging.getLogger(__name__)

BACKLOG_CHUNK = 2000
MAX_QUEUED_BATCHES = 2000
MAX_BODY = 256 * 1024
ALERT_ACTIONS = ("acknowledge", "dispatch", "on_scene", "close", "shelve", "unshelve", "disposition")

CORE: web.AppKey[HubCore] = web.AppKey("core", HubCore)
USERS: web.AppKey[UserDirectory] = web.AppKey("users", UserDirectory)
EXTRAS: web.AppKey[dict] = web.AppKey("extras", dict)


def batch_text(events: list[LoggedEvent]) -> str:
    """Events are stored as JSON text; a batch is that text joined, never re-serialised."""
    return '{"t":"batch","events":[' + ",".join(e.text for e in events) + "]}"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> web.StreamResponse:
    """Map the core's errors to status codes; the message is for the person who asked."""
    try:
        return await handler(request)
    except AuthError as exc:
        return _error(401, str(exc))
    except Forbidden as exc:
        return _error(403, str(exc))
    except WorkflowError as exc:
        return _error(409, str(exc))
    except (AnnotationError, RetentionError, ValueError) as exc:
        return _error(400, str(exc))
    except OpsCenterError as exc:
        return _error(400, str(exc))


def _user(request: web.Request) -> User:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return request.app[USERS].authenticate(token)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ValueError("request body too large")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ValueError("request body too large")
    try:
        data = json.loads(raw or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


# -- handlers -----------------------------------------------------------------------------
async def healthz(request: web.Request) -> web.Response:
    core = request.app[CORE]
    return _json({"ok": True, "epoch": core.log.epoch, "seq": core.log.last_seq})


async def session(request: web.Request) -> web.Response:
    user = _user(request)
    core = request.app[CORE]
    core.audit_action(user, "session.login", user.name, {"peer": request.remote or "", "role": user.role})
    return _json({"user": user.name, "role": user.role, "epoch": core.log.epoch, "seq": core.log.last_seq})


async def map_info(request: web.Request) -> web.Response:
    _user(request).require("read")
    info = request.app[EXTRAS].get("map_info")
    return _json(info() if info else {})


async def feeds(request: web.Request) -> web.Response:
    _user(request).require("read")
    health = request.app[EXTRAS].get("feed_health")
    rows = [{k: getattr(h, k) for k in ("name", "url", "received", "rejected", "reconnects", "last_error",
                                        "last_event_at")} | {"state": h.state.value}
            for h in (health() if health else [])]
    return _json(rows)


async def alert_action(request: web.Request) -> web.Response:
    user = _user(request)
    action = request.match_info["action"]
    if action not in ALERT_ACTIONS:
        return _error(404, f"no action {action}")
    body = await _body(request)
    flow = request.app[CORE].alert_action(user, action, request.match_info["id"], **{
        k: body[k] for k in ("units", "disposition", "note", "reason", "minutes") if k in body})
    return _json(flow.to_dict())


async def annotations_list(request: web.Request) -> web.Response:
    _user(request).require("read")
    target = request.query.get("target")
    board = request.app[CORE].annotations
    items = board.for_target(target) if target else [a for a in board.all() if not a.deleted]
    return _json([a.to_dict() for a in items])


async def annotation_create(request: web.Request) -> web.Response:
    user = _user(request)
    ann = request.app[CORE].annotate(user, await _body(request))
    return _json(ann.to_dict(), 201)


async def annotation_edit(request: web.Request) -> web.Response:
    user = _user(request)
    ann = request.app[CORE].edit_annotation(user, request.match_info["id"], await _body(request))
    return _json(ann.to_dict())


async def annotation_delete(request: web.Request) -> web.Response:
    user = _user(request)
    ann = request.app[CORE].delete_annotation(user, request.match_info["id"])
    return _json(ann.to_dict())


async def annotation_history(request: web.Request) -> web.Response:
    _user(request).require("read")
    return _json([a.to_dict() for a in request.app[CORE].history(request.match_info["id"])])


def _kind(request: web.Request) -> Kind:
    try:
        return Kind(request.query.get("kind", "shot"))
    except ValueError:
        raise ValueError(f"kind must be one of {', '.join(k.value for k in Kind)}") from None


def _time(request: web.Request, name: str) -> float | None:
    value = request.query.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be epoch seconds") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be epoch seconds")
    return number


async def records(request: web.Request) -> web.Response:
    """The live picture of one kind: `?kind=shot|call|unit|…`."""
    _user(request).require("read")
    core = request.app[CORE]
    kind = _kind(request)
    return _json([{"rec": record_to_dict(r), "src": r.source} for r in core.store.all(kind)])


async def history(request: web.Request) -> web.Response:
    """Archived records of one kind in event-time order: `?kind=&since=&until=&limit=`."""
    _user(request).require("read")
    kind, since, until = _kind(request), _time(request, "since"), _time(request, "until")
    limit = min(int(request.query.get("limit", "10000")), 100_000)
    path = request.app[EXTRAS].get("archive_path")
    if path is None:
        return _json([])
    archive = Archive(path)
    try:
        found = archive.records(kind, since=since, until=until)[:limit]
    finally:
        archive.close()
    return _json([{"rec": record_to_dict(r), "src": r.source} for r in found])


async def events(request: web.Request) -> web.Response:
    """The log by range, for tools and checks: `?since=N&limit=M`."""
    _user(request).require("read")
    since = int(request.query.get("since", "0"))
    limit = min(int(request.query.get("limit", "10000")), 100_000)
    log = request.app[CORE].log
    items = log.since(since, limit)
    return web.Response(text='{"epoch":' + json.dumps(log.epoch) + ',"first":' + str(log.first_seq())
                        + ',"events":[' + ",".join(e.text for e in items) + "]}", content_type="application/json")


async def audit_export(request: web.Request) -> web.Response:
    user = _user(request)
    user.require("audit.export", "export the audit trail")
    core = request.app[CORE]
    if core.audit is None:
        return _error(404, "this hub keeps no audit trail (no database)")
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        return _error(400, "format is json or csv")
    out = io.StringIO()
    result = core.audit.export_json(out) if fmt == "json" else core.audit.export_csv(out)
    core.audit_action(user, "audit.export", fmt, {"entries": result.checked, "verified": result.ok})
    return web.Response(text=out.getvalue(), content_type="application/json" if fmt == "json" else "text/csv")


async def retention_get(request: web.Request) -> web.Response:
    _user(request).require("read")
    keeper = request.app[EXTRAS].get("retention")
    return _json(keeper.describe() if keeper else {})


async def retention_put(request: web.Request) -> web.Response:
    user = _user(request)
    user.require("retention.change", "change retention")
    keeper = request.app[EXTRAS]["retention"]
    body = await _body(request)
    keeper.set(request.match_info["kind"], body.get("days"), user.name)
    return _json(keeper.describe())


async def websocket(request: web.Request) -> web.StreamResponse:
    user = _user(request)
    user.require("read")
    core: HubCore = request.app[CORE]
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        return _error(400, "since must be a sequence number")
    epoch = request.query.get("epoch")
    ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=64 * 1024)
    await ws.prepare(request)
    queue: asyncio.Queue[list[LoggedEvent] | None] = asyncio.Queue(MAX_QUEUED_BATCHES)

    def deliver(batch: list[LoggedEvent]) -> None:
        try:
            queue.put_nowait(batch)
        except asyncio.QueueFull:
            core.stats.slow_clients_dropped += 1
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    queue.get_nowait()
            queue.put_nowait(None)  # the sender closes; the client resumes from its last seq

    # No await from here to subscribe(): nothing can commit in between, so the backlog (≤ head)
    # and the live batches (> head) meet exactly.
    core.commit()
    resume = core.log.can_resume(since, epoch)
    first = None if resume else core.snapshot()
    head = core.log.last_seq
    unsubscribe = core.subscribe(deliver)
    reader = asyncio.create_task(_drain(ws))
    try:
        await ws.send_str(json.dumps({"t": "hello", "epoch": core.log.epoch, "seq": head,
                                      "mode": "resume" if resume else "snapshot", "user": user.name,
                                      "role": user.role}))
        if first is not None:
            await ws.send_str(json.dumps(first, separators=(",", ":"), ensure_ascii=False))
        else:
            sent = since
            while sent < head:
                chunk = [e for e in core.log.since(sent, BACKLOG_CHUNK) if e.seq <= head]
                if not chunk:
                    break
                await ws.send_str(batch_text(chunk))
                sent = chunk[-1].seq
        while not ws.closed:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            batch = getter.result()
            if batch is None:
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too far behind; resume")
                break
            await ws.send_str(batch_text(batch))
    except (ConnectionResetError, RuntimeError) as exc:
        logger.info("hub client %s went away: %s", user.name, exc)
    finally:
        unsubscribe()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        if not ws.closed:
            await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) client frames so pings, pongs and close frames are processed."""
    async for msg in ws:
        if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


def build_app(core: HubCore, users: UserDirectory, **extras: Any) -> web.Application:
    """`extras`: map_info() -> dict, feed_health() -> list, retention (a Retention keeper),
    archive_path (the SQLite file holding the archive, for history queries)."""
    app = web.Application(middlewares=[_errors], client_max_size=MAX_BODY)
    app[CORE] = core
    app[USERS] = users
    app[EXTRAS] = extras
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/session", session)
    app.router.add_get("/api/map", map_info)
    app.router.add_get("/api/feeds", feeds)
    app.router.add_post("/api/alerts/{id}/{action}", alert_action)
    app.router.add_get("/api/annotations", annotations_list)
    app.router.add_post("/api/annotations", annotation_create)
    app.router.add_patch("/api/annotations/{id}", annotation_edit)
    app.router.add_delete("/api/annotations/{id}", annotation_delete)
    app.router.add_get("/api/annotations/{id}/history", annotation_history)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/records", records)
    app.router.add_get("/api/history", history)
    app.router.add_get("/api/audit/export", audit_export)
    app.router.add_get("/api/retention", retention_get)
    app.router.add_put("/api/retention/{kind}", retention_put)
    app.router.add_get("/ws", websocket)
    return app
