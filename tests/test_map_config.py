"""The `[map]` table: boundaries and tiles from the config file, clear errors otherwise."""

from __future__ import annotations

import pytest

from opscenter.cli import _config, build_parser
from opscenter.feed_config import ConfigError, load_feed_config
from opscenter.map_config import load_map_config


def test_map_only_config_keeps_the_demo_and_sets_boundaries(tmp_path) -> None:
    (tmp_path / "d.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    cfg = tmp_path / "wall.toml"
    cfg.write_text('[map]\ndistricts = "d.geojson"\ntiles_url = "https://tiles.city.local/{z}/{x}/{y}.png"\n')
    assert load_feed_config(cfg) == []
    chosen = load_map_config(cfg)
    assert chosen.districts == (tmp_path / "d.geojson").resolve()
    runtime_config = _config(build_parser().parse_args(["run", "--config", str(cfg)]))
    assert runtime_config.feeds is None  # no feeds: the embedded demo runs
    assert runtime_config.districts_path == chosen.districts
    assert runtime_config.tiles_url.startswith("https://tiles.city.local/")


@pytest.mark.parametrize(("body", "message"), [
    ('[map]\ndistricts = "missing.geojson"\n', "does not exist"),
    ('[map]\ncolour = "red"\n', "unknown key 'colour'"),
    ('[map]\ntiles_url = "ftp://x/{z}"\n', "tiles_url"),
    ('[map]\ntiles = "a"\ntiles_url = "https://x/{z}/{x}/{y}"\n', "not both"),
    ('[maps]\n', "unknown top-level key 'maps'"),
])
def test_bad_map_tables_say_what_is_wrong(tmp_path, body: str, message: str) -> None:
    cfg = tmp_path / "wall.toml"
    cfg.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_feed_config(cfg)
        load_map_config(cfg)
