"""Start the wall: Qt and asyncio on one qasync loop, the core runtime, the bridge and the window."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from opscenter.runtime import Runtime, RuntimeConfig


def prepare_environment(offscreen: bool = False) -> None:
    """Settings that must exist before the QApplication does."""
    os.environ.setdefault("QT_API", "pyside6")
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    wanted = ["--disable-gpu"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        wanted.append("--no-sandbox")  # Chromium refuses to sandbox as root
    for flag in wanted:
        if flag not in flags:
            flags = f"{flags} {flag}".strip()
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = flags
    if offscreen or (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
                     and not os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def ensure_application():
    """The one QApplication (tests may already have made it)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("OpsCenter")
        # The loop, not Qt, decides when we are done: shutdown must still stop feeds and flush.
        app.setQuitOnLastWindowClosed(False)
    return app


def risk_input(runtime):
    """Where the risk layer learns from: a year of the archive (imported and live history) when
    there is a database, else the detections the window holds."""
    from opscenter.domain import Kind

    db_path = getattr(getattr(runtime, "config", None), "db_path", None)
    store = runtime.store

    def records():
        if db_path is None or not Path(db_path).exists():
            return store.shots()
        from opscenter.persistence import Archive

        archive = Archive(db_path)
        try:
            since = store.clock() - 365 * 86400.0
            return archive.records(Kind.SHOT, since=since) + archive.records(Kind.REPORT, since=since)
        finally:
            archive.close()

    return records


def missions_source(runtime, options):
    """The shift's missions: from the embedded hub, or over REST from a remote one."""
    from .missions_panel import LocalMissions, RemoteMissions

    hub = getattr(runtime, "hub", None)
    if hub is not None and getattr(hub, "missions", None) is not None:
        from opscenter.users import User

        return LocalMissions(hub.missions, User(options.operator, options.role))
    client = getattr(runtime, "client", None)
    return RemoteMissions(client) if client is not None else None


@dataclass
class WallOptions:
    fullscreen: bool = False
    screen: int | None = None
    operator: str = "operator"
    size: tuple[int, int] = (1920, 1080)
    scale: float = 1.0
    role: str = "operator"  # the in-process window's role on the embedded hub
    hub_url: str | None = None  # join a remote hub instead of running feeds here
    layout: str | None = None
    layouts_dir: Path = Path("var/layouts")
    briefing: bool = False


class Wall:
    """The Qt side around a Runtime: bridge, window, chime. Created on a running loop."""

    def __init__(self, runtime: Runtime, options: WallOptions) -> None:
        from . import theme
        from .bridge import StoreBridge
        from .retention_view import retention_adapters
        from .window import WallWindow

        self.runtime = runtime
        # what this window's user may do: straight into the embedded hub, or over REST to a remote one
        self.ops = runtime.ops if hasattr(runtime, "ops") else (
            runtime.hub.local_ops(options.operator, options.role) if getattr(runtime, "hub", None) else None)
        app = ensure_application()
        app.setStyleSheet(theme.stylesheet(options.scale))
        self.bridge = StoreBridge(runtime.store, hz=15)
        retention, retention_save = retention_adapters(runtime, self.ops)
        self.window = WallWindow(
            runtime.store, self.bridge, runtime.districts.names, runtime.boundaries_geojson(),
            runtime.map_center,
            feeds=runtime.feed_health, quarantine=runtime.quarantine, operator=options.operator,
            tiles_url=runtime.tiles_url, acknowledge=runtime.acknowledge,
            ops=self.ops, risk_records=risk_input(runtime), missions=missions_source(runtime, options),
            retention=retention, retention_save=retention_save,
            archive_db=getattr(getattr(runtime, "config", None), "db_path", None),
            audit=getattr(runtime, "audit", None),
        )
        self.window.resize(*options.size)
        self.layouts = None
        self.briefing = None
        if options.layout:
            from .wall_modes import open_layout

            self.layouts = open_layout(self, options.layout, options.layouts_dir)  # a bad layout file: OpsCenterError, exit 2
            return
        if options.briefing:
            from .wall_modes import open_briefing

            self.briefing = open_briefing(self, options.screen)
            return
        screens = app.screens()
        if options.screen is not None and 0 <= options.screen < len(screens):
            self.window.setScreen(screens[options.screen])
            self.window.move(screens[options.screen].geometry().topLeft())
        if options.fullscreen:
            self.window.showFullScreen()
        else:
            self.window.show()

    def close(self) -> None:
        self.bridge.close()
        self.window._clock_timer.stop()  # its header may live in a layout window closed next
        if self.layouts is not None:
            self.layouts.close()
            # the live panels go home to the wall window and end with it: a parentless web view
            # left for the garbage collector is deleted at a random moment, which Qt does not survive
            for widget in self.layouts.widgets.values():
                widget.hide()
                widget.setParent(self.window)
        if self.briefing is not None:
            self.briefing.close()
            self.briefing.setParent(self.window)  # it holds the live map: it ends with the window
        self.window.layers.close()
        self.window.close()


