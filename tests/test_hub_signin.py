"""A joined window's token: the environment first, then the OS keyring; kept there once given."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

from opscenter.hub.remote import KEYRING_SERVICE, TOKEN_ENV, remember_token, stored_token


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service, username):
        raise KeyringError("no D-Bus session")

    def set_password(self, service, username, password):
        raise KeyringError("no D-Bus session")


@pytest.fixture
def backend(monkeypatch):
    previous = keyring.get_keyring()
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    yield
    keyring.set_keyring(previous)


def test_the_token_is_kept_in_the_keyring_per_hub(backend) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    url = "http://hub.center.local:8770"
    assert stored_token(url) is None
    assert remember_token(url, "ops_secret")
    assert memory.items == {(KEYRING_SERVICE, url): "ops_secret"}
    assert stored_token(url) == "ops_secret"
    assert stored_token("http://other-hub:8770") is None


def test_the_environment_wins_and_a_missing_keyring_is_not_fatal(backend, monkeypatch, caplog) -> None:
    keyring.set_keyring(BrokenKeyring())
    url = "http://hub:8770"
    assert stored_token(url) is None
    assert not remember_token(url, "ops_very_secret")
    assert "ops_very_secret" not in caplog.text  # the failure is logged, the token never
    monkeypatch.setenv(TOKEN_ENV, " ops_from_env ")
    assert stored_token(url) == "ops_from_env"
