"""Open Baltimore exports: Part 1 crime, BPD arrests and 911 calls for service.

No data about people is kept: the files' Age, Sex/Gender and Race columns, names and the
arrest charge text (which describes the person arrested) are never read into a record.
Codes and words the tables below do not know become the explicit "other", never an error.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Iterator
from zoneinfo import ZoneInfo

from ..domain import CallForService, CallStatus, CrimeReport, Origin, Priority
from .base import FormatParser, Parsed, iso_to_epoch
from .csv_rows import (
    CsvFormat,
    Row,
    RowError,
    Table,
    clean,
    clean_id,
    convert_rows,
    local_time,
    numbered_id,
    paren_point,
    place,
    sniff_columns,
    synthetic_id,
)

ZONE = "America/New_York"
DISTRICTS = ("Central", "Southeastern", "Eastern", "Northeastern", "Northern", "Northwestern",
             "Western", "Southwestern", "Southern")
_DISTRICT_ALIASES = {
    "Central": "C CD CENTRAL", "Southeastern": "SE SED SOUTHEAST SOUTHEASTERN",
    "Eastern": "E ED EASTERN", "Northeastern": "NE NED NORTHEAST NORTHEASTERN",
    "Northern": "N ND NORTHERN", "Northwestern": "NW NWD NORTHWEST NORTHWESTERN",
    "Western": "W WD WESTERN", "Southwestern": "SW SWD SOUTHWEST SOUTHWESTERN",
    "Southern": "S SD SOUTHERN",
}

# Crime codes (Open Baltimore CRIME_CODES): categories by code; first match of the prefix wins.
_CODE_CATEGORIES = (
    ("1", "homicide"), ("2A", "rape"), ("2B", "rape"), ("3", "robbery"),
    ("4A", "aggravated assault"), ("4B", "aggravated assault"), ("4C", "aggravated assault"),
    ("4D", "aggravated assault"), ("4E", "common assault"), ("4F", "common assault"),
    ("5", "burglary"), ("6", "larceny"), ("7", "auto theft"), ("8", "arson"),
    ("9S", "shooting"),
)
# Codes with letters after the number (others are digits only), so "87NARCOTICS" splits as
# 87 + NARCOTICS but "87VNARCOTICS (ONVIEW)" as 87V + NARCOTICS (ONVIEW).
_LETTER_CODES = frozenset("""
    1A 1B 1F 1K 1O 2A 2B 2C 2D 2E 2F 2G 2H 2J 3AF 3AJF 3AJK 3AJO 3AK 3AO 3B 3BJ 3C 3CF 3CK 3CO
    3D 3E 3EF 3EK 3EO 3F 3G 3GF 3GK 3GO 3H 3J 3JF 3JK 3JO 3K 3L 3LF 3LK 3LO 3M 3N 3NF 3NK 3NO
    3P 3Q 4A 4B 4C 4D 4E 4F 5A 5B 5C 5D 5E 5F 5G 6A 6B 6C 6D 6E 6F 6G 6H 6J 6K 6L 7A 7B 7C
    8AO 8AV 8BO 8BV 8CO 8CV 8DO 8DV 8EO 8EV 8FO 8FV 8GO 8GV 8H 8I 8J 9S 20A 20B 20C 20D 20E
    20F 20G 20H 20J 20K 20L 20M 20N 20R 20S 20W 20Z 24P 52A 55A 60A 70A 70P 79B 79H 79P 79R
    79S 79T 79W 84B 85E 87C 87O 87V 96A 96B""".split())
_CODE_HEAD = re.compile(r"(\d{1,3})([A-Z]{0,3})")

# Description words, in order: the first whose words all occur names the category.
_DESCRIPTION_CATEGORIES = (
    ("SHOOTING", "shooting"), ("HOMICIDE", "homicide"), ("MURDER", "homicide"),
    ("CARJACK", "robbery"), ("ROBB", "robbery"), ("AGG ASS", "aggravated assault"),
    ("AGGRAVATED ASSAULT", "aggravated assault"), ("COMMON ASSAULT", "common assault"),
    ("ASSAULT BY THREAT", "common assault"), ("RAPE", "rape"), ("BURG", "burglary"),
    ("AUTO THEFT", "auto theft"), ("STOLEN AUTO", "auto theft"), ("LARCENY", "larceny"),
    ("ARSON", "arson"),
)

# 911 descriptions by category (after whitespace, case and leading/trailing "*" are
# normalised), from the hand-made table of real Baltimore 911 description strings.
_911_CATEGORIES = {
    "abuse": "PEACE|PEACE ORDER|PEACE ORDERS|PROT ORDER|PROT ORDERS|PROT. ORDER|PROTECT ORDER|"
             "PROTECT ORDERS|PROTECTED ORDER|PROTECTION|PROTECTION ORDE|PROTECTION ORDER|"
             "PROTECTIVE|PROTECTIVE ORD|PROTECTIVE ORDE|PROTECTIVE ORDER|SERVE PEACE ORDE",
    "arson": "ARSON",
    "assault": "AGGRAV ASSAULT|ASSAULT|COMMON ASSAULT",
    "burglary": "ATTEMPT BURGLARY|ATTMPT BURGLARY|BURGLARY|BURGLARY ATTEMPT|BURGLARY/POSS|"
                "POSS BURGLARY|POSS PROWLER|PROWLER",
    "disorderly conduct": "ANIMAL CRUELTY|DISORDERLY|INTOXICATED PERS|JUV DISTURBANCE|"
                          "LOUD MUSIC|LOUD MUSIC/NOISE|LYING IN STREET|STREET OBSTRUCT",
    "insecurity": "ARMED PERSON|AUDIBLE ALARM|DESTRUCT PROP|DESTRUCT PROPTY|ECORT|ESCORT|"
                  "ESCORT NEEDED|ESCOURT|FIELD INTERVIEW|FOOT PATROL|HOLDUP ALARM|"
                  "INJURED PERSON|INV STOP|NEED ESCORT|PATROL|POLICE ESCORT|POSS ARMD PERSON|"
                  "REPAIRS/SERVICE|SEARCH& SEIZURE|SEARCH&SEIZURE|SILENT ALARM|SUBJECT STOP|"
                  "SUSPICIOUS PERS|SUSPICIOUS VEH|WANTED ON WARR|WARRANT|WARRANT SERVICE|WARRANTS",
    "mental case": "MENTAL CASE|POSS MENTAL CASE",
    "missing person": "MISSING PERSON",
    "other offense": "ASSAULT BY THREA|BY PHONE THREAT|BY THEAT|BY THREAT|BY THREATS|"
                     "BY TYHREAT|BYTHREAT|CUTTING|FALSE PRETENSE|GAMBLING|PROSTITUTION|"
                     "PROSTITUTIONCOMP|THREAT|THREATS|VERBAL THREAT|VERBAL THREATS",
    "robbery": "ROBBERY ARMED|ROBBERY UNARMED",
    "shooting": "DISCHRG FIREARM|GUN|HANDGUN VIOLATIO|SHOOTING",
    "theft_larceny": "AUTO THEFT|BIKE LARCENY|CAR JACKING|LARCENCY|LARCENCY A/TRUST|LARCENY|"
                     "LARCENY F/AUTO|LARCENY OF TRUST|POSS AUTO THEFT|POSS LARCENY",
}
_PRIORITIES = {"emergency": Priority.EMERGENCY, "high": Priority.HIGH, "medium": Priority.MEDIUM,
               "low": Priority.LOW, "non_emergency": Priority.NON_EMERGENCY,
               "nonemergency": Priority.NON_EMERGENCY}


def district_name(text: str) -> str:
    """A Baltimore district as its name (`NORTHEAST`, `NED`, `Northeast` → Northeastern);
    anything else is kept as written, so nothing is silently moved."""
    word = " ".join(text.upper().replace("DISTRICT", " ").split())
    for name, aliases in _DISTRICT_ALIASES.items():
        if word in aliases.split():
            return name
    return clean(text, 80)


def code_category(code: str) -> str:
    """Category of a BPD crime code (`9S` shooting, `4E` common assault); else "other"."""
    code = code.strip().upper()
    for prefix, category in _CODE_CATEGORIES:
        if code.startswith(prefix) and (len(prefix) > 1 or code[1:2].isalpha()):
            return category
    return "other"


def description_category(text: str) -> str:
    """Category from the crime's description words (`AGG. ASSAULT` → aggravated assault)."""
    words = " " + " ".join(re.sub(r"[^A-Z ]+", " ", text.upper()).split())
    for needle, category in _DESCRIPTION_CATEGORIES:
        if " " + needle in words:  # at a word's start: BURG is burglary, not HAMBURG
            return category
    return "other"


