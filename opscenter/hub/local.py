"""`Operations` for a window in the same process as the hub: straight calls, same checks.

The window's user goes through the same role checks and audit entries as a remote one; only
the network is skipped.
"""

from __future__ import annotations

from typing import Any

from ..annotations import Annotation
from ..users import User
from .core import HubCore


class LocalOps:
    def __init__(self, core: HubCore, user: User) -> None:
        self.core = core
        self.user = user
        self.store = core.store
        self.workflow = core.workflow
        self.annotations = core.annotations

    async def acknowledge(self, alert_id: str) -> None:
        self.core.alert_action(self.user, "acknowledge", alert_id)

    async def dispatch(self, alert_id: str, units: list[str]) -> None:
        self.core.alert_action(self.user, "dispatch", alert_id, units=units)

    async def on_scene(self, alert_id: str) -> None:
        self.core.alert_action(self.user, "on_scene", alert_id)

    async def close(self, alert_id: str, disposition: str, note: str = "") -> None:
        self.core.alert_action(self.user, "close", alert_id, disposition=disposition, note=note)

    async def shelve(self, alert_id: str, reason: str, minutes: float) -> None:
        self.core.alert_action(self.user, "shelve", alert_id, reason=reason, minutes=minutes)

    async def unshelve(self, alert_id: str) -> None:
        self.core.alert_action(self.user, "unshelve", alert_id)

    async def annotate(self, data: dict[str, Any]) -> Annotation:
        return self.core.annotate(self.user, data)

    async def edit_annotation(self, ident: str, changes: dict[str, Any]) -> Annotation:
        return self.core.edit_annotation(self.user, ident, changes)

    async def delete_annotation(self, ident: str) -> None:
        self.core.delete_annotation(self.user, ident)

    async def history(self, ident: str) -> list[Annotation]:
        return self.core.history(ident)
