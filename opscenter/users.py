"""Who may do what: four roles, tokens issued by the hub and stored only as hashes.

Tokens are 256 random bits, so a single SHA-256 is enough to make the stored table useless to a
thief (slow password hashes exist for guessable secrets; nobody guesses 2^256). A token is shown
once, when issued, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass

from .errors import OpsCenterError

ROLES = ("operator", "analyst", "commander", "admin")
TOKEN_PREFIX = "ops_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")

# permission -> roles that have it
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "alert.acknowledge": frozenset({"operator", "analyst", "admin"}),
    "alert.dispatch": frozenset({"operator", "admin"}),
    "alert.on_scene": frozenset({"operator", "admin"}),
    "alert.close": frozenset({"operator", "analyst", "admin"}),
    "alert.shelve": frozenset({"operator", "analyst", "admin"}),
    "annotation.create": frozenset(ROLES),
    "annotation.edit_any": frozenset({"admin"}),
    "audit.export": frozenset({"analyst", "commander", "admin"}),
    "retention.change": frozenset({"admin"}),
    "user.manage": frozenset({"admin"}),
    "mission.manage": frozenset({"analyst", "admin"}),
    "message.send": frozenset({"operator", "analyst", "admin"}),
}


class AuthError(OpsCenterError):
    """Unknown, revoked or malformed token (the message never contains the token)."""


class Forbidden(OpsCenterError):
    """The user's role does not allow this; nothing was changed."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS.get(permission, frozenset())

    def require(self, permission: str, what: str = "") -> None:
        if not self.can(permission):
            raise Forbidden(f"{self.name} ({self.role}) may not {what or permission}")

    def may_edit(self, author: str) -> bool:
        """Your own annotations, or anyone's if admin: an operator cannot rewrite an analyst's note."""
        return author == self.name or self.can("annotation.edit_any")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise OpsCenterError("a user name is 1-64 letters, digits and _ . @ - (starting with a letter or digit)")
    return name


class UserDirectory:
    """Users and their token hashes in the app's SQLite file (tables from `schema`)."""

    def __init__(self, db: sqlite3.Connection, clock=time.time) -> None:
        self._db = db
        self.clock = clock

    def add(self, name: str, role: str) -> str:
        """Create a user and return their first token (shown once)."""
        check_name(name)
        if role not in ROLES:
            raise OpsCenterError(f"role must be one of {', '.join(ROLES)}")
        if self._db.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
            raise OpsCenterError(f"user {name} exists; use 'token' to issue another token")
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO users VALUES (?,?,?,0)", (name, role, self.clock()))
        return self.issue(name)

    def issue(self, name: str) -> str:
        if not self._db.execute("SELECT 1 FROM users WHERE name=? AND disabled=0", (name,)).fetchone():
            raise OpsCenterError(f"no active user {name}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO tokens VALUES (?,?,?,NULL,0)", (hash_token(token), name, self.clock()))
        return token

    def revoke(self, name: str) -> int:
        """Disable the user and every token of theirs; returns tokens revoked."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("UPDATE users SET disabled=1 WHERE name=?", (name,))
            cur = self._db.execute("UPDATE tokens SET revoked=1 WHERE name=? AND revoked=0", (name,))
        return cur.rowcount

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise OpsCenterError(f"role must be one of {', '.join(ROLES)}")
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._db.execute("UPDATE users SET role=? WHERE name=?", (role, name)).rowcount == 0:
                raise OpsCenterError(f"no user {name}")

    def authenticate(self, token: str | None) -> User:
        if not token or not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise AuthError("missing or malformed token")
        digest = hash_token(token)
        row = self._db.execute(
            "SELECT t.token_hash, u.name, u.role FROM tokens t JOIN users u ON u.name=t.name "
            "WHERE t.token_hash=? AND t.revoked=0 AND u.disabled=0", (digest,)).fetchone()
        if row is None or not hmac.compare_digest(row[0], digest):
            raise AuthError("unknown or revoked token")
        return User(row[1], row[2])

    def touch(self, token: str) -> None:
        self._db.execute("UPDATE tokens SET last_used=? WHERE token_hash=?", (self.clock(), hash_token(token)))

    def list(self) -> list[dict]:
        rows = self._db.execute(
            "SELECT u.name, u.role, u.disabled, COUNT(t.token_hash), MAX(t.last_used) FROM users u "
            "LEFT JOIN tokens t ON t.name=u.name AND t.revoked=0 GROUP BY u.name ORDER BY u.name").fetchall()
        return [{"name": n, "role": r, "disabled": bool(d), "tokens": c, "last_used": lu} for n, r, d, c, lu in rows]
