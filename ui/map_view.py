"""The live map: a QWebEngineView over the folium base page, fed batched JSON deltas.

The page is built once; after that only deltas cross into it (one `runJavaScript` per bridge
batch). A request interceptor refuses anything that would leave the machine, so the wall works
on a closed network and a hostile string can't make the page phone home.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView

from opscenter.basemap import RESOURCES, build_base_map
from opscenter.map_delta import build_delta, full_delta
from opscenter.map_shapes import (
    SHAPE_TYPES, clean_all, clean_annotation, clean_geometry, clean_mission, clean_risk_cell,
)
from opscenter.store import LiveStore

from .bridge import ChangeBatch

log = logging.getLogger(__name__)
LOCAL_SCHEMES = {"file", "data", "qrc", "blob", "about"}
IN_FLIGHT_TIMEOUT_S = 2.0  # a page that never reports (reloaded, hung) must not stop updates
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
PLANNING_SCRIPTS = ("risk_layer.js", "draw_tool.js")  # put into the page after it loads


class LocalOnlyInterceptor(QWebEngineUrlRequestInterceptor):
    """Blocks every request that is not to this machine; keeps what it blocked for the record."""

    def __init__(self, allowed_hosts: set[str] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.blocked: list[str] = []
        self.allowed_hosts = set(allowed_hosts or ())

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802
        url = info.requestUrl()
        if url.scheme() in LOCAL_SCHEMES or url.host() in LOCAL_HOSTS or url.host() in self.allowed_hosts:
            return
        self.blocked.append(url.toString())
        info.block(True)


class MapPage(QWebEnginePage):
    """Carries the page's messages back to Python: a delta drawn, a marker clicked.

    `runJavaScript` can't wait for the page to draw; the page reports with a console line
    instead (`ops-drawn <seq>`, `ops-click <json>`, `ops-shape <json>`, `ops-draw-cancel`),
    which costs nothing when nobody listens. A shape is passed on unchecked: MapView checks it.
    """

    drawn = Signal(int)
    clicked = Signal(str, str)
    shape = Signal(str)  # the JSON text of a finished drawing, not yet checked
    draw_cancelled = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # (seq, applied in page, drawn in page, reported here), epoch seconds: where time goes
        self.timings: list[tuple[int, float, float, float]] = []

    def javaScriptConsoleMessage(self, level, message: str, line: int, source: str) -> None:  # noqa: N802
        if message.startswith("ops-drawn "):
            try:
                parts = message[10:].split()
                self.timings.append((int(parts[0]), int(parts[1]) / 1000, int(parts[2]) / 1000, time.time()))
                del self.timings[:-200]
                self.drawn.emit(int(parts[0]))
            except (ValueError, IndexError):
                pass
        elif message.startswith("ops-click "):
            try:
                data = json.loads(message[10:])
                self.clicked.emit(str(data["kind"]), str(data["id"]))
            except (ValueError, KeyError, TypeError):
                pass
        elif message.startswith("ops-shape "):
            self.shape.emit(message[10:])
        elif message == "ops-draw-cancel":
            self.draw_cancelled.emit()
        elif level != QWebEnginePage.JavaScriptConsoleMessageLevel.InfoMessageLevel:
            log.warning("map page: %s (%s:%d)", message, source.rsplit("/", 1)[-1], line)


class MapView(QWebEngineView):
    """`ready` fires once the page has loaded and holds the store's current picture;
    `marker_clicked(kind, id)` when the operator clicks a marker (kinds: shots, calls, units,
    advisories, risk, missions, annotations); `shape_drawn(geometry)` when a drawing started
    with `start_drawing` is finished, `drawing_cancelled` when it is abandoned."""

    ready = Signal()
    marker_clicked = Signal(str, str)
    shape_drawn = Signal(dict)
    drawing_cancelled = Signal()

    def __init__(
        self,
        store: LiveStore,
        boundaries: dict[str, Any],
        center: tuple[float, float],
        cache_dir: Path | None = None,
        tiles_url: str | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.is_ready = False
        self.follow = True
        self._follow_suspended = False
        self.deltas_sent = 0
        self._tmp = None
        if cache_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="opscenter-map-")
            cache_dir = Path(self._tmp.name)
        self.map_page = MapPage(self)
        self.setPage(self.map_page)
        self.map_page.clicked.connect(self._on_clicked)
        self.map_page.shape.connect(self._on_shape)
        self.map_page.draw_cancelled.connect(self._on_draw_cancelled)
        self.drawing: str | None = None  # the shape type being drawn, if any
        # what the planning layers show, by id; kept so a (re)loaded page gets them again
        self._layers: dict[str, dict[str, dict[str, Any]]] = {"risk": {}, "missions": {}, "annotations": {}}
        self.map_page.drawn.connect(self._on_drawn)
        self._pending = ChangeBatch()
        self._in_flight = 0  # seq of the delta the page has not reported drawn yet
        self._in_flight_since = 0.0
        self.sent_times: dict[int, float] = {}
        # The only host off this machine the page may ask is a configured tile server's.
        tile_host = QUrl(tiles_url.replace("{", "").replace("}", "")).host() if tiles_url else ""
        remote_tiles = bool(tile_host) and tile_host not in LOCAL_HOSTS
        self.interceptor = LocalOnlyInterceptor({tile_host} if remote_tiles else set(), self)
        self.page().profile().setUrlRequestInterceptor(self.interceptor)
        settings = self.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, True)
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
                              bool(tiles_url))
        page_path = build_base_map(boundaries, center, cache_dir, tiles_url=tiles_url)
        self.loadFinished.connect(self._on_loaded)
        self.load(QUrl.fromLocalFile(str(page_path)))

    def _on_loaded(self, ok: bool) -> None:
        if not ok or self.is_ready:
            return
        self.is_ready = True
        self._run("ops.configure", {"staleAfter": self.store.unit_stale_s, "follow": self.follow})
        self._send(full_delta(self.store))
        self._install_planning()
        self.ready.emit()

    def _install_planning(self) -> None:
        """Risk, missions and annotations: scripts from resources/, then what Python holds."""
        for name in PLANNING_SCRIPTS:
            self.page().runJavaScript((RESOURCES / name).read_text(encoding="utf-8"))
        self.page().runJavaScript("ops.installPlanning()")
        for layer in self._layers:
            self._push(layer)

    def _replace(self, layer: str, items: Any, clean: Callable[[Any], dict[str, Any]]) -> None:
        self._layers[layer] = {c["id"]: c for c in clean_all(items, clean, layer)}
        self._push(layer)

    def _push(self, layer: str) -> None:
        if self.is_ready:  # ops.setRisk, ops.setMissions, ops.setAnnotations
            self._run(f"ops.set{layer.capitalize()}", list(self._layers[layer].values()))

    def set_risk(self, cells: list[dict[str, Any]]) -> None:
        """Draw forecast cells (`RiskSurface.cells`) instead of the last ones; click: "risk"."""
        self._replace("risk", cells, clean_risk_cell)

    def set_missions(self, missions: list[dict[str, Any]]) -> None:
        """Draw mission boxes (label, dosage bar) instead of the last ones; click: "missions"."""
        self._replace("missions", missions, clean_mission)

    def set_annotations(self, items: list[dict[str, Any]]) -> None:
        """Replace every annotation; click: marker_clicked("annotations", id)."""
        self._replace("annotations", items, clean_annotation)

    def upsert_annotation(self, item: dict[str, Any]) -> bool:
        """Add or change one annotation (a live delta); False when it is malformed."""
        for cleaned in clean_all([item], clean_annotation, "annotation"):
            self._layers["annotations"][cleaned["id"]] = cleaned
            if self.is_ready:
                self._run("ops.upsertAnnotation", cleaned)
            return True
        return False

    def remove_annotation(self, annotation_id: str) -> None:
        if self._layers["annotations"].pop(annotation_id, None) is not None and self.is_ready:
            self._run("ops.removeAnnotation", annotation_id)

    def start_drawing(self, shape_type: str) -> bool:
        """Draw a Point, LineString, Polygon or Circle on the map; it arrives as `shape_drawn`."""
        if shape_type not in SHAPE_TYPES or not self.is_ready:
            return False
        self.drawing = shape_type
        self._run("ops.startDrawing", shape_type)
        self.setFocus()  # Enter and Escape go to the page
        return True

    def cancel_drawing(self) -> None:
        if self.is_ready and self.drawing:
            self._run("ops.cancelDrawing", None)
        self.drawing = None

    def _on_clicked(self, kind: str, record_id: str) -> None:
        if self.drawing is None:  # while drawing, a click places a vertex, it does not select
            self.marker_clicked.emit(kind, record_id)

    def _on_shape(self, text: str) -> None:
        try:
            geometry = clean_geometry(json.loads(text))
        except (ValueError, TypeError) as exc:
            log.warning("map: drawn shape ignored: %s", str(exc)[:200])
            return
        self.drawing = None
        self.shape_drawn.emit(geometry)

    def _on_draw_cancelled(self) -> None:
        self.drawing = None
        self.drawing_cancelled.emit()

    def on_batch(self, batch: ChangeBatch) -> None:
        """Send the batch now, or — while the page is still drawing the last one — fold it into
        the next: positions are latest-wins, so a busy page gets fewer, larger deltas instead of
        a growing queue (latency stays bounded by what the page can draw)."""
        if not self.is_ready:
            return  # the full picture goes in when the page has loaded
        self._pending.merge(batch)
        if self._in_flight and time.monotonic() - self._in_flight_since < IN_FLIGHT_TIMEOUT_S:
            return
        self._flush_pending()

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, ChangeBatch()
        delta = build_delta(self.store, pending.upserted, pending.removed, pending.added_shots)
        if self.follow_suspended:
            delta.pop("focus", None)
        if delta:
            self._in_flight = self._send(delta)
            self._in_flight_since = time.monotonic()

    def _on_drawn(self, seq: int) -> None:
        if seq >= self._in_flight:
            self._in_flight = 0
            if self._pending.events:
                self._flush_pending()

    def _send(self, delta: dict[str, Any]) -> int:
        """Send one delta; returns its sequence number (the page reports it drawn)."""
        self.deltas_sent += 1
        delta["seq"] = self.deltas_sent
        self.sent_times[self.deltas_sent] = time.time()
        if len(self.sent_times) > 200:
            self.sent_times.pop(next(iter(self.sent_times)))
        # As a string for JSON.parse: V8 parses JSON text many times faster than the same data
        # written as a script literal, which matters at thousands of units per delta.
        text = json.dumps(delta, separators=(",", ":"))
        self.page().runJavaScript(f"ops.apply(JSON.parse({json.dumps(text)}))")
        return self.deltas_sent

    def _run(self, function: str, argument: Any, callback: Callable[[Any], None] | None = None) -> None:
        script = f"{function}({json.dumps(argument, separators=(',', ':'))})"
        if callback is None:
            self.page().runJavaScript(script)
        else:
            self.page().runJavaScript(script, 0, callback)

    @property
    def follow_suspended(self) -> bool:
        return self._follow_suspended

    @follow_suspended.setter
    def follow_suspended(self, suspended: bool) -> None:
        """During a flood the map stops chasing alerts and shows the whole city."""
        if suspended and not self._follow_suspended and self.is_ready:
            self.page().runJavaScript("ops.home()")
        self._follow_suspended = suspended

    def set_follow(self, follow: bool) -> None:
        self.follow = follow
        if self.is_ready:
            self._run("ops.configure", {"follow": follow})

    def flash(self, record_id: str) -> None:
        """Fly to a marker and flash it (the operator clicked it in the queue)."""
        if self.is_ready:
            self._run("ops.flash", record_id)

    def evaluate(self, script: str, callback: Callable[[Any], None]) -> None:
        """Run a read-only query in the page (tests, diagnostics)."""
        self.page().runJavaScript(script, 0, callback)
