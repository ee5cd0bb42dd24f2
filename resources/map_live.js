// Live layers of the wall map. Python sends batched deltas: ops.apply({...}).
// Every string from a feed is placed with textContent, never as HTML.
"use strict";

function OpsMap(map, labels) {
  const renderer = L.canvas({ padding: 0.3 });
  const layers = {
    advisories: L.layerGroup().addTo(map),
    risk: L.layerGroup().addTo(map),
    missions: L.layerGroup().addTo(map),
    annotations: L.layerGroup().addTo(map),
    // calls pile up where a city is busy: cluster them below street zoom, grey with the count,
    // an amber edge when an emergency or high-priority call is inside
    calls: L.markerClusterGroup({
      disableClusteringAtZoom: 15, maxClusterRadius: 45, showCoverageOnHover: false,
      spiderfyOnMaxZoom: false, chunkedLoading: true,
      iconCreateFunction: function (cluster) {
        const urgent = cluster.getAllChildMarkers().some(function (m) {
          const p = m.options.ops && m.options.ops.priority;
          return p === "emergency" || p === "high";
        });
        const el = document.createElement("div");
        el.textContent = String(cluster.getChildCount());
        return L.divIcon({ html: el, className: "ops-cluster" + (urgent ? " urgent" : ""), iconSize: [34, 34] });
      },
    }).addTo(map),
    shots: L.layerGroup().addTo(map),
  };
  const pulses = L.layerGroup().addTo(map);
  const flashes = L.layerGroup().addTo(map);
  const markers = { calls: new Map(), units: new Map(), shots: new Map(), advisories: new Map() };
  const state = { staleAfter: 90, follow: true, lastSeq: 0, applied: 0, applyMs: 0, lastFocus: 0 };
  const UNIT_COLOURS = { available: "#9aa3ad", dispatched: "#d6d9dd", en_route: "#eceff1",
                         on_scene: "#ffffff", out_of_service: "#50555c" };
  const units = new OpsUnitLayer({ radius: 6, trailSeconds: 600, colours: UNIT_COLOURS,
                                   staleAfter: function () { return state.staleAfter; } });
  units.addTo(map);
  layers.units = units;
  const heat = new OpsHeatLayer({});  // added from the layer control
  layers.heat = heat;
  let heatDirty = false;
  function refreshHeat() {  // shots of the last 7 days, heavier for more rounds, lighter with age
    heatDirty = false;
    const now = Date.now() / 1000;
    const points = [];
    markers.shots.forEach(function (m) {
      const d = m.options.ops;
      const age = d.t ? now - d.t : 0;
      if (age > 7 * 86400) return;
      points.push([d.lat, d.lon, (1 + Math.min(d.rounds || 1, 10) / 5) * (1 - age / (8 * 86400))]);
    });
    heat.setPoints(points);
  }

  const SHOT = { open: "#e5484d", ack: "#8a5356", withdrawn: "#6b727b" };
  const CALL = { emergency: "#e8a33d", high: "#d8b777", medium: "#9aa3ad", low: "#7d848c",
                 non_emergency: "#646a72", other: "#646a72" };

  function textNode(text) {
    const el = document.createElement("div");
    el.textContent = String(text == null ? "" : text);
    return el;
  }

  for (const item of labels) {
    const icon = L.divIcon({ className: "district-label", html: textNode(item.name), iconSize: null });
    L.marker(item.at, { icon: icon, interactive: false, keyboard: false }).addTo(map);
  }

  L.control.layers(null, {
    "Shot alerts": layers.shots, "911 calls": layers.calls, "Units": layers.units,
    "Warnings & tracks": layers.advisories, "Risk areas": layers.risk, "Missions": layers.missions,
    "Annotations": layers.annotations,
    "Heat, shootings 7 days": heat,
  }, { collapsed: true, position: "topright" }).addTo(map);  // opens on hover or touch

  const SEVERITY = { extreme: "#e5484d", severe: "#e8a33d", moderate: "#c9b37a", minor: "#8b9199", unknown: "#8b9199" };

  function advisoryLayer(d) {
    const colour = SEVERITY[d.severity] || SEVERITY.unknown;
    const area = { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.08, renderer: renderer };
    const parts = [];
    for (const ring of d.polygons || []) parts.push(L.polygon(ring, area));
    for (const c of d.circles || []) parts.push(L.circle([c[0], c[1]], Object.assign({ radius: c[2] }, area)));
    if (!parts.length && d.lat != null && d.lon != null) {
      parts.push(L.circleMarker([d.lat, d.lon], { radius: 6, color: colour, weight: 2,
        fillColor: "#1f2226", fillOpacity: 1, renderer: renderer }));
    }
    const group = L.featureGroup(parts);
    group.options.ops = d;
    group.bindTooltip(function () { return textNode(d.label); });
    return group;
  }

  function upsertAdvisory(d) {
    remove("advisories", d.id);  // areas change shape: redraw the group
    const group = advisoryLayer(d);
    group.addTo(layers.advisories);
    markers.advisories.set(d.id, group);
  }

  const legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    const box = L.DomUtil.create("div", "ops-legend");
    const rows = [["dot", SHOT.open, "Shot alert, open"], ["ring", SHOT.open, "Possible firecracker"],
                  ["dot", SHOT.ack, "Shot alert, acknowledged"],
                  ["ring", CALL.emergency, "911 call, emergency / high"], ["ring", CALL.medium, "911 call, other"], ["ring", "#8b9199", "Ring with a number: calls grouped"],
                  ["dot", UNIT_COLOURS.available, "Unit"], ["dashed", "#e8a33d", "Unit, position late"],
                  ["square", "#8a9db6", "Risk area, next day (forecast)"], ["box", "#e3e6e9", "Mission"],
                  ["box", "#b7a8d6", "Annotation"]];
    for (const [shape, colour, text] of rows) {
      const row = L.DomUtil.create("div", "ops-legend-row", box);
      const mark = L.DomUtil.create("span", "ops-legend-" + (shape === "dashed" ? "ring dashed" : shape), row);
      mark.style[shape === "dot" || shape === "square" ? "background" : "borderColor"] = colour;
      row.appendChild(document.createTextNode(text));
    }
    return box;
  };
  legend.addTo(map);

  function shotStyle(d) {
    // size by rounds; a possible firecracker is a ring; older alerts fade over six hours
    const colour = d.withdrawn ? SHOT.withdrawn : (d.ack ? SHOT.ack : SHOT.open);
    const age = d.t ? Math.max(0, Date.now() / 1000 - d.t) : 0;
    const fade = Math.max(0.35, 1 - age / 21600);
    const ring = d.type === "possible_firecracker";
    return { radius: 6 + Math.min(d.rounds || 1, 16) * 0.5, color: ring ? colour : "#1f2226",
             weight: ring ? 3 : 1.5, fillColor: ring ? "#1f2226" : colour,
             fillOpacity: (d.ack ? 0.6 : 0.95) * fade, opacity: fade, renderer: renderer };
  }
  function callStyle(d) {
    const urgent = d.priority === "emergency" || d.priority === "high";
    return { radius: urgent ? 6 : 4, color: CALL[d.priority] || CALL.other, weight: urgent ? 2.5 : 1.5,
             fillColor: "#1f2226", fillOpacity: 0.9, renderer: renderer };
  }
  const STYLE = { shots: shotStyle, calls: callStyle };

  const UNIT_LABEL = { available: "Available", dispatched: "Dispatched", en_route: "En route",
                       on_scene: "On scene", out_of_service: "Out of service" };

  function unitFromArray(a) {
    // [id, lat, lon, status, t, heading, assignment]: see opscenter/map_delta.py UNIT_FIELDS
    const label = a[0] + " · " + (UNIT_LABEL[a[3]] || a[3]) + (a[6] ? " → " + a[6] : "");
    return { id: a[0], lat: a[1], lon: a[2], status: a[3], t: a[4], heading: a[5], assignment: a[6], label: label };
  }

  function styleKey(kind, d) {
    if (kind === "shots") return d.ack + "/" + d.withdrawn + "/" + d.rounds + "/" + d.type;
    return d.priority;
  }

  function upsert(kind, d) {
    if (kind === "units") { units.upsert(unitFromArray(d)); return; }
    const known = markers[kind].get(d.id);
    if (known) {
      known.setLatLng([d.lat, d.lon]);
      const key = styleKey(kind, d);
      if (key !== known.options.opsStyle) {  // restyling redraws: only when the look changes
        known.setStyle(STYLE[kind](d));
        known.options.opsStyle = key;
      }
      known.options.ops = d;
      return;
    }
    const marker = L.circleMarker([d.lat, d.lon], STYLE[kind](d));
    marker.options.ops = d;
    marker.options.opsStyle = styleKey(kind, d);
    marker.bindTooltip(function (layer) { return textNode(layer.options.ops.label); });
    marker.on("click", function () { report(kind, String(marker.options.ops.id)); });
    marker.addTo(layers[kind]);
    markers[kind].set(d.id, marker);
  }

  function report(kind, id) {  // a click goes to Python as a console line (ui/map_view.py)
    console.log("ops-click " + JSON.stringify({ kind: kind, id: id }));
  }

  // Risk cells, mission boxes and annotations (resources/risk_layer.js, draw_tool.js): added by
  // MapView once the page has loaded. They share the markers' canvas, stacked under them, so a
  // click on a shot inside a risk cell still opens the shot.
  const PLAN = ["risk", "missions", "annotations"];
  let plan = null;
  function installPlanning() {
    if (plan) return true;
    const env = { map: map, renderer: renderer, textNode: textNode, report: report };
    plan = { risk: OpsRiskLayer(layers.risk, env), missions: OpsMissionLayer(layers.missions, env),
             annotations: OpsAnnotationLayer(layers.annotations, env), draw: OpsDrawTool(map, env) };
    return true;
  }
  function restack() {  // bottom to top: risk, missions, annotations, then calls and shots
    for (const kind of ["annotations", "missions", "risk"]) {
      for (const layer of plan[kind].layers()) layer.bringToBack();
    }
  }
  function planSet(kind, items) { const n = plan[kind].set(items); restack(); return n; }
  function planTooltip(kind, id) {
    const shape = plan[kind].get(id);
    if (!shape) return "null";
    if (shape._map) shape.openTooltip(shape.getBounds ? shape.getBounds().getCenter() : shape.getLatLng());
    const tip = shape.getTooltip();
    const content = tip && (typeof tip._content === "function" ? tip._content(shape) : tip._content);
    const label = plan[kind].label ? plan[kind].label(id) : null;
    return JSON.stringify({ html: (content ? content.innerHTML : "") + (label ? label.innerHTML : ""),
                            text: (content ? content.textContent : "") + " " + (label ? label.textContent : "") });
  }

  function remove(kind, id) {
    if (kind === "units") { units.remove(id); return; }
    const marker = markers[kind].get(id);
    if (marker) {
      layers[kind].removeLayer(marker);
      markers[kind].delete(id);
    }
  }

  function pulse(d) {
    // the animation runs on an inner element: Leaflet positions the icon itself by transform
    const icon = L.divIcon({ className: "shot-pulse", html: "<div></div>", iconSize: [28, 28] });
    const marker = L.marker([d.lat, d.lon], { icon: icon, interactive: false, keyboard: false });
    marker.addTo(pulses);
    // only the newest dozen pulse: in a flood, hundreds of moving rings would hide the city
    const live = pulses.getLayers();
    if (live.length > 12) pulses.removeLayer(live[0]);
    setTimeout(function () { pulses.removeLayer(marker); }, (d.seconds || 60) * 1000);
  }

  function flash(id) {
    const marker = markers.shots.get(id) || markers.calls.get(id);
    const unit = marker ? null : units.get(id);
    if (!marker && !unit) return false;
    const at = marker ? marker.getLatLng() : L.latLng(unit.lat, unit.lon);
    if (unit) units.select(id);
    map.flyTo(at, Math.max(map.getZoom(), 15), { duration: 0.8 });
    const icon = L.divIcon({ className: "flash-ring", html: "<div></div>", iconSize: [60, 60] });
    const ring = L.marker(at, { icon: icon, interactive: false, keyboard: false }).addTo(flashes);
    setTimeout(function () { flashes.removeLayer(ring); }, 4000);
    return true;
  }

  const home = map.getBounds();

  function apply(delta) {
    const started = performance.now();
    for (const kind of ["advisories", "calls", "units", "shots"]) {
      const part = delta[kind];
      if (!part) continue;
      for (const id of part.remove || []) remove(kind, id);
      for (const d of part.upsert || []) (kind === "advisories" ? upsertAdvisory : upsert.bind(null, kind))(d);
    }
    if (delta.shots && !heatDirty) { heatDirty = true; setTimeout(refreshHeat, 500); }
    for (const d of delta.pulse || []) pulse(d);
    // Follow new alerts, but let the map settle: in a flood a flight per batch would keep the
    // wall moving and unreadable, so at most one flight every 8 seconds.
    if (delta.focus && state.follow && Date.now() - state.lastFocus > 8000) {
      state.lastFocus = Date.now();
      map.flyTo([delta.focus.lat, delta.focus.lon], Math.max(map.getZoom(), 14), { duration: 0.8 });
    }
    state.applied += 1;
    state.applyMs += performance.now() - started;
    if (delta.seq) {
      state.lastSeq = delta.seq;
      const seq = delta.seq;
      // After the next frame: the canvas has drawn this delta.
      const appliedAt = Date.now();
      requestAnimationFrame(function () { console.log("ops-drawn " + seq + " " + appliedAt + " " + Date.now()); });
    }
    return state.lastSeq;
  }

  setInterval(function () { units.redraw(); }, 2000);  // a unit goes stale by the clock alone

  return {
    apply: apply,
    flash: flash,
    configure: function (opts) { Object.assign(state, opts || {}); return JSON.stringify(state); },
    counts: function () {
      return JSON.stringify({ calls: markers.calls.size, units: units.count(),
                              shots: markers.shots.size, advisories: markers.advisories.size,
                              pulses: pulses.getLayers().length, applyMs: state.applyMs,
                              drawMs: units.drawMs, draws: units.draws, heat: heat.count(),
                              applied: state.applied, lastSeq: state.lastSeq });
    },
    tooltip: function (kind, id) {
      if (PLAN.indexOf(kind) >= 0) return plan ? planTooltip(kind, id) : "null";
      if (kind === "units") {  // drawn as canvas text: there is no HTML to inject into
        const d = units.get(id);
        return d ? JSON.stringify({ html: "", text: d.label }) : "null";
      }
      const m = markers[kind] && markers[kind].get(id);
      if (!m) return "null";
      // the element the tooltip shows (also for a marker folded into a cluster right now)
      if (m._map) m.openTooltip();  // really into the page, where a payload would run
      const tip = m.getTooltip();
      const content = tip && (typeof tip._content === "function" ? tip._content(m) : tip._content);
      const el = content instanceof HTMLElement ? content : null;
      return JSON.stringify({ html: el ? el.innerHTML : String(content), text: el ? el.textContent : null });
    },
    select: function (id) { units.select(id); return true; },
    installPlanning: installPlanning,
    setRisk: function (items) { return planSet("risk", items); },
    setMissions: function (items) { return planSet("missions", items); },
    setAnnotations: function (items) { return planSet("annotations", items); },
    upsertAnnotation: function (item) { const ok = plan.annotations.upsert(item); restack(); return ok; },
    removeAnnotation: function (id) { return plan.annotations.remove(id); },
    startDrawing: function (type) { return plan.draw.start(type); },
    cancelDrawing: function () { return plan.draw.cancel(); },
    finishDrawing: function () { return plan.draw.finish(); },
    drawClick: function (lat, lon) { return plan.draw.click(lat, lon); },
    drawing: function () { return JSON.stringify({ type: plan.draw.active(), vertices: plan.draw.vertices() }); },
    planCounts: function () {
      return JSON.stringify({ risk: plan.risk.count(), missions: plan.missions.count(),
                              annotations: plan.annotations.count(),
                              riskDrawn: layers.risk.getLayers().length,
                              missionLayers: layers.missions.getLayers().length,
                              annotationLayers: layers.annotations.getLayers().length });
    },
    riskStyle: function (id) { return JSON.stringify(plan.risk.style(id)); },
    fire: function (kind, id) {  // a click on a planning shape, as Leaflet would deliver it
      const shape = plan[kind] && plan[kind].get(id);
      if (!shape) return false;
      shape.fire("click", { latlng: shape.getBounds ? shape.getBounds().getCenter() : shape.getLatLng() });
      return true;
    },
    home: function () { map.flyToBounds(home, { duration: 0.8 }); return true; },
    showHeat: function (on) { if (on) heat.addTo(map); else map.removeLayer(heat); refreshHeat(); return heat.count(); },
    trail: function (id) { return JSON.stringify((units._trails.get(id) || []).length); },
    position: function (kind, id) {
      if (kind === "units") {
        const d = units.get(id);
        return d ? JSON.stringify({ lat: d.lat, lng: d.lon }) : "null";
      }
      const m = markers[kind] && markers[kind].get(id);
      return m ? JSON.stringify(m.getLatLng()) : "null";
    },
  };
}
