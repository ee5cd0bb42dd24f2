// Heat of recent shootings: one canvas, a soft disc per alert, weighted by rounds and age.
// Drawn under the markers; off by default (a calm wall), switched on from the layer control.
"use strict";

const OpsHeatLayer = L.Layer.extend({
  initialize: function (options) {
    L.setOptions(this, options);
    this._points = [];  // [lat, lon, weight]
  },

  onAdd: function (map) {
    this._map = map;
    this._canvas = L.DomUtil.create("canvas", "ops-heat-canvas");
    this._canvas.style.pointerEvents = "none";
    this._canvas.style.opacity = "0.75";
    map.getPane("overlayPane").insertBefore(this._canvas, map.getPane("overlayPane").firstChild);
    map.on("moveend zoomend resize viewreset", this._reset, this);
    this._reset();
  },

  onRemove: function (map) {
    map.off("moveend zoomend resize viewreset", this._reset, this);
    L.DomUtil.remove(this._canvas);
    this._map = null;
  },

  setPoints: function (points) { this._points = points; if (this._map) this._draw(); },

  count: function () { return this._points.length; },

  _reset: function () {
    const size = this._map.getSize();
    this._canvas.width = size.x;
    this._canvas.height = size.y;
    L.DomUtil.setPosition(this._canvas, this._map.containerPointToLayerPoint([0, 0]));
    this._draw();
  },

  _draw: function () {
    const map = this._map;
    const ctx = this._canvas.getContext("2d");
    ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
    // ~300 m of influence, in pixels at this zoom
    const centre = map.getCenter();
    const metresPerPixel = 40075016.7 * Math.cos(centre.lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
    const radius = Math.max(8, Math.min(90, 300 / metresPerPixel));
    ctx.globalCompositeOperation = "lighter";
    for (const [lat, lon, weight] of this._points) {
      const p = map.latLngToContainerPoint([lat, lon]);
      if (p.x < -radius || p.y < -radius || p.x > this._canvas.width + radius || p.y > this._canvas.height + radius) continue;
      const g = ctx.createRadialGradient(p.x, p.y, 0, p.x, p.y, radius);
      const a = Math.min(0.5, 0.12 * weight);
      g.addColorStop(0, "rgba(229, 72, 77, " + a + ")");
      g.addColorStop(1, "rgba(229, 72, 77, 0)");
      ctx.fillStyle = g;
      ctx.fillRect(p.x - radius, p.y - radius, radius * 2, radius * 2);
    }
    ctx.globalCompositeOperation = "source-over";
  },
});
