"""Audible chimes for new shot alerts (QtMultimedia), chosen by `opscenter.alerting.ChimePolicy`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtMultimedia import QSoundEffect

from opscenter.alerting import Chime, ChimePolicy, chime_wav


class AlertSound(QObject):
    """Plays the alert or flood chime; `muted` is toggled from the window."""

    def __init__(self, policy: ChimePolicy | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.policy = policy or ChimePolicy()
        self._dir = tempfile.TemporaryDirectory(prefix="opscenter-sound-")
        self._effects: dict[Chime, QSoundEffect] = {}
        self.played: list[Chime] = []
        for chime in Chime:
            path = Path(self._dir.name) / f"{chime.value}.wav"
            path.write_bytes(chime_wav(chime))
            effect = QSoundEffect(self)
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setVolume(0.8)
            self._effects[chime] = effect

    @property
    def muted(self) -> bool:
        return self.policy.muted

    def set_muted(self, muted: bool) -> None:
        self.policy.muted = muted

    def on_new_alert(self, now: float) -> Chime | None:
        chime = self.policy.on_new_alert(now)
        if chime is not None:
            self.played.append(chime)
            self._effects[chime].play()
        return chime
