"""Gunshot-detection (ShotSpotter) exports: the DC FOIA release, the Justice Tech Lab layout and
the Chicago data portal's "ShotSpotter Alerts".

Each file row is one detection and becomes a ShotAlert version 1; files carry no review
history. Type spellings differ by publisher ("Multiple Gunshots", "Multiple_Gunshots",
"MULTIPLE GUNSHOTS"); any type not known becomes AlertType.OTHER rather than a refused row.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterator

from ..domain import AlertType, ShotAlert
from .base import Parsed
from .csv_rows import (
    CsvFormat,
    Row,
    RowError,
    clean,
    clean_id,
    column_key,
    convert_rows,
    local_time,
    place,
    sniff_columns,
    synthetic_id,
    whole_number,
    wkt_point,
)

MAX_ROUNDS = 1000

_ALERT_TYPES = {
    "multiple gunshots": AlertType.MULTIPLE,
    "multiple gunshot": AlertType.MULTIPLE,
    "single gunshot": AlertType.SINGLE,
    "gunshot or firecracker": AlertType.POSSIBLE_FIRECRACKER,
    "possible firecracker": AlertType.POSSIBLE_FIRECRACKER,
    "probable gunfire": AlertType.POSSIBLE_FIRECRACKER,
}


def alert_type(text: str) -> AlertType:
    """The publisher's type word, whatever its case or separator; unknown is OTHER."""
    words = " ".join(text.replace("_", " ").lower().split())
    return _ALERT_TYPES.get(words, AlertType.OTHER)


def _position(row: Row, lat_col: str, lon_col: str) -> tuple[float, float]:
    point = place(row.get(lat_col), row.get(lon_col))
    if point is None:
        raise RowError(f"no coordinates ({row.get(lat_col)[:20]!r}, {row.get(lon_col)[:20]!r})")
    return point


class DcShotSpotterParser(CsvFormat):
    """Washington DC MPD ShotSpotter FOIA release (2006-2013).

    Times are local Eastern wall-clock without zone; an hour repeated at the end of DST takes
    its first occurrence. The release has no round counts: `rounds` is 0 ("not reported").
    `district` is the Coverage Area as written (e.g. WashingtonDC7D). Positions are rounded to
    about 100 m by the publisher.
    """

    name = "dc-shotspotter"
    description = "DC ShotSpotter FOIA CSV (Coverage Area, Incident ID, Date Time, Type, …)"
    TITLE = "DC ShotSpotter"
    ZONE = "America/New_York"
    COLUMNS = ("Coverage Area", "Incident ID", "Date Time", "Type",
               "Longitude-100meter", "Latitude-100meter")
    TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")

    def parse(self, data: bytes) -> Iterator[Parsed]:
        table = self.table(data)
        return convert_rows(table, self._row)

    def _row(self, row: Row) -> Iterator[ShotAlert]:
        incident = row.get("Incident ID")
        if not incident:
            raise RowError("no Incident ID")
        lat, lon = _position(row, "Latitude-100meter", "Longitude-100meter")
        yield ShotAlert(
            id=clean_id(f"DC-{incident}"), version=1,
            detected_at=local_time(row.get("Date Time"), self.TIME_FORMATS, self.zone),
            lat=lat, lon=lon, alert_type=alert_type(row.get("Type")), rounds=0,
            district=clean(row.get("Coverage Area"), 80), source=self.source,
        )


