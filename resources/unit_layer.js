// All patrol units on one canvas, drawn in one pass per frame.
// Thousands of units move every second; one Leaflet marker each costs a layer update per move.
// Here a move only updates a projected point; the frame draws all units grouped by style.
// Labels and headings are drawn as canvas text and strokes: nothing from a feed becomes HTML.
"use strict";

const OpsUnitLayer = L.Layer.extend({
  initialize: function (options) {
    L.setOptions(this, options);
    this._units = new Map();      // id -> {d, p (projected at this._zoom)}
    this._trails = new Map();     // id -> [[lat, lon, t], ...] for selected units
    this._dirty = false;
  },

  onAdd: function (map) {
    this._map = map;
    this._canvas = L.DomUtil.create("canvas", "ops-unit-canvas");
    this._canvas.style.pointerEvents = "none";
    map.getPane("overlayPane").appendChild(this._canvas);
    this._zoom = map.getZoom();
    map.on("moveend viewreset resize", this._reset, this);
    map.on("zoomstart", this._hide, this);
    map.on("zoomend", this._reproject, this);
    map.on("click", this._click, this);
    this._reset();
  },

  onRemove: function (map) {
    map.off("moveend viewreset resize", this._reset, this);
    map.off("zoomstart", this._hide, this);
    map.off("zoomend", this._reproject, this);
    map.off("click", this._click, this);
    L.DomUtil.remove(this._canvas);
  },

  count: function () { return this._units.size; },

  upsert: function (d) {
    const known = this._units.get(d.id);
    const p = this._map ? this._map.project([d.lat, d.lon], this._zoom) : null;
    if (known) { known.d = d; known.p = p; } else { this._units.set(d.id, { d: d, p: p }); }
    const trail = this._trails.get(d.id);
    if (trail) {
      trail.push([d.lat, d.lon, d.t]);
      const horizon = d.t - this.options.trailSeconds;
      while (trail.length && trail[0][2] < horizon) trail.shift();
    }
    this.redraw();
  },

  remove: function (id) {
    if (this._units.delete(id)) { this._trails.delete(id); this.redraw(); }
  },

  get: function (id) { const u = this._units.get(id); return u ? u.d : null; },

  select: function (id) {
    if (!this._trails.has(id)) {
      const u = this._units.get(id);
      this._trails.set(id, u ? [[u.d.lat, u.d.lon, u.d.t]] : []);
    }
    this.redraw();
  },

  unselect: function (id) { this._trails.delete(id); this.redraw(); },

  redraw: function () {
    if (this._dirty || !this._map) return;
    this._dirty = true;
    L.Util.requestAnimFrame(this._draw, this);
  },

  _hide: function () { this._canvas.style.visibility = "hidden"; },

  _reproject: function () {
    this._zoom = this._map.getZoom();
    const map = this._map;
    const zoom = this._zoom;
    this._units.forEach(function (u) { u.p = map.project([u.d.lat, u.d.lon], zoom); });
    this._canvas.style.visibility = "visible";
    this._reset();
  },

  _reset: function () {
    const size = this._map.getSize();
    const ratio = window.devicePixelRatio || 1;
    this._canvas.width = size.x * ratio;
    this._canvas.height = size.y * ratio;
    this._canvas.style.width = size.x + "px";
    this._canvas.style.height = size.y + "px";
    L.DomUtil.setPosition(this._canvas, this._map.containerPointToLayerPoint([0, 0]));
    this.redraw();
  },

  drawMs: 0,
  draws: 0,

  _draw: function () {
    const started = performance.now();
    this._dirty = false;
    try { this._paint(); } finally {
      this.drawMs += performance.now() - started;
      this.draws += 1;
    }
  },

  _paint: function () {
    const map = this._map;
    if (!map) return;
    const ctx = this._canvas.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    const size = map.getSize();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);
    const topLeft = map.containerPointToLayerPoint([0, 0]).add(map.getPixelOrigin());
    const now = Date.now() / 1000;
    const staleAfter = this.options.staleAfter();
    const radius = this.options.radius;
    const groups = new Map();     // fill colour -> [[x, y], ...]
    const stale = [];
    const labelled = [];
    const zoom = this._zoom;
    const colours = this.options.colours;
    this._units.forEach(function (u) {
      if (!u.p) u.p = map.project([u.d.lat, u.d.lon], zoom);
      const x = u.p.x - topLeft.x;
      const y = u.p.y - topLeft.y;
      if (x < -20 || y < -20 || x > size.x + 20 || y > size.y + 20) return;
      const d = u.d;
      if (d.status !== "out_of_service" && now - d.t > staleAfter) { stale.push([x, y]); }
      else {
        const colour = colours[d.status] || colours.available;
        let list = groups.get(colour);
        if (!list) { list = []; groups.set(colour, list); }
        list.push([x, y, d.heading]);
      }
      if (zoom >= 16) labelled.push([x, y, d.id]);
    });
    // trails of selected units, under the dots
    ctx.strokeStyle = "rgba(236, 239, 241, 0.7)";
    ctx.lineWidth = 2;
    this._trails.forEach(function (trail) {
      if (trail.length < 2) return;
      ctx.beginPath();
      trail.forEach(function (pt, i) {
        const p = map.project([pt[0], pt[1]], zoom);
        const x = p.x - topLeft.x, y = p.y - topLeft.y;
        if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      });
      ctx.stroke();
    });
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#1f2226";
    // Past a few thousand units, squares without outlines: the same picture from across the
    // room at a fraction of the rasterising cost.
    const crowded = this._units.size > 2000;
    groups.forEach(function (list, colour) {
      ctx.fillStyle = colour;
      if (crowded) {
        for (const [x, y] of list) ctx.fillRect(x - radius + 1, y - radius + 1, 2 * radius - 2, 2 * radius - 2);
        return;
      }
      ctx.beginPath();
      for (const [x, y] of list) { ctx.moveTo(x + radius, y); ctx.arc(x, y, radius, 0, 2 * Math.PI); }
      ctx.fill();
      ctx.stroke();
    });
    if (zoom >= 14) {  // heading ticks
      ctx.beginPath();
      ctx.strokeStyle = "#eceff1";
      groups.forEach(function (list) {
        for (const [x, y, h] of list) {
          if (h == null) continue;
          const a = (h - 90) * Math.PI / 180;
          ctx.moveTo(x + Math.cos(a) * radius, y + Math.sin(a) * radius);
          ctx.lineTo(x + Math.cos(a) * (radius + 7), y + Math.sin(a) * (radius + 7));
        }
      });
      ctx.stroke();
    }
    if (stale.length) {
      ctx.beginPath();
      for (const [x, y] of stale) { ctx.moveTo(x + radius, y); ctx.arc(x, y, radius, 0, 2 * Math.PI); }
      ctx.fillStyle = "#1f2226";
      ctx.fill();
      ctx.setLineDash([3, 3]);
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = "#e8a33d";
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (labelled.length) {
      ctx.font = "600 14px 'DejaVu Sans', sans-serif";
      ctx.fillStyle = "#eceff1";
      ctx.strokeStyle = "#1b1e22";
      ctx.lineWidth = 3;
      for (const [x, y, text] of labelled) {
        ctx.strokeText(String(text), x + radius + 4, y + 5);
        ctx.fillText(String(text), x + radius + 4, y + 5);
      }
    }
  },

  _click: function (e) {
    const map = this._map;
    const zoom = this._zoom;
    const at = map.project(e.latlng, zoom);
    let best = null, bestDistance = (this.options.radius + 6) ** 2;
    this._units.forEach(function (u) {
      if (!u.p) return;
      const dx = u.p.x - at.x, dy = u.p.y - at.y;
      const dist = dx * dx + dy * dy;
      if (dist < bestDistance) { best = u.d; bestDistance = dist; }
    });
    if (best) {
      this.select(best.id);
      console.log("ops-click " + JSON.stringify({ kind: "units", id: String(best.id) }));
    }
  },
});
