"""Events the risk models may learn from, and nothing else.

Forecasts are trained on gunfire detections and victim-reported shootings only. Arrests and
stops measure where police looked, not where harm happened, and feeding them back creates the
runaway loop Ensign et al. (2018) describe; they are refused unless a caller enables them on
purpose, and then each one is down-weighted (see `ensign_weights`).

Times are UTC epoch seconds; `tz` keeps the local zone so that "a day" means a local day.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

import numpy as np

from opscenter.domain import CrimeReport, Origin, ShotAlert
from opscenter.errors import OpsCenterError

DEFAULT_TZ = "America/New_York"
DEFAULT_POLICE_WEIGHT = 0.25
ACCEPTED = (Origin.VICTIM_REPORTED, Origin.DETECTION)
DC_COLUMNS = ("Coverage Area", "Incident ID", "Date Time", "Type",
              "Longitude-100meter", "Latitude-100meter")


class ForecastInputError(OpsCenterError):
    """Input a forecast must not learn from (wrong origin, unreadable file)."""


class LookAheadError(OpsCenterError):
    """A model was handed events at or after the time it forecasts from."""


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of a forecast input, kept so the caller can show it."""

    source: str
    line: int
    reason: str


@dataclass(frozen=True, eq=False)
class EventSet:
    """Events sorted by time, as parallel numpy arrays (cheap slicing for day-by-day walks)."""

    t: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    origin: np.ndarray
    district: np.ndarray
    ids: np.ndarray
    tz: str = DEFAULT_TZ
    rejected: tuple[RejectedRow, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.t.size)

    def take(self, index: np.ndarray | slice) -> "EventSet":
        """A subset (by slice, index array or boolean mask), keeping order and zone."""
        return replace(self, t=self.t[index], lon=self.lon[index], lat=self.lat[index],
                       weight=self.weight[index], origin=self.origin[index],
                       district=self.district[index], ids=self.ids[index], rejected=())

    def before(self, until: float) -> "EventSet":
        """Events strictly before `until`: the only ones a forecast from `until` may use."""
        return self.take(slice(0, int(np.searchsorted(self.t, until, side="left"))))

    def between(self, start: float, end: float) -> "EventSet":
        """Events in [start, end)."""
        lo = int(np.searchsorted(self.t, start, side="left"))
        hi = int(np.searchsorted(self.t, end, side="left"))
        return self.take(slice(lo, hi))

    def local_day_start(self, day: str) -> float:
        """Epoch seconds of local midnight starting `day` (YYYY-MM-DD)."""
        return day_start(day, self.tz)


def day_start(day: str, tz: str = DEFAULT_TZ) -> float:
    """Epoch of local midnight; DST days are 23 or 25 hours long, as on the street."""
    d = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=ZoneInfo(tz))
    return d.timestamp()


def make_events(t: Iterable[float], lon: Iterable[float], lat: Iterable[float], *,
                weight: Iterable[float] | None = None, origin: Iterable[str] | None = None,
                district: Iterable[str] | None = None, ids: Iterable[str] | None = None,
                tz: str = DEFAULT_TZ, rejected: Iterable[RejectedRow] = ()) -> EventSet:
    """Build a time-sorted EventSet from plain sequences (defaults: detections, weight 1)."""
    t_arr = np.asarray(list(t) if not isinstance(t, np.ndarray) else t, dtype=float)
    n = t_arr.size
    order = np.argsort(t_arr, kind="stable")

    def arr(values: Iterable | None, default: object, dtype: type) -> np.ndarray:
        if values is None:
            return np.full(n, default, dtype=dtype)
        out = np.asarray(list(values) if not isinstance(values, np.ndarray) else values,
                         dtype=dtype)
        if out.size != n:
            raise ValueError("event columns differ in length")
        return out

    columns = dict(
        t=t_arr, lon=arr(lon, 0.0, float), lat=arr(lat, 0.0, float),
        weight=arr(weight, 1.0, float), origin=arr(origin, Origin.DETECTION.value, object),
        district=arr(district, "", object),
        ids=arr(ids, "", object) if ids is not None else np.arange(n).astype(str).astype(object),
    )
    return EventSet(**{k: v[order] for k, v in columns.items()}, tz=tz,
                    rejected=tuple(rejected))


def load_dc_csv(path: str | Path, tz: str = DEFAULT_TZ) -> EventSet:
    """The DC ShotSpotter FOIA file (local times, 100 m rounded positions) as detections.

    Rows that cannot be read are skipped and listed in `rejected`, with line and reason; a
    file without the expected columns is refused as a whole.
    """
    path = Path(path)
    zone = ZoneInfo(tz)
    t, lon, lat, district, ids, rejected = [], [], [], [], [], []
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ForecastInputError(f"{path}: cannot open ({exc.strerror})") from exc
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != DC_COLUMNS:
            raise ForecastInputError(f"{path}: not the DC gunshot layout (header {header!r})")
        for line, row in enumerate(reader, start=2):
            try:
                if len(row) != len(DC_COLUMNS):
                    raise ValueError(f"{len(row)} fields, expected {len(DC_COLUMNS)}")
                when = _parse_local(row[2])
                x, y = float(row[4]), float(row[5])
                if not (math.isfinite(x) and math.isfinite(y)) or abs(y) > 90 or abs(x) > 180:
                    raise ValueError(f"position out of range ({x}, {y})")
                if abs(x) < 1 and abs(y) < 1:
                    raise ValueError(f"position ({x}, {y}) is the null-island placeholder")
            except ValueError as exc:
                rejected.append(RejectedRow(str(path), line, str(exc)))
                continue
            t.append(when.replace(tzinfo=zone).timestamp())
            lon.append(x)
            lat.append(y)
            district.append(row[0].strip())
            ids.append(row[1].strip())
    return make_events(t, lon, lat, district=district, ids=ids, tz=tz, rejected=rejected)


