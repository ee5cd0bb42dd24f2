"""Risk cells, mission boxes, annotations and the drawing tool, in the real map page (offscreen)."""

from __future__ import annotations

import asyncio
import json
import math

import pytest

from opscenter.map_shapes import clean_annotation, clean_geometry
from opscenter.store import LiveStore
from tests.conftest import wait_until
from tests.test_ui_live import XSS, js

LAT, LON = 39.29, -76.61
PAYLOADS = XSS + ['" onerror="window.__pwned=6', "<script>window.__pwned=7</script>",
                  "'><img src=x onerror=window.__pwned=8>"]
BOUNDARIES = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"kind": "district", "name": "Central"},
    "geometry": {"type": "Polygon", "coordinates": [[[-76.66, 39.26], [-76.56, 39.26], [-76.56, 39.32],
                                                     [-76.66, 39.32], [-76.66, 39.26]]]}}]}


def square(lat: float, lon: float, d: float = 0.0015) -> list[list[float]]:
    return [[lat, lon], [lat, lon + d], [lat + d, lon + d], [lat + d, lon]]


def risk_cells(n: int) -> list[dict]:
    return [{"id": f"cell-{i}", "polygon": square(LAT + i * 0.002, LON), "score": 1.0 / (i + 1),
             "rank": i + 1, "share_background": 0.3, "share_trigger": 0.7} for i in range(n)]


def mission(id_: str, label: str = "Post 121 — visible presence", state: str = "active") -> dict:
    return {"id": id_, "label": label, "state": state, "polygon": square(LAT - 0.01, LON - 0.01, 0.004),
            "dosage_min": 34, "target_min": 60, "units": ["1A12", "1B31"]}


def annotation(id_: str, geometry: dict, label: str = "Cordon", author: str = "analyst") -> dict:
    return {"id": id_, "label": label, "geometry": geometry, "author": author}


@pytest.fixture
def view(run, qtbot, tmp_path):
    from ui.map_view import MapView

    async def make():
        v = MapView(LiveStore(), BOUNDARIES, (LAT, LON), cache_dir=tmp_path)
        v.resize(1200, 800)
        v.show()
        await wait_until(lambda: v.is_ready, timeout=30, what="map page ready")
        await asyncio.sleep(0.2)
        return v

    v = run(make())
    yield v
    v.close()
    v.deleteLater()
    qtbot.wait(50)  # the page goes before the profile it belongs to


async def settle(view, script: str = "ops.planCounts()"):
    await asyncio.sleep(0.15)
    return await js(view, script)


def test_set_risk_and_missions_draw_one_shape_each(view, run) -> None:
    view.set_risk(risk_cells(7))
    view.set_missions([mission("M-1"), mission("M-2", state="planned")])
    counts = run(settle(view))
    assert counts["risk"] == 7 and counts["riskDrawn"] == 7
    assert counts["missions"] == 2 and counts["missionLayers"] == 4  # a box and its label each
    # replace, not add: the next forecast's cells take the place of the last ones
    view.set_risk(risk_cells(3))
    view.set_missions([])
    counts = run(settle(view))
    assert counts["risk"] == counts["riskDrawn"] == 3 and counts["missions"] == 0


def test_risk_cells_are_a_muted_ramp_and_never_red(view, run) -> None:
    view.set_risk(risk_cells(5))
    styles = run(settle(view, "JSON.stringify([0,1,2,3,4].map(function(i){"
                               " return JSON.parse(ops.riskStyle('cell-' + i)); }))"))
    for style in styles:
        r, g, b = (int(style["color"][k:k + 2], 16) for k in (1, 3, 5))
        assert b >= r and b >= g, style  # blue-grey, not red or amber
        assert 0 < style["fillOpacity"] <= 0.5  # translucent: the city shows through
    assert styles[0]["fillOpacity"] > styles[-1]["fillOpacity"]  # rank 1 strongest


def test_mission_label_shows_dosage(view, run) -> None:
    view.set_missions([mission("M-1")])
    tip = run(settle(view, "ops.tooltip('missions', 'M-1')"))
    assert "34 / 60 min · 57 %" in tip["text"]
    assert "Post 121 — visible presence · active" in tip["text"]
    assert "1A12, 1B31" in tip["text"]
    width = run(js(view, "document.querySelector('.ops-mission-bar > span').style.width"))
    assert width == "56.7%"


