"""Seattle Fire Department "Real-Time 911" dispatch log (tab-separated, as scraped from the
public page): timestamp, incident_number, level, units, location, incident_type.

One incident appears on several rows as units are assigned: each row lists the units added
in that update. Each row gives the incident's call (a new version whenever the incident's
set of units grows) and one Unit record per unit on the row. The log has no coordinates:
the call is placed by the caller's geocoder, else at the home station of its first assigned
unit that the station table knows; a row that can be placed neither way is a ParseError.
"""

from __future__ import annotations

import csv
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..domain import CallForService, CallStatus, Priority, Unit, UnitStatus
from ..errors import ParseError
from .base import FormatParser, Parsed
from .csv_rows import (
    Row,
    RowError,
    Table,
    clean,
    clean_id,
    convert_rows,
    local_time,
    place,
    sniff_columns,
)

Point = tuple[float, float]
Geocoder = Callable[[str], "Point | None"]
MAX_TRACKED = 100_000  # incidents remembered between documents, oldest forgotten first

# First match wins (case-insensitive substring of incident_type). Greater alarms and
# entrapments are emergencies; advanced life support (medic) and working fires high; basic
# aid and alarms medium; investigations, hang-ups and service calls low.
_TYPE_PRIORITY: tuple[tuple[str, Priority], ...] = (
    ("recon", Priority.MEDIUM),
    *((w, Priority.EMERGENCY) for w in (
        "fire in ", "multiple casualty", "multiple medic", "water rescue", "rescue heavy",
        "rescue rope", "assault w/weap", "help the fire fighter", "explosion", "3red", "4red",
        "hazardous mat", "vessel sinking", "marine fire")),
    *((w, Priority.LOW) for w in (
        "hang-up", "investigate", "illegal burn", "unk odor", "water job", "lock in/out",
        "advised", "trans to amr", "non-hazmat", "furnace", "link", "standby",
        "marine service", "food on the stove out")),
    ("rescue elevator", Priority.MEDIUM), ("afa4", Priority.HIGH), ("afah", Priority.HIGH),
    ("alarm", Priority.MEDIUM),
    *((w, Priority.HIGH) for w in (
        "medic", "fire", "natural gas leak", "hazmat", "mvi", "rescue")),
    *((w, Priority.MEDIUM) for w in (
        "aid", "odor", "activated co", "food on the stove", "wires down", "electrical",
        "fuel spill", "fast back up", "1red")),
)


def call_priority(level: str, incident_type: str) -> Priority:
    """Priority from the alarm level (2 and up, a greater alarm, is an emergency) and the
    incident type words; a type no rule knows is Priority.OTHER."""
    if level.strip().isdigit() and int(level) >= 2:
        return Priority.EMERGENCY
    words = incident_type.lower()
    for needle, priority in _TYPE_PRIORITY:
        if needle in words:
            return priority
    return Priority.OTHER


def load_station_table(apparatus_csv: str | Path, stations_csv: str | Path) -> dict[str, Point]:
    """Unit id → home station (lat, lon), from apparatus-locations.csv (apparatus, station) and
    stations-geocoded.csv (station, address, lon, lat). "M/A84" names both M84 and A84."""
    where: dict[str, Point] = {}
    stations = Table(Path(stations_csv).read_bytes(), str(stations_csv), "SFD station")
    stations.require("station", "lon", "lat")
    for row in stations.rows():
        if isinstance(row, Row) and (point := place(row.get("lat"), row.get("lon"))):
            where[row.get("station")] = point
    units: dict[str, Point] = {}
    apparatus = Table(Path(apparatus_csv).read_bytes(), str(apparatus_csv), "SFD apparatus")
    apparatus.require("apparatus", "station")
    for row in apparatus.rows():
        if not isinstance(row, Row) or row.get("station") not in where:
            continue
        name = row.get("apparatus").upper()
        pair = re.fullmatch(r"([A-Z]+)/([A-Z]+)(\d+)", name)
        for unit in ((pair[1] + pair[3], pair[2] + pair[3]) if pair else (name,)):
            units.setdefault(unit, where[row.get("station")])
    return units