def split_offense(text: str) -> tuple[str, str]:
    """`4ECOMMON ASSAULT` → ("4E", "COMMON ASSAULT"); text without a code → ("", text)."""
    value = " ".join(text.split())
    match = _CODE_HEAD.match(value)
    if not match:
        return "", value
    digits, letters = match.groups()
    for take in range(len(letters), 0, -1):
        if digits + letters[:take] in _LETTER_CODES:
            return digits + letters[:take], value[len(digits) + take:].strip()
    if len(digits) == 1 and letters:  # a one-digit code always has a letter (1B manslaughter)
        return digits + letters[0], value[2:].strip()
    return digits, value[len(digits):].strip()


def call_category(description: str) -> str:
    """Category of a raw 911 description ("PEACE  ORDER" → abuse); unknown is "other"."""
    key = " ".join(description.upper().split()).strip("*").strip()
    for category, descriptions in _911_CATEGORIES.items():
        if key in descriptions.split("|"):
            return category
    return "other"


def _labelled_utc(text: str, zone: str) -> float:
    """ArcGIS-era stamps (`2022/11/12 11:05:00+00`). Their wall clock is Baltimore local time
    despite the +00 label (unknown times cluster at 00:00, not at 04:00/05:00 UTC), so the
    label is replaced by `zone`; zone "UTC" trusts the label."""
    value = text.strip().replace("/", "-")
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
                         r"(?:Z|[+-]00(?::?00)?)?", value)
    if not match:
        raise RowError(f"bad date {text.strip()[:40]!r}")
    naive = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}")
    return naive.replace(tzinfo=ZoneInfo(zone)).timestamp()


