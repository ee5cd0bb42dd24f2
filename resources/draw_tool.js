// Analysts' annotations on the wall map, and the tool to draw new ones.
// Geometry is GeoJSON-like, lon/lat order: {type: Point|LineString|Polygon|Circle,
// coordinates, radius_m (Circle)}. A finished shape goes to Python as a console line
// (`ops-shape <json>`), where it is validated before anything uses it. Labels use textContent.
"use strict";

var OPS_ANNOTATION_COLOUR = "#b7a8d6";  // muted lavender: not an alert, not a forecast
var OPS_MAX_VERTICES = 500;

function opsLatLngs(coords) {  // [[lon, lat], ...] -> [[lat, lon], ...]
  return coords.map(function (p) { return [p[1], p[0]]; });
}

function OpsAnnotationLayer(group, env) {
  const items = new Map();  // id -> { shape, label }

  function colourOf(d) {
    return /^#[0-9a-fA-F]{6}$/.test(String(d.colour || "")) ? d.colour : OPS_ANNOTATION_COLOUR;
  }

  function shapeOf(d) {
    const g = d.geometry || {};
    const c = colourOf(d);
    const style = { color: c, weight: 3, opacity: 0.95, fillColor: c, fillOpacity: 0.10, renderer: env.renderer };
    if (g.type === "Point") {
      return L.circleMarker([g.coordinates[1], g.coordinates[0]],
        Object.assign({}, style, { radius: 8, fillColor: "#1f2226", fillOpacity: 0.9 }));
    }
    if (g.type === "LineString") return L.polyline(opsLatLngs(g.coordinates), Object.assign({}, style, { fill: false }));
    if (g.type === "Polygon") return L.polygon(g.coordinates.map(opsLatLngs), style);
    if (g.type === "Circle") {
      return L.circle([g.coordinates[1], g.coordinates[0]], Object.assign({ radius: Number(g.radius_m) }, style));
    }
    return null;
  }

  function labelAt(d, shape) {
    const g = d.geometry;
    if (g.type === "Point" || g.type === "Circle") return L.latLng(g.coordinates[1], g.coordinates[0]);
    if (g.type === "LineString") return L.latLng(g.coordinates[0][1], g.coordinates[0][0]);
    return shape.getBounds().getCenter();
  }

  function remove(id) {
    const known = items.get(String(id));
    if (!known) return false;
    group.removeLayer(known.shape);
    group.removeLayer(known.label);
    items.delete(String(id));
    return true;
  }

  function upsert(d) {
    remove(d.id);
    const shape = shapeOf(d);
    if (!shape) return false;
    shape.options.ops = d;
    const text = String(d.label == null ? "" : d.label);
    const who = d.author ? " — " + String(d.author) : "";
    shape.bindTooltip(function () { return env.textNode(text + who); }, { sticky: true });
    shape.on("click", function () { env.report("annotations", String(d.id)); });
    shape.addTo(group);
    const el = env.textNode(text);
    el.style.borderColor = colourOf(d);
    const offset = d.geometry.type === "Point" ? " point" : "";
    const icon = L.divIcon({ className: "ops-annotation-label" + offset, html: el, iconSize: null });
    const label = L.marker(labelAt(d, shape), { icon: icon, interactive: false, keyboard: false });
    label.addTo(group);
    items.set(String(d.id), { shape: shape, label: label });
    return true;
  }

  function set(list) {
    group.clearLayers();
    items.clear();
    for (const d of list) upsert(d);
    return items.size;
  }

  return {
    set: set, upsert: upsert, remove: remove,
    count: function () { return items.size; },
    get: function (id) { const a = items.get(String(id)); return a ? a.shape : null; },
    label: function (id) { const a = items.get(String(id)); return a ? a.label.getElement() : null; },
    layers: function () { return Array.from(items.values(), function (a) { return a.shape; }); },
  };
}

