"""The base map page: built once with folium, Leaflet served from the local Python package.

Centers run on closed networks, so nothing here may point off the machine: Leaflet comes from
the XStatic-Leaflet package on disk, there are no tiles by default (a calm vector view of the
boundaries), and every label placed into HTML is escaped. Live changes never rebuild this page;
they go in as deltas through the page's `ops` object (resources/map_live.js).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import folium
import xstatic.pkg.leaflet as xs_leaflet
import xstatic.pkg.leaflet_markercluster as xs_cluster

RESOURCES = Path(__file__).resolve().parent.parent / "resources"

DISTRICT_STYLE = {"color": "#6b727b", "weight": 2.5, "fillColor": "#2b2f35", "fillOpacity": 1.0}
POST_STYLE = {"color": "#454b53", "weight": 1, "fill": False, "dashArray": "4 4"}


def leaflet_files() -> tuple[Path, Path]:
    """Leaflet's JS and CSS as shipped inside the installed XStatic package."""
    base = Path(xs_leaflet.BASE_DIR)
    return base / "leaflet.js", base / "leaflet.css"


def _style(style: dict[str, Any]):
    return lambda _feature: style


def build_base_map(
    boundaries: dict[str, Any],
    center: tuple[float, float],
    out_dir: Path,
    zoom: int = 12,
    tiles_url: str | None = None,
) -> Path:
    """Write index.html for the wall map into `out_dir` and return its path.

    `boundaries` is a GeoJSON FeatureCollection whose features carry `kind` ("district" or
    "post") and `name`. `tiles_url` is an XYZ template for a center's own tile server.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    leaflet_js, leaflet_css = leaflet_files()
    fmap = folium.Map(
        location=list(center), zoom_start=zoom, tiles=None, prefer_canvas=True,
        control_scale=True, zoom_control=False, attribution_control=False, zoom_snap=0.25,
    )
    fmap.options["maxZoom"] = 19  # with no tile layer Leaflet has no zoom range; clustering needs one
    fmap.options["minZoom"] = 8
    cluster = Path(xs_cluster.BASE_DIR)
    fmap.default_js = [("leaflet", leaflet_js.as_uri()),
                       ("markercluster", (cluster / "leaflet.markercluster.js").as_uri())]
    fmap.default_css = [("leaflet_css", leaflet_css.as_uri()),
                        ("markercluster_css", (cluster / "MarkerCluster.css").as_uri())]
    if tiles_url:
        folium.TileLayer(tiles=tiles_url, attr="local tiles", name="Tiles").add_to(fmap)

    features = boundaries.get("features", [])
    districts = [f for f in features if f.get("properties", {}).get("kind") == "district"]
    posts = [f for f in features if f.get("properties", {}).get("kind") == "post"]
    folium.GeoJson({"type": "FeatureCollection", "features": districts}, name="Districts",
                   style_function=_style(DISTRICT_STYLE)).add_to(fmap)
    folium.GeoJson({"type": "FeatureCollection", "features": posts}, name="Posts",
                   style_function=_style(POST_STYLE)).add_to(fmap)

    if districts:
        points = [c for f in districts for c in _iter_coords(f["geometry"]["coordinates"])]
        fmap.fit_bounds([[min(p[1] for p in points), min(p[0] for p in points)],
                         [max(p[1] for p in points), max(p[0] for p in points)]], padding=(12, 12))
    labels = [
        {"name": str(f["properties"].get("name", "")), "at": _label_point(f)}
        for f in districts
    ]
    map_name = fmap.get_name()
    root = fmap.get_root()
    root.header.add_child(folium.Element(
        f'<link rel="stylesheet" href="{(RESOURCES / "map_live.css").as_uri()}"/>'
    ))
    root.html.add_child(folium.Element(
        f'<script src="{(RESOURCES / "unit_layer.js").as_uri()}"></script>'
        f'<script src="{(RESOURCES / "heat_layer.js").as_uri()}"></script>'
        f'<script src="{(RESOURCES / "map_live.js").as_uri()}"></script>'
    ))
    # Labels go in as JSON data and are set with textContent in the page, never as HTML.
    # DOMContentLoaded: folium writes the map's own script after this one.
    root.script.add_child(folium.Element(
        "document.addEventListener('DOMContentLoaded', function () {"
        f" window.ops = OpsMap({map_name}, {_js_json(labels)}); }});"
    ))
    out = out_dir / "index.html"
    fmap.save(str(out))
    return out


def _js_json(value: Any) -> str:
    """JSON safe to embed in an inline <script>: no '</script>' or HTML comment can close it."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _label_point(feature: dict[str, Any]) -> list[float]:
    """A label position: the label_at property if given, else the bbox centre of the geometry."""
    props = feature.get("properties", {})
    if "label_at" in props:
        lat, lon = props["label_at"]
        return [float(lat), float(lon)]
    coords = list(_iter_coords(feature.get("geometry", {}).get("coordinates", [])))
    lons = [c[0] for c in coords]
    lats = [c[1] for c in coords]
    return [(min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2]


def _iter_coords(obj: Any):
    if isinstance(obj, (list, tuple)) and obj and isinstance(obj[0], (int, float)):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _iter_coords(item)


_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def remote_references(page: str) -> list[str]:
    """Script/stylesheet references that would leave the machine (must be empty)."""
    return [m.group(0) for m in _REMOTE.finditer(page)]


def escape_text(value: str) -> str:
    """HTML-escape text from a feed for any place where it must be HTML."""
    return html.escape(value, quote=True)
