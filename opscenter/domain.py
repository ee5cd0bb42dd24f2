"""Domain records: what the center watches.

Records are immutable; a newer version of the same id replaces the older one in the store.
Times are UTC epoch seconds (float) everywhere in the core; only views format them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class AlertType(str, enum.Enum):
    MULTIPLE = "multiple_gunshots"
    SINGLE = "single_gunshot"
    POSSIBLE_FIRECRACKER = "possible_firecracker"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _ALERT_LABELS[self]

    @property
    def severity(self) -> int:
        """Higher is more urgent; orders the queue inside the unacknowledged block."""
        return _ALERT_SEVERITY[self]


_ALERT_LABELS = {
    AlertType.MULTIPLE: "Multiple gunshots",
    AlertType.SINGLE: "Single gunshot",
    AlertType.POSSIBLE_FIRECRACKER: "Gunshot or firecracker",
    AlertType.OTHER: "Other",
}
_ALERT_SEVERITY = {
    AlertType.MULTIPLE: 3,
    AlertType.SINGLE: 2,
    AlertType.POSSIBLE_FIRECRACKER: 1,
    AlertType.OTHER: 0,
}


class Priority(str, enum.Enum):
    """Baltimore CAD priority words, most urgent first."""

    EMERGENCY = "emergency"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NON_EMERGENCY = "non_emergency"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", "-").capitalize()

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class UnitStatus(str, enum.Enum):
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OUT_OF_SERVICE = "out_of_service"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class CallStatus(str, enum.Enum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    CLOSED = "closed"


class IncidentStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Kind(str, enum.Enum):
    """Record kinds carried by a feed; the store keeps one table per kind."""

    SHOT = "shot"
    CALL = "call"
    UNIT = "unit"
    INCIDENT = "incident"
    ADVISORY = "advisory"
    REPORT = "report"


class Origin(str, enum.Enum):
    """Where a crime record came from. Risk models take victim reports and detections only:
    police-initiated records (arrests, stops) measure where police looked, not where harm was."""

    VICTIM_REPORTED = "victim_reported"
    DETECTION = "detection"
    POLICE_INITIATED = "police_initiated"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ShotAlert:
    """A gunshot detection. Reviewers may change type or rounds: that arrives as a new version."""

    id: str
    version: int
    detected_at: float
    lat: float
    lon: float
    alert_type: AlertType
    rounds: int
    address: str = ""
    district: str = ""
    post: str = ""
    source: str = ""

    kind = Kind.SHOT


@dataclass(frozen=True, slots=True)
class CallForService:
    """A 911/CAD call. `shot_id` links it to the detection it reports, when CAD knows."""

    id: str
    version: int
    received_at: float
    priority: Priority
    category: str
    description: str
    lat: float
    lon: float
    address: str = ""
    district: str = ""
    post: str = ""
    status: CallStatus = CallStatus.PENDING
    shot_id: str | None = None
    source: str = ""

    kind = Kind.CALL


@dataclass(frozen=True, slots=True)
class Unit:
    """A patrol unit's last report. `version` rises with every report from the unit."""

    id: str
    version: int
    reported_at: float
    status: UnitStatus
    lat: float
    lon: float
    district: str = ""
    heading: float | None = None
    assignment: str | None = None
    source: str = ""

    kind = Kind.UNIT


@dataclass(frozen=True, slots=True)
class Incident:
    """Groups the shots, calls and units that belong to one event on the street."""

    id: str
    version: int
    opened_at: float
    status: IncidentStatus
    district: str = ""
    shot_ids: tuple[str, ...] = ()
    call_ids: tuple[str, ...] = ()
    unit_ids: tuple[str, ...] = ()
    summary: str = ""
    source: str = ""

    kind = Kind.INCIDENT


@dataclass(frozen=True, slots=True)
class Advisory:
    """An area warning or a tracked object from a standard feed (CAP alert, USGS event, CoT
    marker). `polygons` hold (lat, lon) rings; `circles` hold (lat, lon, radius_m)."""

    id: str
    version: int
    issued_at: float
    category: str
    event: str
    headline: str = ""
    severity: str = "unknown"
    status: str = "actual"
    msg_type: str = "alert"
    expires_at: float | None = None
    lat: float | None = None
    lon: float | None = None
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[tuple[float, float, float], ...] = ()
    cancelled: bool = False
    source: str = ""

    kind = Kind.ADVISORY


@dataclass(frozen=True, slots=True)
class CrimeReport:
    """A historical or reported crime record (Part 1 crime, arrest, shooting). Kept for the
    commanders' figures and the risk models; never shown as a live alert. Holds no data about
    people: names, ages, races and sexes in imported files are dropped at parsing."""

    id: str
    version: int
    occurred_at: float
    category: str
    origin: Origin
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    district: str = ""
    post: str = ""
    weapon: str = ""
    address: str = ""
    source: str = ""

    kind = Kind.REPORT


Record = ShotAlert | CallForService | Unit | Incident | Advisory | CrimeReport

RECORD_TYPES: dict[Kind, type] = {
    Kind.SHOT: ShotAlert,
    Kind.CALL: CallForService,
    Kind.UNIT: Unit,
    Kind.INCIDENT: Incident,
    Kind.ADVISORY: Advisory,
    Kind.REPORT: CrimeReport,
}


@dataclass(frozen=True, slots=True)
class Deletion:
    """A feed says a record no longer exists (e.g. a call cancelled or a unit logged off)."""

    kind: Kind
    id: str
    version: int


@dataclass(slots=True)
class Acknowledgement:
    """Local operator state kept beside, never inside, the feed record."""

    alert_id: str
    by: str
    at: float


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One message off the wire: a sequence number for resume, the send time, and the payload."""

    seq: int
    sent_at: float
    payload: Record | Deletion
    source: str = ""
    received_at: float = field(default=0.0, compare=False)
