"""When to sound the chime, and when a burst of alerts is a flood.

In a celebratory-gunfire night hundreds of alerts arrive in minutes. A chime per alert would be
noise the room learns to ignore, so a flood gets its own, distinct sound at a limited rate,
while each ordinary new alert still chimes.
"""

from __future__ import annotations

import enum
import io
import math
import struct
import wave
from collections import deque


class Chime(str, enum.Enum):
    ALERT = "alert"
    FLOOD = "flood"


class FloodDetector:
    """Sliding-window count of new alerts; a flood starts above `threshold` in `window_s`."""

    def __init__(self, threshold: int = 15, window_s: float = 300.0, calm_s: float = 600.0) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.calm_s = calm_s
        self._times: deque[float] = deque()
        self._flood_until = 0.0

    def add(self, at: float) -> None:
        self._times.append(at)
        self._trim(at)
        if len(self._times) > self.threshold:
            self._flood_until = at + self.calm_s

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()

    def recent(self, now: float) -> int:
        self._trim(now)
        return len(self._times)

    def in_flood(self, now: float) -> bool:
        """True while alerts arrive above the threshold, and for `calm_s` after."""
        self._trim(now)
        return len(self._times) > self.threshold or now < self._flood_until


class ChimePolicy:
    """Decides which chime (if any) to play for a new alert arriving at `now`."""

    def __init__(self, flood: FloodDetector | None = None, flood_repeat_s: float = 20.0) -> None:
        self.flood = flood or FloodDetector()
        self.flood_repeat_s = flood_repeat_s
        self._last_flood_chime = -math.inf
        self.muted = False

    def on_new_alert(self, now: float) -> Chime | None:
        self.flood.add(now)
        if self.muted:
            return None
        if self.flood.in_flood(now):
            if now - self._last_flood_chime >= self.flood_repeat_s:
                self._last_flood_chime = now
                return Chime.FLOOD
            return None
        return Chime.ALERT


def chime_wav(chime: Chime, rate: int = 48000) -> bytes:
    """A short WAV file: two rising tones for an alert, three low pulses for a flood."""
    if chime is Chime.ALERT:
        notes = [(880.0, 0.16), (0.0, 0.04), (1174.7, 0.28)]
    else:
        notes = [(392.0, 0.14), (0.0, 0.08)] * 3 + [(523.3, 0.35)]
    samples: list[int] = []
    for freq, dur in notes:
        n = int(rate * dur)
        for i in range(n):
            env = min(1.0, i / (0.01 * rate), (n - i) / (0.05 * rate))
            value = math.sin(2 * math.pi * freq * i / rate) * env * 0.5 if freq else 0.0
            samples.extend((int(value * 32767),) * 2)  # stereo: what every output device takes
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buf.getvalue()