@dataclass(slots=True)
class _Incident:
    units: list[str] = field(default_factory=list)
    point: Point | None = None


class SeattleFireParser(FormatParser):
    """Rows of the SFD dispatch log to calls and dispatched units.

    Times are Pacific local (`M/D/YYYY h:mm:ss AM/PM`). The call's version is the number of
    distinct units the incident has had so far; the parser remembers incidents between
    documents (days' files overlap at midnight), so importing a file again brings nothing
    newer than the first import left. A unit's version is its report time in milliseconds;
    it is placed at its home station, or at the call when the station table does not know it.
    """

    name = "seattle-fire"
    description = "Seattle Fire Real-Time 911 TSV (timestamp, incident_number, units, …)"
    COLUMNS = ("timestamp", "incident_number", "units", "location", "incident_type")
    FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p")

    def __init__(self, source: str, stations: dict[str, Point] | None = None,
                 geocode: Geocoder | None = None, zone: str = "America/Los_Angeles") -> None:
        super().__init__(source)
        self.stations = {k.upper(): v for k, v in (stations or {}).items()}
        self.geocode = geocode
        self.zone = zone
        self._incidents: OrderedDict[str, _Incident] = OrderedDict()

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        return sniff_columns(head, cls.COLUMNS, delimiter="\t", score=0.95)

    def parse(self, data: bytes) -> Iterator[Parsed]:
        table = Table(data, self.source, "Seattle Fire Real-Time 911", delimiter="\t",
                      quoting=csv.QUOTE_NONE)
        table.require(*self.COLUMNS)
        return convert_rows(table, self._row)

    def _incident(self, number: str) -> _Incident:
        incident = self._incidents.pop(number, None) or _Incident()
        self._incidents[number] = incident  # most recently seen last
        while len(self._incidents) > MAX_TRACKED:
            self._incidents.popitem(last=False)
        return incident

    def _locate(self, location: str, incident: _Incident) -> Point | None:
        if incident.point is None and self.geocode is not None and location:
            try:
                found = self.geocode(location)
            except Exception as exc:  # the caller's geocoder: its failure costs one row
                raise ParseError(self.source,
                                 f"geocoding {location[:60]!r} failed: {exc}") from None
            incident.point = place(*found) if found else None
        if incident.point is None:
            known = (self.stations[u] for u in incident.units if u in self.stations)
            incident.point = next(known, None)
        return incident.point

    def _row(self, row: Row) -> Iterator[CallForService | Unit]:
        number = row.get("incident_number")
        if not number:
            raise RowError("no incident_number")
        when = local_time(row.get("timestamp"), self.FORMATS, self.zone, what="timestamp")
        units = [clean_id(u.upper()) for u in row.get("units").split()]
        incident = self._incident(number)
        incident.units.extend(u for u in dict.fromkeys(units) if u not in incident.units)
        location = clean(row.get("location"))
        point = self._locate(location, incident)
        if point is None:
            raise RowError(f"no coordinates for {location[:60]!r}")
        kind = clean(row.get("incident_type"), 80)
        call_id = clean_id(f"SFD-{number}")
        yield CallForService(
            id=call_id, version=max(1, len(incident.units)), received_at=when,
            priority=call_priority(row.get("level"), kind), category=kind,
            description=clean(f"{kind} - units {' '.join(incident.units) or 'none'}"),
            lat=point[0], lon=point[1], address=location, status=CallStatus.DISPATCHED,
            source=self.source,
        )
        for unit in dict.fromkeys(units):
            lat, lon = self.stations.get(unit, point)
            yield Unit(id=unit, version=int(when * 1000), reported_at=when,
                       status=UnitStatus.DISPATCHED, lat=lat, lon=lon, assignment=call_id,
                       source=self.source)
