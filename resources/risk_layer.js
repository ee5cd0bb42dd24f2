// Planning layers of the wall map: forecast risk cells and mission boxes.
// Installed by MapView after the page loads (ops.installPlanning). Every string is placed with
// textContent, never as HTML; colours and sizes come from fixed tables, never from the data.
"use strict";

// One muted slate-blue ramp by rank, strongest first. Never red: red is live gunfire.
var OPS_RISK_RAMP = ["#9db0c8", "#8a9db6", "#788ba3", "#687a91", "#5a6b80"];
var OPS_MISSION_STATE = {
  planned: { color: "#aab1b9", dashArray: "8 6", opacity: 0.9 },
  active: { color: "#e3e6e9", dashArray: null, opacity: 1.0 },
  paused: { color: "#aab1b9", dashArray: "2 6", opacity: 0.9 },
  done: { color: "#6b727b", dashArray: null, opacity: 0.8 },
  cancelled: { color: "#5a6068", dashArray: "2 6", opacity: 0.7 },
};

function opsNumber(value, fallback) {
  const n = Number(value);
  return isFinite(n) ? n : fallback;
}

function opsPercent(value) {
  return Math.round(Math.max(0, Math.min(1, opsNumber(value, 0))) * 100);
}

// env: { map, renderer, textNode(text), report(kind, id) }
function OpsRiskLayer(group, env) {
  const cells = new Map();

  function rampColour(rank, count) {
    const step = (Math.max(1, rank) - 1) / Math.max(1, count);
    return OPS_RISK_RAMP[Math.min(OPS_RISK_RAMP.length - 1, Math.floor(step * OPS_RISK_RAMP.length))];
  }

  function describe(d) {
    return "Risk area #" + opsNumber(d.rank, "?") + " · " + opsPercent(d.share_trigger) +
      " % recent shootings, " + opsPercent(d.share_background) + " % long-run · click for why";
  }

  function set(items) {
    group.clearLayers();
    cells.clear();
    const count = items.length;
    for (const d of items) {
      const rank = opsNumber(d.rank, count);
      const colour = rampColour(rank, count);
      const fade = count > 1 ? (rank - 1) / (count - 1) : 0;
      const poly = L.polygon(d.polygon, {
        color: colour, weight: 1.5, opacity: 0.9, fillColor: colour,
        fillOpacity: 0.5 - 0.22 * fade, renderer: env.renderer,
      });
      poly.options.ops = d;
      poly.bindTooltip(function () { return env.textNode(describe(d)); }, { sticky: true });
      poly.on("click", function () { env.report("risk", String(d.id)); });
      poly.addTo(group);
      cells.set(String(d.id), poly);
    }
    return cells.size;
  }

  return {
    set: set,
    count: function () { return cells.size; },
    get: function (id) { return cells.get(String(id)) || null; },
    layers: function () { return Array.from(cells.values()); },
    style: function (id) {
      const p = cells.get(String(id));
      return p ? { color: p.options.color, fillColor: p.options.fillColor, fillOpacity: p.options.fillOpacity } : null;
    },
  };
}

function OpsMissionLayer(group, env) {
  const boxes = new Map();  // id -> { shape, label }

  function labelElement(d) {
    const box = document.createElement("div");
    box.className = "ops-mission-label";
    const name = document.createElement("div");
    name.className = "ops-mission-name";
    name.textContent = String(d.label == null ? "" : d.label) + (d.state ? " · " + String(d.state) : "");
    box.appendChild(name);
    const dose = opsNumber(d.dosage_min, 0);
    const target = opsNumber(d.target_min, 0);
    const share = target > 0 ? Math.max(0, Math.min(1, dose / target)) : 0;
    const bar = document.createElement("div");
    bar.className = "ops-mission-bar";
    const fill = document.createElement("span");
    fill.style.width = (share * 100).toFixed(1) + "%";
    bar.appendChild(fill);
    box.appendChild(bar);
    const text = document.createElement("div");
    text.className = "ops-mission-dose";
    text.textContent = Math.round(dose) + " / " + Math.round(target) + " min · " + Math.round(share * 100) + " %";
    box.appendChild(text);
    return box;
  }

  function tooltipText(d) {
    const units = Array.isArray(d.units) ? d.units.map(String).join(", ") : "";
    return "Mission " + String(d.label == null ? "" : d.label) + " · " + String(d.state || "") +
      " · " + Math.round(opsNumber(d.dosage_min, 0)) + " of " + Math.round(opsNumber(d.target_min, 0)) +
      " min" + (units ? " · units " + units : "");
  }

  function set(items) {
    group.clearLayers();
    boxes.clear();
    for (const d of items) {
      const look = OPS_MISSION_STATE[d.state] || OPS_MISSION_STATE.active;
      const shape = L.polygon(d.polygon, {
        color: look.color, dashArray: look.dashArray, opacity: look.opacity, weight: 2.5,
        fillColor: look.color, fillOpacity: 0.04, renderer: env.renderer,
      });
      shape.options.ops = d;
      shape.bindTooltip(function () { return env.textNode(tooltipText(d)); }, { sticky: true });
      shape.on("click", function () { env.report("missions", String(d.id)); });
      shape.addTo(group);
      // the label sits on the box's north-west corner, above the outline
      const icon = L.divIcon({ className: "ops-mission-anchor", html: labelElement(d), iconSize: null });
      const label = L.marker(shape.getBounds().getNorthWest(), { icon: icon, interactive: false, keyboard: false });
      label.addTo(group);
      boxes.set(String(d.id), { shape: shape, label: label });
    }
    return boxes.size;
  }

  return {
    set: set,
    count: function () { return boxes.size; },
    get: function (id) { const b = boxes.get(String(id)); return b ? b.shape : null; },
    label: function (id) { const b = boxes.get(String(id)); return b ? b.label.getElement() : null; },
    layers: function () { return Array.from(boxes.values(), function (b) { return b.shape; }); },
  };
}
