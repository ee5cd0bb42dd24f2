"""The `[map]` table of the wall's config file: boundaries and base map tiles.

    [map]
    districts = "boundaries/districts.geojson"   # GeoJSON or shapefile; relative to this file
    posts = "boundaries/posts.shp"
    tiles = "city.mbtiles"                       # or: tiles_url = "https://tiles.city.local/{z}/{x}/{y}.png"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .feed_config import ConfigError

KEYS = {"districts", "posts", "tiles", "tiles_url"}


@dataclass(frozen=True, slots=True)
class MapConfig:
    districts: Path | None = None
    posts: Path | None = None
    tiles: Path | None = None
    tiles_url: str | None = None


def load_map_config(path: str | Path) -> MapConfig:
    """Read `[map]` from the config file (an absent table is an empty MapConfig)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    table = data.get("map", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [map] must be a table")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: [map]: unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    if "tiles" in table and "tiles_url" in table:
        raise ConfigError(f"{path}: [map]: give tiles or tiles_url, not both")

    def file(key: str) -> Path | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: [map].{key}: expected a file path")
        found = (path.parent / value).resolve()
        if not found.exists():
            raise ConfigError(f"{path}: [map].{key}: {found} does not exist")
        return found

    url = table.get("tiles_url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))
                            or "{z}" not in url):
        raise ConfigError(f"{path}: [map].tiles_url: expected an http(s) URL with {{z}}/{{x}}/{{y}}")
    return MapConfig(file("districts"), file("posts"), file("tiles"), url)
