"""Turn a feed's credential reference (`env:NAME`, `keyring:service/user`) into request headers.

The secret is read at start-up, kept only in the headers handed to the connector and in the
list of strings every error text is scrubbed of, and never printed: errors name the feed and
where the secret was looked for, not what it was.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from .errors import OpsCenterError
from .feed_config import FeedConfig


class CredentialError(OpsCenterError):
    """A feed's secret could not be found; the message never contains a secret."""


@dataclass(frozen=True, slots=True)
class ResolvedAuth:
    """Headers to send and the secret strings to scrub from any text; repr shows neither."""

    headers: dict[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)


def resolve_secret(reference: str, feed: str) -> str:
    """The secret a reference points to; CredentialError naming the feed when it is missing."""
    scheme, _, rest = reference.partition(":")
    if scheme == "env" and rest:
        value = os.environ.get(rest)
        if not value:
            raise CredentialError(f"feed {feed!r}: environment variable {rest} is not set or empty")
    elif scheme == "keyring" and "/" in rest:
        service, _, user = rest.partition("/")
        value = _from_keyring(service, user, feed)
    else:
        raise CredentialError(f"feed {feed!r}: credential must be \"env:NAME\" or \"keyring:service/user\"")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise CredentialError(f"feed {feed!r}: the secret from {reference} contains control characters")
    return value


def _from_keyring(service: str, user: str, feed: str) -> str:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        raise CredentialError(f"feed {feed!r}: the keyring package is not installed") from None
    try:
        value = keyring.get_password(service, user)
    except KeyringError as exc:
        raise CredentialError(f"feed {feed!r}: OS keyring unavailable ({type(exc).__name__})") from None
    if not value:
        raise CredentialError(f"feed {feed!r}: no secret in the OS keyring for service {service!r} user {user!r}")
    return value


def resolve_auth(config: FeedConfig) -> ResolvedAuth:
    """The Authorization header for a feed (none for auth = "none")."""
    if config.auth == "none":
        return ResolvedAuth()
    secret = resolve_secret(config.credential, config.name)
    if config.auth == "bearer":
        return ResolvedAuth({"Authorization": f"Bearer {secret}"}, (secret,))
    if config.auth == "basic":
        token = base64.b64encode(f"{config.username}:{secret}".encode("utf-8")).decode("ascii")
        return ResolvedAuth({"Authorization": f"Basic {token}"}, (secret, token))
    raise CredentialError(f"feed {config.name!r}: unknown auth {config.auth!r}")
