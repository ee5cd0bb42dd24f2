"""What analysts add to live incidents, kept apart from what the feeds say.

An annotation points at what it annotates (`shot:ID`, `call:ID`, `incident:ID`, or `place` for
a drawn shape standing alone) and is never stored inside the record, so a feed update cannot
overwrite it. Each edit makes a new version; the hub keeps every version as history.

Everything here comes from people typing into a form or from the network, so every field is
checked and cleaned: lengths capped, control characters removed, geometry finite and on Earth.
"""

from __future__ import annotations

import dataclasses
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import OpsCenterError
from .workflow import DISPOSITIONS

TYPES = ("note", "tag", "disposition", "link", "shape")
TARGET_KINDS = ("shot", "call", "incident", "place")
SHAPES = ("Point", "LineString", "Polygon", "Circle")
MAX_TEXT = 4000
MAX_LABEL = 120
MAX_TAGS = 20
MAX_LINKS = 50
MAX_VERTICES = 500
_TAG = re.compile(r"^[\w][\w .:/-]{0,39}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,120}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class AnnotationError(OpsCenterError):
    """A field that cannot be stored, named with the reason."""


@dataclass(frozen=True, slots=True)
class Annotation:
    id: str
    type: str
    target: str
    author: str
    created_at: float
    updated_at: float
    version: int = 1
    text: str = ""
    label: str = ""
    tags: tuple[str, ...] = ()
    disposition: str | None = None
    links: tuple[str, ...] = ()
    geometry: dict[str, Any] | None = field(default=None, hash=False, compare=True)
    deleted: bool = False
    editor: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["tags"], out["links"] = list(self.tags), list(self.links)
        return out

    @property
    def target_kind(self) -> str:
        return self.target.split(":", 1)[0]

    def summary(self) -> str:
        """One line for lists: what kind, and the gist."""
        if self.type == "tag":
            return "Tags: " + ", ".join(self.tags)
        if self.type == "disposition":
            return f"Disposition: {self.disposition}" + (f" — {self.text}" if self.text else "")
        if self.type == "link":
            return "Linked to " + ", ".join(self.links) + (f" — {self.text}" if self.text else "")
        if self.type == "shape":
            kind = (self.geometry or {}).get("type", "shape")
            return f"{kind}: {self.label or self.text}"
        return self.text


def clean_text(value: Any, limit: int, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AnnotationError(f"{name} must be text")
    text = _CONTROL.sub("", value.replace("\r\n", "\n")).strip()
    if len(text) > limit:
        raise AnnotationError(f"{name} is longer than {limit} characters")
    return text


def check_target(value: Any, name: str = "target") -> str:
    if not isinstance(value, str):
        raise AnnotationError(f"{name} must be text like shot:ID")
    if value == "place":
        return value
    kind, _, ident = value.partition(":")
    if kind not in TARGET_KINDS or kind == "place" or not _ID.match(ident):
        raise AnnotationError(f"{name} {value[:60]!r} must be shot:ID, call:ID, incident:ID or place")
    return value


def _coord(pair: Any) -> list[float]:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise AnnotationError("a coordinate is [lon, lat]")
    lon, lat = pair
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in (lon, lat)):
        raise AnnotationError("coordinates must be finite numbers")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise AnnotationError("coordinates out of range (lon -180..180, lat -90..90)")
    return [float(lon), float(lat)]


def check_geometry(value: Any) -> dict[str, Any]:
    """GeoJSON-like geometry (lon/lat order) plus Circle with radius_m; returns a clean copy."""
    if not isinstance(value, Mapping) or value.get("type") not in SHAPES:
        raise AnnotationError(f"geometry type must be one of {', '.join(SHAPES)}")
    kind, coords = value["type"], value.get("coordinates")
    if kind in ("Point", "Circle"):
        out: dict[str, Any] = {"type": kind, "coordinates": _coord(coords)}
        if kind == "Circle":
            radius = value.get("radius_m")
            if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not (1 <= radius <= 50_000):
                raise AnnotationError("a circle needs radius_m between 1 and 50000")
            out["radius_m"] = float(radius)
        return out
    if kind == "Polygon" and isinstance(coords, list) and coords and isinstance(coords[0], list) \
            and coords[0] and isinstance(coords[0][0], list):
        coords = coords[0]  # one outer ring, GeoJSON nesting accepted
    if not isinstance(coords, list) or not (1 < len(coords) <= MAX_VERTICES + 1):
        raise AnnotationError(f"a {kind} needs 2 to {MAX_VERTICES} points")
    points = [_coord(p) for p in coords]
    if kind == "Polygon":
        if points[0] != points[-1]:
            points.append(points[0])
        if len(points) < 4:
            raise AnnotationError("a polygon needs at least 3 points")
        return {"type": kind, "coordinates": [points]}
    return {"type": kind, "coordinates": points}


def _fields(data: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The editable fields, checked for this annotation type."""
    out: dict[str, Any] = {
        "text": clean_text(data.get("text"), MAX_TEXT, "text"),
        "label": clean_text(data.get("label"), MAX_LABEL, "label"),
    }
    tags = data.get("tags") or []
    if not isinstance(tags, (list, tuple)) or len(tags) > MAX_TAGS:
        raise AnnotationError(f"tags must be a list of at most {MAX_TAGS}")
    clean_tags = tuple(dict.fromkeys(clean_text(t, 40, "tag").lower() for t in tags))
    if any(not _TAG.match(t) for t in clean_tags):
        raise AnnotationError("a tag is letters, digits, spaces and . : / - (at most 40)")
    out["tags"] = clean_tags
    links = data.get("links") or []
    if not isinstance(links, (list, tuple)) or len(links) > MAX_LINKS:
        raise AnnotationError(f"links must be a list of at most {MAX_LINKS} targets")
    out["links"] = tuple(dict.fromkeys(check_target(link, "link") for link in links))
    disposition = data.get("disposition")
    if disposition is not None and disposition not in DISPOSITIONS:
        raise AnnotationError(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    out["disposition"] = disposition
    geometry = data.get("geometry")
    out["geometry"] = check_geometry(geometry) if geometry is not None else None
    required = {"note": "text", "tag": "tags", "disposition": "disposition", "link": "links", "shape": "geometry"}
    if not out[required[kind]]:
        raise AnnotationError(f"a {kind} needs {required[kind]}")
    return out


def new_annotation(data: Mapping[str, Any], author: str, now: float, ident: str | None = None) -> Annotation:
    """A fresh annotation from a form or a request body."""
    kind = data.get("type")
    if kind not in TYPES:
        raise AnnotationError(f"type must be one of {', '.join(TYPES)}")
    target = check_target(data.get("target", "place"))
    if kind == "disposition" and not target.startswith("shot:"):
        raise AnnotationError("a disposition is for a shot alert")
    if target == "place" and kind != "shape":
        raise AnnotationError("only a shape can stand alone; other annotations need a target")
    return Annotation(id=ident or uuid.uuid4().hex, type=kind, target=target, author=author,
                      created_at=now, updated_at=now, editor=author, **_fields(data, kind))


def edited(current: Annotation, changes: Mapping[str, Any], editor: str, now: float) -> Annotation:
    """The next version; type, target and author never change."""
    if current.deleted:
        raise AnnotationError("this annotation was deleted")
    merged = {**current.to_dict(), **{k: v for k, v in changes.items() if k in
                                      ("text", "label", "tags", "links", "disposition", "geometry")}}
    return dataclasses.replace(current, version=current.version + 1, updated_at=now, editor=editor,
                               **_fields(merged, current.type))


def deleted(current: Annotation, editor: str, now: float) -> Annotation:
    return dataclasses.replace(current, version=current.version + 1, updated_at=now, editor=editor, deleted=True)


def from_dict(data: Mapping[str, Any]) -> Annotation:
    """Rebuild a stored or received annotation, re-checking every field."""
    try:
        ann = Annotation(
            id=str(data["id"]), type=str(data["type"]), target=check_target(data["target"]),
            author=clean_text(data["author"], 200, "author"), created_at=float(data["created_at"]),
            updated_at=float(data["updated_at"]), version=int(data["version"]),
            deleted=bool(data.get("deleted", False)), editor=clean_text(data.get("editor"), 200, "editor"),
            **_fields(data, str(data["type"])) if data["type"] in TYPES else {},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AnnotationError(f"bad annotation: {exc}") from exc
    if ann.type not in TYPES or not _ID.match(ann.id):
        raise AnnotationError("bad annotation: type or id")
    return ann


class AnnotationBoard:
    """Current annotations by id and by target, with listeners; versions only move forward."""

    def __init__(self) -> None:
        self._by_id: dict[str, Annotation] = {}
        self._by_target: dict[str, set[str]] = {}
        self._listeners: list[Callable[[Annotation], None]] = []

    def subscribe(self, listener: Callable[[Annotation], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def put(self, ann: Annotation) -> bool:
        held = self._by_id.get(ann.id)
        if held is not None and held.version >= ann.version:
            return False
        self._by_id[ann.id] = ann
        for target in (ann.target, *ann.links):
            self._by_target.setdefault(target, set()).add(ann.id)
        for listener in list(self._listeners):
            listener(ann)
        return True

    def get(self, ident: str) -> Annotation | None:
        return self._by_id.get(ident)

    def for_target(self, target: str, include_deleted: bool = False) -> list[Annotation]:
        """Annotations on `target` or linking to it, oldest first."""
        found = (self._by_id[i] for i in self._by_target.get(target, ()))
        return sorted((a for a in found if include_deleted or not a.deleted), key=lambda a: a.created_at)

    def shapes(self) -> list[Annotation]:
        return [a for a in self._by_id.values() if a.geometry is not None and not a.deleted]

    def all(self) -> list[Annotation]:
        return list(self._by_id.values())

    def forget(self, ident: str) -> None:
        ann = self._by_id.pop(ident, None)
        if ann is not None:
            for target in (ann.target, *ann.links):
                self._by_target.get(target, set()).discard(ident)

    def __len__(self) -> int:
        return len(self._by_id)
