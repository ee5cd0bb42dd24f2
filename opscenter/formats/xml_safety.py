"""Safe XML loading for the XML feeds (CAP, CoT), and small helpers to read what it gives.

Feeds come from outside the building, so every document goes through defusedxml with DTDs,
entity declarations and external references forbidden: a "billion laughs" bomb or an
`<!ENTITY x SYSTEM "file:///etc/passwd">` is refused before anything expands or is fetched.
Every failure becomes a `ParseError` with a reason an operator can read.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, tostring
from xml.etree.ElementTree import ParseError as XmlSyntaxError

import defusedxml
import defusedxml.ElementTree as safe_tree

from ..errors import ParseError
from .base import strip_bom

MAX_XML = 10 * 1024 * 1024  # bytes; one alert or event is far smaller, a bigger one is refused

_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = {b"utf-8", b"utf8"}


def load_xml(data: bytes, source: str, limit: int = MAX_XML) -> Element:
    """Parse one XML document safely; ParseError with a readable reason on any failure."""
    if len(data) > limit:
        raise ParseError(source, f"XML refused: {len(data):,} bytes is over the {limit:,}-byte limit",
                         data[:4096])
    data = _repair_encoding(strip_bom(data))
    if not data.strip():
        raise ParseError(source, "empty document: no XML at all")
    try:
        return safe_tree.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                    forbid_external=True)
    except defusedxml.DTDForbidden:
        reason = "XML refused: document type declarations (DTD) and entity declarations are not allowed"
    except defusedxml.EntitiesForbidden:
        reason = "XML refused: entity declarations are not allowed"
    except defusedxml.ExternalReferenceForbidden:
        reason = "XML refused: external references are not allowed"
    except defusedxml.NotSupportedError:
        reason = "XML refused: a construct the safe parser does not support"
    except XmlSyntaxError as exc:
        line, column = getattr(exc, "position", (0, 0))
        what = str(exc).split(":")[0].strip() or "syntax error"
        reason = f"not well-formed XML at line {line}, column {column} ({what})"
    except (ValueError, LookupError, TypeError, RecursionError, MemoryError) as exc:
        reason = f"unreadable XML ({type(exc).__name__}: {str(exc)[:80]})"
    raise ParseError(source, reason, data[:4096])


def _repair_encoding(data: bytes) -> bytes:
    """Feeds that say UTF-8 (or nothing) but send Latin-1/cp1252 bytes are common (Pelmorex):
    re-encode them, rather than lose the whole feed to one accented letter."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        return data  # UTF-16: expat reads it as is
    declared = _DECLARED_ENCODING.match(data[:200])
    if declared and declared.group(1).lower() not in _UTF8_NAMES:
        return data  # the document names its own encoding; expat decodes it
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.encode("utf-8")


# -- reading elements ---------------------------------------------------------------------------

def split_tag(tag: object) -> tuple[str, str]:
    """`{namespace}local` as (namespace, local); comments and PIs give ("", "")."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def local_name(element: Element) -> str:
    return split_tag(element.tag)[1]


def namespace_of(element: Element) -> str:
    return split_tag(element.tag)[0]


def qname(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}" if namespace else local


def children(element: Element, namespace: str, local: str) -> list[Element]:
    return element.findall(qname(namespace, local))


def child_text(element: Element, namespace: str, local: str) -> str:
    """Stripped text of the first such child, "" when absent or empty."""
    found = element.find(qname(namespace, local))
    return (found.text or "").strip() if found is not None else ""


def descendants(element: Element, namespaces: tuple[str, ...], local: str) -> list[Element]:
    """Every element below `element` with this local name in one of the namespaces."""
    wanted = {qname(ns, local) for ns in namespaces}
    return [e for e in element.iter() if e is not element and e.tag in wanted]


def element_bytes(element: Element, limit: int = 4096) -> bytes:
    """The element as XML for the quarantine; empty when it cannot be written back."""
    try:
        return tostring(element)[:limit]
    except (RecursionError, ValueError, TypeError):
        return b""