def _point(row: Row) -> tuple[float, float] | None:
    """Latitude/Longitude, else Socrata's "(lat, lon)" `Location 1` cell."""
    return place(row.get("Latitude"), row.get("Longitude")) or paren_point(row.get("Location 1"))


def _part1_id(row: Row, when: str, seen: Counter[str]) -> str:
    case = row.get("CCNumber", "CC Number")
    if case:
        return numbered_id(clean_id(f"BPD-{case}"), seen)
    parts = (when, row.get("CrimeCode"), row.get("Description"), row.get("Location"),
             row.get("Latitude"), row.get("Longitude"), row.get("Weapon"))
    return synthetic_id("BPD-P1-", parts, seen)


class BaltimorePart1Parser(FormatParser):
    """Open Baltimore "Part 1 Crime Data": the NIBRS-era layout (CrimeDateTime) and the
    pre-2022 layout (CrimeDate + CrimeTime, local). Victim-reported crime; the category comes
    from CrimeCode when the file has it, else from Description. Ids: the case number when the
    file has one, else a stable digest of the row (RowID is only a position in one export).
    """

    name = "baltimore-part1"
    description = "Open Baltimore Part 1 Crime CSV (CrimeDateTime or CrimeDate/CrimeTime, …)"
    NIBRS = ("CrimeDateTime", "Description", "Latitude", "Longitude")
    LEGACY = ("CrimeDate", "CrimeTime", "Description", "Longitude", "Latitude")
    DATES = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %I:%M:%S %p")
    TIMES = ("%H:%M:%S", "%H:%M", "%H%M")

    def __init__(self, source: str, zone: str = ZONE, crime_datetime_zone: str = ZONE) -> None:
        super().__init__(source)
        self.zone = zone
        self.crime_datetime_zone = crime_datetime_zone

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        return max(sniff_columns(head, cls.NIBRS), sniff_columns(head, cls.LEGACY))

    def parse(self, data: bytes) -> Iterator[Parsed]:
        table = Table(data, self.source, "Baltimore Part 1 crime")
        if not table.has("CrimeDateTime"):
            table.require(*self.LEGACY, hint=" (or CrimeDateTime for the NIBRS-era layout)")
        table.require(*(self.NIBRS if table.has("CrimeDateTime") else self.LEGACY))
        seen: Counter[str] = Counter()
        return convert_rows(table, lambda row: self._row(row, seen))

    def _when(self, row: Row) -> tuple[float, str]:
        stamp = row.get("CrimeDateTime")
        if stamp:
            return _labelled_utc(stamp, self.crime_datetime_zone), stamp
        date, time = row.get("CrimeDate").split(" ")[0], row.get("CrimeTime")
        formats = [f"{d} {t}" for d in self.DATES[:2] for t in self.TIMES]
        return local_time(f"{date} {time}", formats, self.zone), f"{date} {time}"

    def _row(self, row: Row, seen: Counter[str]) -> Iterator[CrimeReport]:
        occurred, when = self._when(row)
        description = row.get("Description")
        code = row.get("CrimeCode")
        category = code_category(code) if code else "other"
        if category == "other":
            category = description_category(description)
        point = _point(row)
        yield CrimeReport(
            id=_part1_id(row, when, seen), version=1, occurred_at=occurred, category=category,
            origin=Origin.VICTIM_REPORTED, description=clean(description),
            lat=point[0] if point else None, lon=point[1] if point else None,
            district=district_name(row.get("New_District", "District", "Old_District")),
            post=clean(row.get("Post"), 80), weapon=clean(row.get("Weapon").replace("_", " "), 80),
            address=clean(row.get("Location")), source=self.source,
        )


