"""Smoke test of the real window under Xvfb: `opscenter screenshot` gives a picture with content."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _free_display() -> int:
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb():
    if shutil.which("Xvfb") is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing: the setup script should have installed it")
        pytest.skip("Xvfb not installed")
    number = _free_display()
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.slow
def test_screenshot_of_the_live_wall_is_not_blank(xvfb, tmp_path, qapp) -> None:
    out = tmp_path / "wall.png"
    env = dict(os.environ, DISPLAY=xvfb)
    env.pop("QT_QPA_PLATFORM", None)  # a real X11 window, not offscreen
    result = subprocess.run(
        [sys.executable, "-m", "opscenter.cli", "screenshot", str(out), "--no-db", "--wait", "4",
         "--size", "1600x900", "--seed", "4"],
        env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 900)
    colours: set[int] = set()
    red = 0
    for y in range(0, image.height(), 6):
        for x in range(0, image.width(), 6):
            rgb = image.pixel(x, y) & 0xFFFFFF
            colours.add(rgb)
            r, g, b = rgb >> 16, (rgb >> 8) & 0xFF, rgb & 0xFF
            red += r > 180 and g < 110 and b < 110
    assert len(colours) > 50, "the picture is (nearly) one colour"
    assert red > 20, "no unacknowledged alert (red) is visible"
    # the map half has content too: district lines and markers, not an empty page
    map_colours = {image.pixel(x, y) & 0xFFFFFF for y in range(100, 800, 5) for x in range(50, 700, 5)}
    assert len(map_colours) > 15