class JtlShotSpotterParser(CsvFormat):
    """Justice Tech Lab ShotSpotter release layout (type, id, date, time, address, rnds,
    latitude, longitude, …), one file per city.

    The publisher leaves columns empty for some cities (Camden: id, time, rnds, address in
    every row). An empty id gets a stable synthetic one from date, time, position and type,
    numbered among identical rows, so importing the same file twice gives the same ids. An
    empty time means midnight local on the row's date (the date is all the file knows); an
    empty rnds means 0 ("not reported"). The file carries no zone: give the city's.
    """

    name = "jtl-shotspotter"
    description = "Justice Tech Lab ShotSpotter CSV (type, id, date, time, rnds, latitude, …)"
    TITLE = "Justice Tech Lab ShotSpotter"
    ZONE = "America/New_York"
    COLUMNS = ("type", "id", "date", "time", "latitude", "longitude")
    DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y")
    TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        return sniff_columns(head, (*cls.COLUMNS, "rnds"), score=0.9)

    def parse(self, data: bytes) -> Iterator[Parsed]:
        table = self.table(data)
        seen: Counter[str] = Counter()
        return convert_rows(table, lambda row: self._row(row, seen))

    def _row(self, row: Row, seen: Counter[str]) -> Iterator[ShotAlert]:
        date, time = row.get("date"), row.get("time")
        formats = ([f"{d} {t}" for d in self.DATE_FORMATS for t in self.TIME_FORMATS]
                   if time else list(self.DATE_FORMATS))
        when = local_time(f"{date} {time}" if time else date, formats, self.zone)
        lat, lon = _position(row, "latitude", "longitude")
        kind = row.get("type")
        given = row.get("id")
        ident = (clean_id(f"JTL-{given}") if given else
                 synthetic_id("JTL-", (date, time, row.get("latitude"), row.get("longitude"),
                                       column_key(kind)), seen))
        yield ShotAlert(
            id=ident, version=1, detected_at=when, lat=lat, lon=lon,
            alert_type=alert_type(kind), rounds=whole_number(row.get("rnds"), "rnds", MAX_ROUNDS),
            address=clean(row.get("address")), source=self.source,
        )


class ChicagoShotSpotterParser(CsvFormat):
    """Chicago data portal "ShotSpotter Alerts" export.

    DATE is Central local time, written `M/D/YYYY H:MM` by some exports and
    `MM/DD/YYYY HH:MM:SS AM/PM` by others (the portal's API gives ISO without zone); all are
    read as America/Chicago. id is UNIQUE_ID, district DISTRICT, post BEAT, address BLOCK.
    When LATITUDE/LONGITUDE are empty the WKT LOCATION (`POINT (lon lat)`) is used.
    """

    name = "chicago-shotspotter"
    description = "Chicago data portal ShotSpotter Alerts CSV (DATE, BLOCK, UNIQUE_ID, …)"
    TITLE = "Chicago ShotSpotter Alerts"
    ZONE = "America/Chicago"
    COLUMNS = ("DATE", "UNIQUE_ID", "INCIDENT_TYPE_DESCRIPTION")
    TIME_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
                    "%m/%d/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")

    def parse(self, data: bytes) -> Iterator[Parsed]:
        table = self.table(data)
        if not (table.has("LATITUDE", "LONGITUDE") or table.has("LOCATION")):
            table.require("LATITUDE", "LONGITUDE", hint=" (or LOCATION)")
        return convert_rows(table, self._row)

    def _row(self, row: Row) -> Iterator[ShotAlert]:
        unique = row.get("UNIQUE_ID")
        if not unique:
            raise RowError("no UNIQUE_ID")
        point = place(row.get("LATITUDE"), row.get("LONGITUDE")) or wkt_point(row.get("LOCATION"))
        if point is None:
            raise RowError(f"no coordinates (LOCATION {row.get('LOCATION')[:40]!r})")
        yield ShotAlert(
            id=clean_id(unique), version=1,
            detected_at=local_time(row.get("DATE"), self.TIME_FORMATS, self.zone),
            lat=point[0], lon=point[1],
            alert_type=alert_type(row.get("INCIDENT_TYPE_DESCRIPTION")),
            rounds=whole_number(row.get("ROUNDS"), "ROUNDS", MAX_ROUNDS),
            address=clean(row.get("BLOCK")), district=clean(row.get("DISTRICT"), 80),
            post=clean(row.get("BEAT"), 80), source=self.source,
        )
