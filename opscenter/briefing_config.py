"""The `[briefing]` table of the config file: which views rotate, for how long, where alerts jump.

    [briefing]
    views = [{name = "map", seconds = 30}, {name = "compstat", seconds = 25}, {name = "missions", seconds = 20}]
    alert_view = "map"   # a new shot alert jumps here (default: map, when it is among the views)
    hold_s = 20          # and holds the rotation this long

Checked at start-up rather than when the commander presses the briefing key in front of the
room: unknown views and keys are named, durations must be readable (5-600 s). Pure Python; the
wall turns it into the rotation (`ui.wall_modes.open_briefing`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .feed_config import ConfigError

VIEWS = ("map", "compstat", "trends", "outcomes", "missions", "queue", "fairness")
MIN_S, MAX_S = 5.0, 600.0
DEFAULT_SECONDS = 30.0
DEFAULT_HOLD_S = 20.0
KEYS = frozenset({"views", "alert_view", "hold_s"})
VIEW_KEYS = frozenset({"name", "seconds"})


@dataclass(frozen=True, slots=True)
class ViewTime:
    """One view of the rotation and its seconds on screen."""

    name: str
    seconds: float = DEFAULT_SECONDS


@dataclass(frozen=True, slots=True)
class BriefingConfig:
    """`views` empty: the wall's own choice of views, with this alert view and hold."""

    views: tuple[ViewTime, ...] = ()
    alert_view: str | None = "map"
    hold_s: float = DEFAULT_HOLD_S

    def to_dict(self) -> dict[str, Any]:
        """The shape `ui.briefing.briefing_from_config` takes."""
        out: dict[str, Any] = {"alert_view": self.alert_view}
        if self.views:
            out["views"] = [{"name": v.name, "seconds": v.seconds} for v in self.views]
        return out


def load_briefing_config(path: str | Path) -> BriefingConfig | None:
    """`[briefing]` of a config file; None when the file has none."""
    from .outbound_config import read_config

    return parse_briefing_config(read_config(path), origin=str(path))


def parse_briefing_config(data: dict[str, Any], origin: str) -> BriefingConfig | None:
    """Validate `[briefing]` of already-parsed TOML; errors name the file and the key."""
    if "briefing" not in data:
        return None
    table = data["briefing"]
    where = f"{origin}: [briefing]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table ([briefing], not [[briefing]])")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    views = _views(table.get("views"), where)
    names = [v.name for v in views]
    hold = _seconds(table.get("hold_s", DEFAULT_HOLD_S), f"{where}: hold_s")
    alert = table.get("alert_view")
    if alert is None:
        alert = "map" if not views or "map" in names else None  # no map: an alert holds in place
    elif not isinstance(alert, str) or alert not in VIEWS:
        shown = alert[:40] if isinstance(alert, str) else type(alert).__name__
        raise ConfigError(f"{where}: alert_view: unknown view {shown!r} (one of: {', '.join(VIEWS)})")
    elif views and alert not in names:
        raise ConfigError(f"{where}: alert_view: {alert!r} is not one of the views ({', '.join(names)})")
    return BriefingConfig(views=views, alert_view=alert, hold_s=hold)


def _views(value: Any, where: str) -> tuple[ViewTime, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: views: must be a non-empty list like [{{name = \"map\", seconds = 30}}]")
    out: list[ViewTime] = []
    for number, entry in enumerate(value, start=1):
        key = f"{where}: views[{number}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{key}: must be a table like {{name = \"map\", seconds = 30}}")
        unknown = sorted(set(entry) - VIEW_KEYS)
        if unknown:
            raise ConfigError(f"{key}: unknown key {unknown[0]!r} (known: name, seconds)")
        name = entry.get("name")
        if not isinstance(name, str):
            raise ConfigError(f"{key}.name: missing (one of: {', '.join(VIEWS)})")
        if name not in VIEWS:
            raise ConfigError(f"{key}.name: unknown view {name[:40]!r} (one of: {', '.join(VIEWS)})")
        if any(v.name == name for v in out):
            raise ConfigError(f"{key}.name: {name!r} is already in the rotation")
        out.append(ViewTime(name, _seconds(entry.get("seconds", DEFAULT_SECONDS), f"{key}.seconds")))
    return tuple(out)


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or not MIN_S <= value <= MAX_S:
        raise ConfigError(f"{key}: must be within {MIN_S:g}..{MAX_S:g} s (got {value:g})")
    return float(value)