@pytest.mark.parametrize("layer", ["risk", "missions", "annotations"])
def test_clicking_a_shape_reports_its_layer_and_id(view, run, qtbot, layer) -> None:
    view.set_risk(risk_cells(2))
    view.set_missions([mission("M-9")])
    view.set_annotations([annotation("A-3", {"type": "Circle", "coordinates": [LON, LAT], "radius_m": 120.0})])
    target = {"risk": "cell-1", "missions": "M-9", "annotations": "A-3"}[layer]
    run(settle(view))
    with qtbot.waitSignal(view.marker_clicked, timeout=5000) as blocker:
        view.evaluate(f"ops.fire({json.dumps(layer)}, {json.dumps(target)})", lambda _r: None)
    assert blocker.args == [layer, target]


def test_annotations_upsert_and_remove_live(view, run) -> None:
    view.set_annotations([annotation("A-1", {"type": "Point", "coordinates": [LON, LAT]}),
                          annotation("A-2", {"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.01, LAT]]})])
    assert run(settle(view))["annotations"] == 2
    assert view.upsert_annotation(annotation("A-3", {"type": "Polygon", "coordinates": [
        [[LON, LAT], [LON + 0.01, LAT], [LON + 0.01, LAT + 0.01]]]}, label="Search area"))
    assert view.upsert_annotation(annotation("A-1", {"type": "Point", "coordinates": [LON, LAT]}, label="Moved"))
    assert not view.upsert_annotation(annotation("A-4", {"type": "Point", "coordinates": [LON, 95.0]}))
    counts = run(settle(view))
    assert counts["annotations"] == 3 and counts["annotationLayers"] == 6
    assert "Moved" in run(js(view, "ops.tooltip('annotations', 'A-1')"))["text"]
    view.remove_annotation("A-2")
    assert run(settle(view))["annotations"] == 2


def test_hostile_labels_are_shown_as_text_and_never_run(view, run) -> None:
    view.set_annotations([annotation(f"A-{i}", {"type": "Point", "coordinates": [LON + i * 1e-3, LAT]},
                                     label=p, author=p) for i, p in enumerate(PAYLOADS)])
    view.set_missions([mission(f"M-{i}", label=p, state=p) for i, p in enumerate(PAYLOADS)])
    view.set_risk([dict(c, id=p) for c, p in zip(risk_cells(len(PAYLOADS)), PAYLOADS)])

    async def probe():
        await asyncio.sleep(0.3)
        shown = []
        for i, p in enumerate(PAYLOADS):
            for kind, id_ in (("annotations", f"A-{i}"), ("missions", f"M-{i}"), ("risk", p)):
                shown.append((kind, p, await js(view, f"ops.tooltip({json.dumps(kind)}, {json.dumps(id_)})")))
        await asyncio.sleep(0.5)
        return shown, await js(view, "String(window.__pwned)")

    shown, pwned = run(probe())
    assert pwned == "undefined"
    for kind, payload, tip in shown:
        assert tip is not None, kind
        if kind != "risk":  # a risk cell's tooltip shows its rank, not its id
            assert payload in tip["text"], kind
        for tag in ("<img", "<svg", "<script"):  # escaped text, no element made from data
            assert tag not in tip["html"], (kind, tip["html"])
    # the label elements in the page hold no element made from the data
    assert run(js(view, "document.querySelectorAll('.ops-annotation-label img, .ops-mission-label img,"
                        " .ops-annotation-label script, .ops-mission-label svg').length")) == 0


async def draw(view, shape: str, clicks: list[tuple[float, float]], finish: str | None) -> None:
    assert view.start_drawing(shape)
    await asyncio.sleep(0.1)
    for lat, lon in clicks:
        assert await js(view, f"ops.drawClick({lat}, {lon})") is True
    if finish == "dblclick":
        lat, lon = clicks[-1]
        await js(view, f"ops.drawClick({lat}, {lon})")  # the second click of the double-click
        await js(view, "(function(){ var m = document.querySelector('.folium-map');"
                       " m.dispatchEvent(new MouseEvent('dblclick', {bubbles: true, clientX: 300, clientY: 300}));"
                       " return true; })()")
    elif finish:
        await js(view, f"document.dispatchEvent(new KeyboardEvent('keydown', {{key: {json.dumps(finish)}}})); true")


@pytest.mark.parametrize("shape,clicks,finish,expected", [
    ("Point", [(39.30, -76.60)], None, {"type": "Point", "coordinates": [-76.60, 39.30]}),
    ("LineString", [(39.30, -76.60), (39.31, -76.61), (39.305, -76.62)], "Enter",
     {"type": "LineString", "coordinates": [[-76.60, 39.30], [-76.61, 39.31], [-76.62, 39.305]]}),
    ("Polygon", [(39.30, -76.60), (39.31, -76.60), (39.31, -76.62)], "Enter",
     {"type": "Polygon", "coordinates": [[[-76.60, 39.30], [-76.60, 39.31], [-76.62, 39.31], [-76.60, 39.30]]]}),
])
def test_drawing_emits_the_geometry_in_lon_lat_order(view, run, qtbot, shape, clicks, finish, expected) -> None:
    with qtbot.waitSignal(view.shape_drawn, timeout=5000) as blocker:
        run(draw(view, shape, clicks, finish))
    assert blocker.args == [expected]
    assert view.drawing is None
    assert run(js(view, "ops.drawing()")) == {"type": None, "vertices": 0}


def test_drawing_a_circle_gives_centre_and_radius(view, run, qtbot) -> None:
    edge_lat = LAT + 250 / 111_195  # 250 m due north
    with qtbot.waitSignal(view.shape_drawn, timeout=5000) as blocker:
        run(draw(view, "Circle", [(LAT, LON), (edge_lat, LON)], None))
    geometry = blocker.args[0]
    assert geometry["type"] == "Circle" and geometry["coordinates"] == [LON, LAT]
    assert geometry["radius_m"] == pytest.approx(250, abs=0.5)


def test_double_click_finishes_a_line_without_a_doubled_vertex(view, run, qtbot) -> None:
    with qtbot.waitSignal(view.shape_drawn, timeout=5000) as blocker:
        run(draw(view, "LineString", [(39.30, -76.60), (39.31, -76.61)], "dblclick"))
    assert blocker.args[0]["coordinates"] == [[-76.60, 39.30], [-76.61, 39.31]]


def test_escape_cancels_and_too_few_points_do_not_finish(view, run, qtbot) -> None:
    async def steps():
        await draw(view, "Polygon", [(39.30, -76.60), (39.31, -76.60)], "Enter")  # two corners: not yet
        still = await js(view, "ops.drawing()")
        await js(view, "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'})); true")
        return still

    drawn = []
    view.shape_drawn.connect(drawn.append)
    with qtbot.waitSignal(view.drawing_cancelled, timeout=5000):
        still = run(steps())
    assert still == {"type": "Polygon", "vertices": 2}
    assert drawn == [] and view.drawing is None


def test_clicks_while_drawing_do_not_select(view, run, qtbot) -> None:
    view.set_missions([mission("M-1")])
    run(settle(view))
    clicked = []
    view.marker_clicked.connect(lambda *a: clicked.append(a))
    assert view.start_drawing("LineString")
    run(js(view, "ops.fire('missions', 'M-1')"))
    run(settle(view))
    assert clicked == []
    view.cancel_drawing()
    run(js(view, "ops.fire('missions', 'M-1')"))
    run(wait_until(lambda: clicked == [("missions", "M-1")], timeout=5))


@pytest.mark.parametrize("message", [
    '{"type": "Point", "coordinates": [-76.6, 95.0]}',
    '{"type": "Point", "coordinates": [NaN, 39.3]}',
    '{"type": "Polygon", "coordinates": [[[-76.6, 39.3], [-76.61, 39.3], [-76.6, 39.3]]]}',
    '{"type": "LineString", "coordinates": [' + ",".join(["[-76.6, 39.3]"] * 600) + "]}",
    '{"type": "Circle", "coordinates": [-76.6, 39.3], "radius_m": -5}',
    '{"type": "Script", "coordinates": "alert(1)"}',
    "not json at all",
])
def test_bad_shape_messages_are_ignored_and_logged(view, run, qtbot, caplog, message) -> None:
    drawn = []
    view.shape_drawn.connect(drawn.append)
    view.map_page.shape.emit(message)  # as if the page had written `ops-shape <message>`
    assert drawn == []
    assert "drawn shape ignored" in caplog.text


def test_shape_checks_without_a_page() -> None:
    ok = clean_geometry({"type": "Polygon", "coordinates": [[[-76.6, 39.3], [-76.61, 39.3], [-76.61, 39.31]]]})
    assert ok["coordinates"][0][-1] == [-76.6, 39.3]  # ring closed
    assert clean_geometry({"type": "Point", "coordinates": [-76.6, 39.3, 12.0]})["coordinates"] == [-76.6, 39.3]
    for bad in ({"type": "Point", "coordinates": [True, 39.3]}, {"type": "Point", "coordinates": [-181, 0]},
                {"type": "Circle", "coordinates": [0, 0], "radius_m": math.inf},
                {"type": "LineString", "coordinates": [[0, 0]]}, [1, 2], None):
        with pytest.raises(ValueError):
            clean_geometry(bad)
    item = clean_annotation({"id": "A", "label": "x" * 1000, "colour": "red;background:url(x)",
                             "geometry": {"type": "Point", "coordinates": [0, 0]}})
    assert len(item["label"]) == 200 and "colour" not in item
    assert clean_annotation({"id": "B", "colour": "#aabbcc",
                             "geometry": {"type": "Point", "coordinates": [0, 0]}})["colour"] == "#aabbcc"


def test_risk_why_panel_reads_the_explanation(qtbot) -> None:
    from opscenter.risk import compute_risk
    from tests.test_risk import FAST, UNTIL, background, planted
    from ui.risk_panel import RiskWhyPanel

    surface = compute_risk(background() + planted(), UNTIL, params=FAST)
    panel = RiskWhyPanel(scale=1.5)
    qtbot.addWidget(panel)
    top = surface.cells[0]
    assert panel.show_cell(surface, top["id"])
    assert panel.headline.text().startswith(f"#1 of {len(surface.cells)}  ·  {top['score']:.2f}")
    assert f"{top['share_trigger']:.0%}" in panel.shares.text()
    assert f"{top['share_background']:.0%}" in panel.shares.text()
    why = surface.explain(top["id"])
    rows = panel.rows()
    assert len(rows) == len(why) == 10
    assert [r[2] for r in rows] == [f"{e['distance_m']:,.0f} m" for e in why]
    assert [r[3] for r in rows] == [f"{e['weight'] / top['score']:.1%}" for e in why]
    assert rows[0][4] in ("gunfire detection", "victim report")
    assert "not people" in panel.caveat.text()
    assert not panel.show_cell(surface, "cell-nope")
    assert panel.rows() == [] and "not in the current forecast" in panel.headline.text()
    empty = compute_risk([], UNTIL)
    assert not panel.show_cell(empty, "cell-1")
    assert panel.headline.text() == empty.reason


def test_a_real_click_picks_the_shot_above_a_risk_cell(view, run, qtbot) -> None:
    """Risk cells share the markers' canvas but lie under them: a click on a shot inside a
    cell opens the shot, a click on the cell elsewhere opens the cell's why."""
    shot = {"id": "S-1", "lat": LAT + 0.00075, "lon": LON + 0.00075, "type": "single_gunshot",
            "rounds": 1, "ack": False, "t": 0, "withdrawn": False, "label": "shot"}
    view._send({"shots": {"upsert": [shot], "remove": []}})
    run(settle(view))
    view.set_risk(risk_cells(1))  # drawn after the shot; cell-0: LAT..+0.0015, LON..+0.0015
    run(settle(view))
    click = ("(function(lat, lon){ var el = document.querySelector('.folium-map'); var m = window[el.id];"
             " m.setView([%f, %f], 16, {animate: false});"
             " var p = m.latLngToContainerPoint([lat, lon]); var r = el.getBoundingClientRect();"
             " var x = r.left + p.x, y = r.top + p.y; var target = document.elementFromPoint(x, y);"
             " ['mousedown', 'mouseup', 'click'].forEach(function(t){ target.dispatchEvent(new MouseEvent(t,"
             " {bubbles: true, cancelable: true, clientX: x, clientY: y, view: window})); });"
             " return target.tagName; })" % (LAT + 0.00075, LON + 0.00075))
    for (lat, lon), expected in (((LAT + 0.00075, LON + 0.00075), ["shots", "S-1"]),
                                 ((LAT + 0.0003, LON + 0.0012), ["risk", "cell-0"])):
        with qtbot.waitSignal(view.marker_clicked, timeout=5000) as blocker:
            assert run(js(view, f"{click}({lat}, {lon})")) == "CANVAS"
        assert blocker.args == expected
