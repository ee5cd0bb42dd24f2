"""A window's side of a remote hub: a mirror of the picture, and REST for what its user does.

The mirror is an ordinary LiveStore, WorkflowBoard and AnnotationBoard, so the views cannot
tell an in-process hub from a remote one. The stream resumes from the last sequence number it
applied; a different epoch (the hub's database was replaced) or a purged gap brings a snapshot
instead, which replaces the mirror wholesale.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

import aiohttp
from yarl import URL

from .. import annotations as notes
from ..annotations import Annotation, AnnotationBoard, AnnotationError
from ..domain import Kind
from ..envelope import record_from_dict
from ..errors import OpsCenterError, ParseError
from ..feed_health import FeedHealth
from ..store import LiveStore
from ..users import AuthError, Forbidden, User
from ..workflow import AlertFlow, WorkflowBoard, WorkflowError
from ..ws_client import WebSocketFeedClient

logger = logging.getLogger(__name__)
MAX_HUB_MESSAGE = 256 * 1024 * 1024  # a city's snapshot arrives as one message


class HubMirror:
    """Applies hub messages to local boards; pure bookkeeping, no network."""

    def __init__(self, store: LiveStore, on_reject: Callable[[ParseError], Any] | None = None) -> None:
        self.store = store
        self.on_reject = on_reject  # the window's quarantine: a damaged event is shown, not lost silently
        self.workflow = WorkflowBoard()
        self.annotations = AnnotationBoard()
        self.epoch: str | None = None
        self.seq = 0
        self.applied = 0
        self.snapshots = 0
        self.rejected: list[str] = []
        self.missions: dict[str, dict[str, Any]] = {}  # patrol missions by id (Mission.to_dict())
        self.mission_listeners: list[Callable[[str | None], None]] = []  # id, or None after a snapshot

    def handle(self, text: str | bytes) -> None:
        message = json.loads(text)
        kind = message.get("t")
        if kind == "hello":
            if message.get("mode") == "snapshot":
                self.epoch = None  # the snapshot that follows sets it
            return
        if kind == "snapshot":
            self._snapshot(message)
        elif kind == "batch":
            for event in message.get("events", []):
                self.apply(event)

    def apply(self, event: dict[str, Any]) -> bool:
        """One numbered event; anything at or below the last applied number is a duplicate."""
        seq = event.get("seq")
        if not isinstance(seq, int) or seq <= self.seq:
            return False
        try:
            self._apply(event)
        except (ParseError, WorkflowError, AnnotationError, ValueError, KeyError, TypeError) as exc:
            # a damaged event is reported and skipped; the rest of the picture keeps updating
            self._reject(f"event {seq}: {exc}", event)
        self.seq = seq
        self.applied += 1
        return True

    def _reject(self, reason: str, raw: Any) -> None:
        self.rejected.append(f"hub {reason}")
        if self.on_reject is not None:
            self.on_reject(ParseError("hub", reason, json.dumps(raw, default=str)[:4096]))

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["t"]
        if kind == "record":
            record = record_from_dict(Kind(event["kind"]), event["rec"], event.get("src") or "hub")
            self.store.put_mirrored(record, withdrawn=bool(event.get("withdrawn")))
        elif kind == "remove":
            self.store.remove_mirrored(Kind(event["kind"]), str(event["id"]))
        elif kind == "workflow":
            self._flow(AlertFlow.from_dict(event["flow"]))
        elif kind == "annotation":
            self.annotations.put(notes.from_dict(event["ann"]))
        elif kind == "mission":
            mission = event["mission"]
            self.missions[str(mission["id"])] = dict(mission)
            self._missions_changed(str(mission["id"]))

    def _missions_changed(self, ident: str | None) -> None:
        for listener in list(self.mission_listeners):
            try:
                listener(ident)
            except Exception:  # one broken view must not stop the others
                logger.exception("mission listener failed")

    def _flow(self, flow: AlertFlow) -> None:
        self.workflow.put(flow)
        if flow.acknowledged_at is not None and not self.store.is_acknowledged(flow.alert_id):
            self.store.acknowledge(flow.alert_id, by=flow.acknowledged_by or "", at=flow.acknowledged_at)

    def _snapshot(self, message: dict[str, Any]) -> None:
        self.snapshots += 1
        keep: set[tuple[Kind, str]] = set()
        for item in message.get("records", []):
            try:
                record = record_from_dict(Kind(item["kind"]), item["rec"], item.get("src") or "hub")
            except (ParseError, ValueError, KeyError) as exc:
                self._reject(f"snapshot record: {exc}", item)
                continue
            keep.add((record.kind, record.id))
            self.store.put_mirrored(record, withdrawn=bool(item.get("withdrawn")))
        for kind in Kind:
            for record in self.store.all(kind):
                if (kind, record.id) not in keep:
                    self.store.remove_mirrored(kind, record.id)
        for row in message.get("workflow", []):
            self._flow(AlertFlow.from_dict(row))
        for row in message.get("annotations", []):
            self.annotations.put(notes.from_dict(row))
        self.missions = {str(m["id"]): dict(m) for m in message.get("missions", []) if isinstance(m, dict)}
        self._missions_changed(None)
        self.epoch = message.get("epoch")
        self.seq = int(message.get("seq", 0))


class HubStream(WebSocketFeedClient):
    """The reconnecting WebSocket, asking each time to resume after the mirror's last number."""

    def __init__(self, base_url: str, token: str, mirror: HubMirror, **options: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self.mirror = mirror
        super().__init__("hub", self._ws_url(), on_message=self._on_message,
                         headers={"Authorization": f"Bearer {token}"}, secrets=(token,),
                         max_message_bytes=MAX_HUB_MESSAGE, **options)

    def _ws_url(self) -> str:
        url = URL(self.base_url) / "ws"
        url = url.with_scheme({"http": "ws", "https": "wss"}.get(url.scheme, url.scheme))
        query = {"since": str(self.mirror.seq)}
        if self.mirror.epoch:
            query["epoch"] = self.mirror.epoch
        return str(url.with_query(query))

    async def _connect_and_read(self, session: aiohttp.ClientSession) -> None:
        self._url = self._ws_url()
        await super()._connect_and_read(session)

    def _on_message(self, data: bytes) -> None:
        try:
            self.mirror.handle(data)
        except (ValueError, TypeError) as exc:
            self.count_rejected()
            self.mirror.rejected.append(f"hub message: {exc}")
            return
        self.count_delivered()
        self._health.last_seq = self.mirror.seq


class HubClient:
    """`Operations` over REST plus the mirror the views read."""

    def __init__(self, base_url: str, token: str, session: aiohttp.ClientSession,
                 store: LiveStore | None = None, on_reject: Callable[[ParseError], Any] | None = None,
                 **stream_options: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._session = session
        self.store = store or LiveStore()
        self.mirror = HubMirror(self.store, on_reject=on_reject)
        self.workflow = self.mirror.workflow
        self.annotations = self.mirror.annotations
        self.user = User("", "operator")
        self.stream = HubStream(self.base_url, token, self.mirror, session=session, **stream_options)

    @property
    def health(self) -> FeedHealth:
        return self.stream.health

    async def sign_in(self) -> User:
        """Check the token and learn our role; the hub records the login."""
        data = await self._call("POST", "/api/session")
        self.user = User(data["user"], data["role"])
        return self.user

    async def map_info(self) -> dict[str, Any]:
        return await self._call("GET", "/api/map")

    async def feeds(self) -> list[dict[str, Any]]:
        """The hub's upstream feeds and their health."""
        return await self._call("GET", "/api/feeds")

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.request(method, self.base_url + path, json=body, headers=headers,
                                             timeout=aiohttp.ClientTimeout(total=15)) as response:
                text = await response.text()
                data = json.loads(text) if text else {}
                if response.status < 300:
                    return data
                message = data.get("error", text[:200]) if isinstance(data, dict) else text[:200]
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise OpsCenterError(f"hub {self.base_url} unreachable: {type(exc).__name__}") from None
        errors = {401: AuthError, 403: Forbidden, 409: WorkflowError, 400: AnnotationError}
        raise errors.get(response.status, OpsCenterError)(message)

    async def _alert(self, alert_id: str, action: str, **body: Any) -> None:
        await self._call("POST", f"/api/alerts/{URL.build(path=alert_id).raw_path.lstrip('/')}/{action}", body)

    async def acknowledge(self, alert_id: str) -> None:
        await self._alert(alert_id, "acknowledge")

    async def dispatch(self, alert_id: str, units: list[str]) -> None:
        await self._alert(alert_id, "dispatch", units=list(units))

    async def on_scene(self, alert_id: str) -> None:
        await self._alert(alert_id, "on_scene")

    async def close(self, alert_id: str, disposition: str, note: str = "") -> None:
        await self._alert(alert_id, "close", disposition=disposition, note=note)

    async def shelve(self, alert_id: str, reason: str, minutes: float) -> None:
        await self._alert(alert_id, "shelve", reason=reason, minutes=minutes)

    async def unshelve(self, alert_id: str) -> None:
        await self._alert(alert_id, "unshelve")

    async def annotate(self, data: dict[str, Any]) -> Annotation:
        return notes.from_dict(await self._call("POST", "/api/annotations", data))

    async def edit_annotation(self, ident: str, changes: dict[str, Any]) -> Annotation:
        return notes.from_dict(await self._call("PATCH", f"/api/annotations/{ident}", changes))

    async def delete_annotation(self, ident: str) -> None:
        await self._call("DELETE", f"/api/annotations/{ident}")

    async def history(self, ident: str) -> list[Annotation]:
        return [notes.from_dict(row) for row in await self._call("GET", f"/api/annotations/{ident}/history")]

    async def missions(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/api/missions")

    async def plan_missions(self, hours: float = 8.0, top: int = 5) -> list[dict[str, Any]]:
        return await self._call("POST", "/api/missions/plan", {"hours": hours, "top": top})

    async def add_mission(self, polygon: list[list[float]], label: str, reason: str) -> dict[str, Any]:
        return await self._call("POST", "/api/missions", {"polygon": polygon, "label": label, "reason": reason})

    async def assign_mission(self, mission_id: str, units: list[str], reason: str = "") -> dict[str, Any]:
        return await self._call("POST", f"/api/missions/{_seg(mission_id)}/assign",
                                {"units": list(units), "reason": reason})

    async def mission_state(self, mission_id: str, state: str, reason: str = "") -> dict[str, Any]:
        return await self._call("POST", f"/api/missions/{_seg(mission_id)}/state", {"state": state, "reason": reason})

    async def suppress_mission(self, mission_id: str, reason: str) -> dict[str, Any]:
        return await self._call("POST", f"/api/missions/{_seg(mission_id)}/suppress", {"reason": reason})

    async def send_message(self, kind: str, ident: str, fmt: str = "envelope") -> list[dict[str, Any]]:
        return await self._call("POST", "/api/messages", {"kind": kind, "id": ident, "format": fmt})

    async def messages(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/api/messages")

    async def retention(self) -> dict[str, Any]:
        return await self._call("GET", "/api/retention")

    async def set_retention(self, kind: str, days: float) -> dict[str, Any]:
        """An admin's change of one period (0: keep); the hub answers with the new picture."""
        return await self._call("PUT", f"/api/retention/{_seg(kind)}", {"days": days})

    async def run(self) -> None:
        await self.stream.run()

    async def stop(self) -> None:
        await self.stream.stop()


def _seg(ident: str) -> str:
    """An id as one URL path segment."""
    return URL.build(path=str(ident)).raw_path.lstrip("/").replace("/", "%2F")