def load_jtl_csv(path: str | Path, tz: str = DEFAULT_TZ,
                 keep_types: tuple[str, ...] = ("Single_Gunshot", "Multiple_Gunshots")) -> EventSet:
    """A Justice Tech Lab gunshot export (e.g. Camden NJ): `type,id,date,time,...,latitude,
    longitude`. Rows without a time are placed at local midnight of their date, so a forecast
    for day D uses them only from D+1 on. "Gunshot_or_Firecracker" is left out by default."""
    path = Path(path)
    zone = ZoneInfo(tz)
    t, lon, lat, ids, rejected = [], [], [], [], []
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ForecastInputError(f"{path}: cannot open ({exc.strerror})") from exc
    with handle:
        reader = csv.DictReader(handle)
        if not {"type", "date", "latitude", "longitude"} <= set(reader.fieldnames or ()):
            raise ForecastInputError(f"{path}: not a JTL gunshot export")
        for line, row in enumerate(reader, start=2):
            if row["type"].strip() not in keep_types:
                continue
            try:
                clock = (row.get("time") or "").strip() or "00:00:00"
                when = datetime.strptime(f"{row['date'].strip()} {clock}", "%m/%d/%Y %H:%M:%S")
                x, y = float(row["longitude"]), float(row["latitude"])
                if not (math.isfinite(x) and math.isfinite(y)) or (abs(x) < 1 and abs(y) < 1):
                    raise ValueError(f"no usable position ({x}, {y})")
            except (ValueError, KeyError) as exc:
                rejected.append(RejectedRow(str(path), line, str(exc)))
                continue
            t.append(when.replace(tzinfo=zone).timestamp())
            lon.append(x)
            lat.append(y)
            ids.append((row.get("id") or "").strip() or f"{path.stem}:{line}")
    return make_events(t, lon, lat, ids=ids, tz=tz, rejected=rejected)


def _parse_local(text: str) -> datetime:
    """`YYYY-MM-DD HH:MM:SS[.ffffff]`: the file drops the fraction when it is zero."""
    text = text.strip()
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, fmt)


def events_from_records(records: Iterable[ShotAlert | CrimeReport], *,
                        allow_police_initiated: bool = False,
                        police_weights: Mapping[str, float] | None = None,
                        tz: str = DEFAULT_TZ) -> EventSet:
    """Forecast input from store records: detections and victim-reported shootings.

    A police-initiated record raises `ForecastInputError` unless `allow_police_initiated`;
    then it enters with the weight for its district from `police_weights` (see
    `ensign_weights`), or `DEFAULT_POLICE_WEIGHT`. Records without a position are skipped.
    """
    t, lon, lat, weight, origin, district, ids, rejected = [], [], [], [], [], [], [], []
    for rec in records:
        if isinstance(rec, ShotAlert):
            when, kind, w = rec.detected_at, Origin.DETECTION, 1.0
        elif isinstance(rec, CrimeReport):
            when, kind, w = rec.occurred_at, rec.origin, 1.0
            if kind == Origin.POLICE_INITIATED:
                if not allow_police_initiated:
                    raise ForecastInputError(
                        f"{rec.source or 'records'}: {rec.id} is police-initiated; forecasts "
                        "learn from victim reports and detections only")
                w = (police_weights or {}).get(rec.district, DEFAULT_POLICE_WEIGHT)
            elif kind not in ACCEPTED:
                raise ForecastInputError(
                    f"{rec.source or 'records'}: {rec.id} has origin {kind.value!r}; forecasts "
                    "learn from victim reports and detections only")
        else:
            raise ForecastInputError(f"{type(rec).__name__} cannot feed a forecast")
        if rec.lat is None or rec.lon is None:
            rejected.append(RejectedRow(rec.source or "records", 0, f"{rec.id}: no position"))
            continue
        t.append(when)
        lon.append(rec.lon)
        lat.append(rec.lat)
        weight.append(w)
        origin.append(kind.value)
        district.append(rec.district)
        ids.append(rec.id)
    return make_events(t, lon, lat, weight=weight, origin=origin, district=district, ids=ids,
                       tz=tz, rejected=rejected)


def ensign_weights(patrol_share: Mapping[str, float],
                   base: float = DEFAULT_POLICE_WEIGHT) -> dict[str, float]:
    """Per-district weight for police-discovered events, after Ensign et al. (2018).

    Discoveries happen where patrols are sent, so a district that got a share s of patrol
    time would over-report by a factor proportional to s. Weighting each discovery by
    s_min / s (times `base`) cancels that feedback: the least-patrolled district's discoveries
    count `base`, a district patrolled twice as much counts half of that.
    """
    positive = {k: v for k, v in patrol_share.items() if v > 0}
    if not positive:
        return {k: base for k in patrol_share}
    floor = min(positive.values())
    return {k: base * (floor / v if v > 0 else 1.0) for k, v in patrol_share.items()}
