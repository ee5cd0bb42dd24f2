"""What the demo simulator draws from: 911 call types, hotspot districts, and its internal state.

The call types are loosely after Baltimore CAD categories and priority words; they are made up
for the demo, not taken from any data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate

from .domain import AlertType, IncidentStatus, Priority, UnitStatus

_MP, _SG, _FC = AlertType.MULTIPLE, AlertType.SINGLE, AlertType.POSSIBLE_FIRECRACKER
_E, _H, _M, _L, _N = (Priority.EMERGENCY, Priority.HIGH, Priority.MEDIUM, Priority.LOW,
                      Priority.NON_EMERGENCY)
# (category, weight, priority, descriptions), loosely after Baltimore CAD call types.
CALL_TYPES = (
    ("DISORDERLY", 10, _M, ("LOUD GROUP IN FRONT OF CORNER STORE", "SUBJECTS ARGUING IN STREET")),
    ("COMMON ASSAULT", 7, _H, ("FIGHT IN PROGRESS, 2 MALES", "CALLER STATES SHE WAS PUNCHED")),
    ("AGGRAV ASSAULT", 2, _E, ("VICTIM STABBED, SUSPECT FLED ON FOOT", "MALE STRUCK WITH BAT")),
    ("BURGLARY", 4, _M, ("REAR DOOR FORCED, ITEMS MISSING", "RESIDENCE ENTERED WHILE AT WORK")),
    ("AUTO ACCIDENT", 8, _M, ("2 VEHICLE COLLISION, NO INJURIES", "VEHICLE VS POLE")),
    ("AUTO ACC/INJURY", 3, _H, ("DRIVER TRAPPED, MEDIC REQUESTED", "PEDESTRIAN STRUCK")),
    ("HIT AND RUN", 3, _M, ("PARKED CAR STRUCK, SUSPECT VEH FLED", "SILVER SEDAN LEFT SCENE")),
    ("SILENT ALARM", 5, _M, ("SILENT ALARM, COMMERCIAL, REAR DOOR", "BANK ALARM, NO KEYHOLDER")),
    ("AUDIBLE ALARM", 6, _L, ("RESIDENTIAL ALARM SOUNDING", "STORE ALARM, FRONT MOTION")),
    ("NARCOTICS", 5, _L, ("HAND TO HAND SALES ON CORNER", "SUBJECTS USING IN VACANT")),
    ("LARCENY", 6, _L, ("PACKAGE TAKEN FROM PORCH", "SHOPLIFTER HELD BY SECURITY")),
    ("LARCENY F/AUTO", 3, _L, ("WINDOW BROKEN, BAG TAKEN", "CATALYTIC CONVERTER CUT")),
    ("FAMILY DISTURB", 6, _H, ("MALE AND FEMALE YELLING, CHILD PRESENT", "BROTHERS FIGHTING")),
    ("SUSPICIOUS PERS", 6, _M, ("MALE CHECKING CAR DOORS", "SUBJECT LOOKING IN WINDOWS")),
    ("ROBBERY ARMED", 1, _E, ("VICTIM ROBBED AT GUNPOINT", "CARJACKING, SUSP ARMED")),
    ("ROBBERY COMMERCIAL", 1, _E, ("CLERK ROBBED, SUSP FLED NB", "GAS STATION HOLDUP")),
    ("DESTRUCT PROPTY", 3, _L, ("TIRES SLASHED OVERNIGHT", "GRAFFITI ON STOREFRONT")),
    ("NOISE COMPLAINT", 4, _N, ("LOUD MUSIC FROM ROWHOME", "PARTY IN REAR YARD")),
    ("PARKING COMPLAINT", 4, _N, ("VEHICLE BLOCKING DRIVEWAY", "ABANDONED VEHICLE")),
    ("CHECK WELL BEING", 4, _M, ("ELDERLY NEIGHBOR NOT SEEN IN DAYS", "MALE DOWN ON BENCH")),
    ("BEHAVIOR CRISIS", 3, _H, ("SUBJECT THREATENING SELF", "FEMALE ACTING ERRATIC IN STREET")),
    ("TRESPASSING", 2, _L, ("SUBJECTS IN VACANT BUILDING", "MALE REFUSING TO LEAVE STORE")),
    ("INVESTIGATE", 4, _L, ("CALLER REQUESTS OFFICER", "FOUND PROPERTY")),
)
CALL_CUM = list(accumulate(t[1] for t in CALL_TYPES))
SHOT_CALL_TEXT = {
    "DISCHRG FIREARM": ("CALLER HEARD SEVERAL SHOTS FIRED", "SHOTS FIRED NEAR ALLEY, NONE SEEN",
                        "POSS SHOTS FIRED, CALLER UNSURE"),
    "SHOOTING": ("MALE SHOT, LYING ON SIDEWALK", "PERSON SHOT IN VEHICLE, MEDIC EN ROUTE"),
}
HOTSPOT_DISTRICTS = ("Western", "Eastern", "Southwestern", "Northwestern", "Southeastern",
                      "Northeastern", "Southern")


@dataclass
class Car:
    """A patrol unit's internal state; `x, y` are metres in the city's projection."""

    id: str
    district: str
    x: float
    y: float
    status: UnitStatus
    heading: float
    version: int = 0
    assignment: str | None = None
    incident: str | None = None
    target: tuple[float, float] | None = None
    speed: float = 3.0
    silent_until: float = 0.0
    lat: float = 0.0  # last position as reported (rounded), kept to skip re-projecting
    lon: float = 0.0
    detour: bool = False  # stepping toward the centre to get round the outline


@dataclass
class SimIncident:
    id: str
    opened_at: float
    district: str
    summary: str
    shot_ids: list[str]
    call_ids: list[str] = field(default_factory=list)
    unit_ids: list[str] = field(default_factory=list)
    active: set[str] = field(default_factory=set)
    version: int = 0
    status: IncidentStatus = IncidentStatus.OPEN