class BaltimoreArrestsParser(CsvFormat):
    """Open Baltimore "BPD Arrests" (legacy Socrata export). Police-initiated records: they
    show where police made arrests, so models of harm leave them out. Category "arrest";
    description is the incident offense without its code. Id `ARR-<Arrest>`; a number the
    file repeats gets -2, -3 in file order, and a row without one a stable digest of its
    time, place and offense. Age, Sex, Race and the charge text are not read.
    """

    name = "baltimore-arrests"
    description = "Open Baltimore BPD Arrests CSV (Arrest, ArrestDate, ArrestTime, …)"
    TITLE = "Baltimore arrests"
    ZONE = ZONE
    COLUMNS = ("Arrest", "ArrestDate", "ArrestTime", "IncidentOffense", "District", "Post")
    FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M")

    def parse(self, data: bytes) -> Iterator[Parsed]:
        table = self.table(data)
        seen: Counter[str] = Counter()
        return convert_rows(table, lambda row: self._row(row, seen))

    def _row(self, row: Row, seen: Counter[str]) -> Iterator[CrimeReport]:
        date, time = row.get("ArrestDate").split(" ")[0], row.get("ArrestTime")
        occurred = local_time(f"{date} {time or '00:00'}", self.FORMATS, self.zone)
        code, offense = split_offense(row.get("IncidentOffense"))
        address = row.get("IncidentLocation", "ArrestLocation")
        point = _point(row)
        arrest = row.get("Arrest")
        ident = (numbered_id(clean_id(f"ARR-{arrest}"), seen) if arrest else
                 synthetic_id("ARR-X", (date, time, row.get("IncidentOffense"), address,
                                        row.get("District"), row.get("Post"),
                                        row.get("Latitude"), row.get("Longitude")), seen))
        yield CrimeReport(
            id=ident, version=1, occurred_at=occurred, category="arrest",
            origin=Origin.POLICE_INITIATED, description=clean(offense),
            lat=point[0] if point else None, lon=point[1] if point else None,
            district=district_name(row.get("District")), post=clean(row.get("Post"), 80),
            address=clean(address), source=self.source,
        )


class Baltimore911Parser(CsvFormat):
    """Open Baltimore "911 Calls for Service". Historical calls: status closed. callDateTime
    is local (`MM/DD/YYYY HH:MM:SS AM/PM`, or ISO; one with a zone is taken as written).
    Position from the `location` cell's "(lat, lon)" (a quoted multi-line cell:
    address, city, point), or Latitude/Longitude columns when the export has them.
    """

    name = "baltimore-911"
    description = "Open Baltimore 911 Calls for Service CSV (callDateTime, priority, …)"
    TITLE = "Baltimore 911 calls"
    ZONE = ZONE
    COLUMNS = ("callDateTime", "priority", "district", "description", "callNumber")
    FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S",
               "%m/%d/%Y %H:%M", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S",
               "%Y-%m-%d %H:%M:%S")

    def parse(self, data: bytes) -> Iterator[Parsed]:
        table = self.table(data)
        return convert_rows(table, self._row)

    def _when(self, text: str) -> float:
        if re.search(r"(Z|[+-]\d\d:?\d\d)$", text.strip()):
            try:
                return iso_to_epoch(text)
            except ValueError:
                raise RowError(f"bad callDateTime {text.strip()[:40]!r}") from None
        return local_time(text, self.FORMATS, self.zone, what="callDateTime")

    def _row(self, row: Row) -> Iterator[CallForService]:
        number = row.get("callNumber")
        if not number:
            raise RowError("no callNumber")
        cell = row.get("location")
        address = row.get("incidentLocation") or clean(cell.split("\n")[0])
        point = (place(row.get("Latitude"), row.get("Longitude")) or paren_point(cell))
        if point is None:
            raise RowError(f"no coordinates for {clean(address, 60)!r}")
        description = row.get("description")
        word = "_".join(row.get("priority").lower().replace("-", " ").split())
        yield CallForService(
            id=clean_id(f"BCAD-{number}"), version=1,
            received_at=self._when(row.get("callDateTime")),
            priority=_PRIORITIES.get(word, Priority.OTHER), category=call_category(description),
            description=clean(description), lat=point[0], lon=point[1], address=clean(address),
            district=district_name(row.get("district")), post=clean(row.get("PolicePost"), 80),
            status=CallStatus.CLOSED, source=self.source,
        )

