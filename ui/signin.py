"""Sign in to a hub once: the token an admin issued, typed or pasted, then kept in the OS keyring."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QLineEdit


def ask_token(url: str) -> str | None:
    """A modal prompt (before the wall opens); None when cancelled."""
    text, ok = QInputDialog.getText(
        None, "Sign in to the hub",
        f"Token for {url}\n(from your administrator: opscenter hub user add NAME --role ROLE)",
        QLineEdit.EchoMode.Password,
    )
    text = text.strip()
    return text if ok and text else None