def make_runtime(config: RuntimeConfig, options: WallOptions):
    """Feeds and the embedded hub here, or a mirror of a remote hub (`--hub URL`)."""
    if options.hub_url is None:
        return Runtime(config)
    from opscenter.hub.remote import RemoteRuntime, stored_token

    return RemoteRuntime(options.hub_url, stored_token(options.hub_url))


async def start_runtime(runtime, options: WallOptions) -> None:
    """Start; a window joining a hub without a stored token asks for one once and keeps it."""
    from opscenter.errors import OpsCenterError
    from opscenter.users import AuthError

    if options.hub_url is None:
        await runtime.start()
        return
    from opscenter.hub.remote import remember_token

    asked = False
    while True:
        if not runtime.token and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
            from .signin import ask_token

            runtime.token, asked = ask_token(options.hub_url), True
            if not runtime.token:
                raise OpsCenterError("sign-in cancelled")
        try:
            await runtime.start()
        except AuthError as exc:
            if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
                raise
            print(f"opscenter: {options.hub_url}: {exc}", file=sys.stderr)
            runtime.token = None
            continue
        if asked:
            remember_token(options.hub_url, runtime.token)
        return


def run_app(config: RuntimeConfig, options: WallOptions) -> int:
    """Block running the wall until the window closes or SIGINT/SIGTERM."""
    prepare_environment()
    import qasync

    app = ensure_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    runtime = make_runtime(config, options)
    stopped = asyncio.Event()

    async def main() -> None:
        await start_runtime(runtime, options)
        wall = Wall(runtime, options)
        app.lastWindowClosed.connect(stopped.set)
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stopped.set)
            except (NotImplementedError, RuntimeError):
                pass
        await stopped.wait()
        wall.close()
        await runtime.stop()

    from opscenter.errors import OpsCenterError

    with loop:
        try:
            loop.run_until_complete(main())
        except OpsCenterError as exc:  # a bad config or credential: say so, no traceback
            print(f"opscenter: {exc}", file=sys.stderr)
            return 2
    return 0


def take_screenshot(config: RuntimeConfig, options: WallOptions, out: Path, wait_s: float = 8.0) -> Path:
    """Run the wall for `wait_s` seconds after the map has loaded, then save the window as PNG."""
    prepare_environment()
    import qasync

    app = ensure_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    runtime = make_runtime(config, options)

    async def main() -> None:
        await start_runtime(runtime, options)
        wall = Wall(runtime, options)
        ready = asyncio.Event()
        wall.window.map_view.ready.connect(ready.set)
        if wall.window.map_view.is_ready:
            ready.set()
        await asyncio.wait_for(ready.wait(), timeout=60)
        await asyncio.sleep(wait_s)
        wall.bridge.flush()
        await asyncio.sleep(1.0)  # let the page draw the last delta
        out.parent.mkdir(parents=True, exist_ok=True)
        shown = wall.briefing or (wall.layouts.windows[0] if wall.layouts else wall.window)
        if not shown.grab().save(str(out)):
            raise RuntimeError(f"could not write {out}")
        wall.close()
        await runtime.stop()

    with loop:
        loop.run_until_complete(main())
    return out