// Click vertices; double-click or Enter finishes, Escape cancels. Circle: centre, then edge.
function OpsDrawTool(map, env) {
  const sketch = L.layerGroup().addTo(map);
  const ink = { color: OPS_ANNOTATION_COLOUR, weight: 3, dashArray: "6 5", fillOpacity: 0.08,
                interactive: false, renderer: env.renderer };
  let active = null;  // { type, points: [L.LatLng], cursor: L.LatLng | null }

  function round(v) { return Math.round(v * 1e7) / 1e7; }
  function lonlat(ll) { return [round(ll.lng), round(ll.lat)]; }

  function redraw() {
    sketch.clearLayers();
    if (!active) return;
    const pts = active.points.concat(active.cursor ? [active.cursor] : []);
    for (const p of active.points) {
      L.circleMarker(p, { radius: 5, color: OPS_ANNOTATION_COLOUR, weight: 2, fillColor: "#1f2226",
                          fillOpacity: 1, interactive: false, renderer: env.renderer }).addTo(sketch);
    }
    if (active.type === "Circle" && pts.length === 2) {
      L.circle(pts[0], Object.assign({ radius: map.distance(pts[0], pts[1]) }, ink)).addTo(sketch);
    } else if (active.type === "Polygon" && pts.length >= 3) {
      L.polygon(pts, ink).addTo(sketch);
    } else if (pts.length >= 2 && active.type !== "Circle") {
      L.polyline(pts, ink).addTo(sketch);
    }
  }

  function geometry() {
    const p = active.points;
    if (active.type === "Point" && p.length >= 1) return { type: "Point", coordinates: lonlat(p[0]) };
    if (active.type === "LineString" && p.length >= 2) return { type: "LineString", coordinates: p.map(lonlat) };
    if (active.type === "Polygon" && p.length >= 3) {
      const ring = p.map(lonlat);
      ring.push(ring[0].slice());  // GeoJSON rings are closed
      return { type: "Polygon", coordinates: [ring] };
    }
    if (active.type === "Circle" && p.length >= 2) {
      return { type: "Circle", coordinates: lonlat(p[0]), radius_m: Math.round(map.distance(p[0], p[1]) * 10) / 10 };
    }
    return null;
  }

  function stop() {
    map.off("click", onClick);
    map.off("dblclick", onDoubleClick);
    map.off("mousemove", onMove);
    document.removeEventListener("keydown", onKey, true);
    map.doubleClickZoom.enable();
    map.getContainer().classList.remove("ops-drawing");
    active = null;
    sketch.clearLayers();
  }

  function finish() {
    if (!active) return false;
    const g = geometry();
    if (!g) return false;  // not enough points yet: keep drawing
    stop();
    console.log("ops-shape " + JSON.stringify(g));
    return true;
  }

  function cancel() {
    if (!active) return false;
    stop();
    console.log("ops-draw-cancel");
    return true;
  }

  function add(latlng) {
    if (!active) return false;
    const p = L.latLng(latlng);
    const last = active.points[active.points.length - 1];
    // the two clicks of a double-click land on one spot: one vertex
    if (last && map.latLngToContainerPoint(last).distanceTo(map.latLngToContainerPoint(p)) < 4) return true;
    active.points.push(p);
    const full = active.type === "Point" || (active.type === "Circle" && active.points.length === 2) ||
      active.points.length >= OPS_MAX_VERTICES;
    if (full) return finish();
    redraw();
    return true;
  }

  function onClick(e) { add(e.latlng); }
  function onDoubleClick() { finish(); }  // its two clicks have placed the vertex already
  function onMove(e) { if (active) { active.cursor = e.latlng; redraw(); } }
  function onKey(e) {
    if (!active) return;
    if (e.key === "Enter") { e.preventDefault(); finish(); }
    else if (e.key === "Escape") { e.preventDefault(); cancel(); }
  }

  function start(type) {
    if (["Point", "LineString", "Polygon", "Circle"].indexOf(type) < 0) return false;
    if (active) stop();
    active = { type: type, points: [], cursor: null };
    map.doubleClickZoom.disable();
    map.getContainer().classList.add("ops-drawing");
    map.on("click", onClick);
    map.on("dblclick", onDoubleClick);
    map.on("mousemove", onMove);
    document.addEventListener("keydown", onKey, true);
    return true;
  }

  return {
    start: start, cancel: cancel, finish: finish,
    // the same path as a click on the map at (lat, lon): diagnostics and tests
    click: function (lat, lon) { if (!active) return false; map.fire("click", { latlng: L.latLng(lat, lon) }); return true; },
    active: function () { return active ? active.type : null; },
    vertices: function () { return active ? active.points.length : 0; },
  };
}
