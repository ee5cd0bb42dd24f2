"""Map benchmark: thousands of units each moving once a second, against the naive way.

ours   units move in the store; the bridge (15 Hz) hands the map one JSON delta per batch,
       applied to canvas markers by one `runJavaScript`; the page reports each delta drawn
       (after the next animation frame). Latency = oldest unit update in a delta → drawn.
       Main-thread busy = time in our Python handlers (moving units, building and sending
       deltas) over wall time; loop lag = lateness of a 10 ms timer.
naive  regenerate the folium map with every unit as a marker and reload the page per update;
       an update is done when the page has loaded.

Run:  .venv/bin/python bench/map_units.py [--units 10000] [--seconds 60] [--naive-updates 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ui.app import ensure_application, prepare_environment  # noqa: E402

# A real window when there is a display (Xvfb will do): an offscreen page may throttle its
# animation frames, which is not what a wall sees.
prepare_environment(offscreen=not os.environ.get("DISPLAY"))

from PySide6.QtCore import QEventLoop, QTimer, QUrl  # noqa: E402

from opscenter.city import build_demo_city  # noqa: E402
from opscenter.domain import Unit, UnitStatus  # noqa: E402
from opscenter.store import LiveStore  # noqa: E402
from ui.bridge import StoreBridge  # noqa: E402
from ui.map_view import MapView  # noqa: E402


def wait(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        wait(0.02)
    return True


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run_ours(units: int, seconds: float, screenshot: Path | None = None, hz: float = 1.0) -> dict:
    city = build_demo_city()
    rng = random.Random(5)
    store = LiveStore(unit_stale_s=3600)
    now = time.time()
    positions = [city.random_point(rng) for _ in range(units)]
    for i, (lat, lon) in enumerate(positions):
        store.apply(Unit(id=f"U{i}", version=1, reported_at=now, status=UnitStatus.AVAILABLE, lat=lat, lon=lon))
    view = MapView(store, city.to_geojson(), city.center)
    view.resize(1600, 1000)
    view.show()
    if not wait_for(lambda: view.is_ready, 60):
        raise RuntimeError("map page did not load")
    bridge = StoreBridge(store, hz=15)
    busy = [0.0]
    busy_map = [0.0]
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    drawn_units = [0]
    delta_units: dict[int, int] = {}
    oldest_pending = [None]

    def on_drawn(seq: int) -> None:
        t0 = time.perf_counter()
        start = sent_at.pop(seq, None)
        if start is not None:
            latencies.append(t0 - start)
            drawn_units[0] += delta_units.pop(seq, 0)

    view.map_page.drawn.connect(on_drawn)

    original_send = view._send

    def send(delta) -> int:
        seq = original_send(delta)
        if oldest_pending[0] is not None:
            sent_at[seq] = oldest_pending[0]
            delta_units[seq] = len(delta.get("units", {}).get("upsert", ()))
            oldest_pending[0] = None
        return seq

    view._send = send

    def on_batch(batch) -> None:
        t0 = time.perf_counter()
        view.on_batch(batch)
        spent = time.perf_counter() - t0
        busy[0] += spent
        busy_map[0] += spent

    bridge.changed.connect(on_batch)
    ticks_per_s = 20
    cursor = [0]
    version = [1]

    moved = [0]
    move_started = [0.0]

    def move() -> None:
        t0 = time.perf_counter()
        if oldest_pending[0] is None:
            oldest_pending[0] = t0
        # as many moves as are due by the clock: a late timer catches up, as a feed would
        share = int((t0 - move_started[0]) * units * hz) - moved[0]
        moved[0] += share
        stamp = time.time()
        for _ in range(share):
            i = cursor[0]
            cursor[0] = (i + 1) % units
            if i == 0:
                version[0] += 1
            lat, lon = positions[i]
            lat += rng.uniform(-0.0003, 0.0003)
            lon += rng.uniform(-0.0003, 0.0003)
            positions[i] = (lat, lon)
            store.apply(Unit(id=f"U{i}", version=version[0], reported_at=stamp,
                             status=UnitStatus.EN_ROUTE if i % 7 == 0 else UnitStatus.AVAILABLE,
                             lat=lat, lon=lon, heading=float(i % 360)))
        busy[0] += time.perf_counter() - t0

    lateness: list[float] = []
    last = [time.monotonic()]

    def tick() -> None:
        t = time.monotonic()
        lateness.append(max(0.0, t - last[0] - 0.010))
        last[0] = t

    mover = QTimer()
    mover.setInterval(1000 // ticks_per_s)
    mover.timeout.connect(move)
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)
    wait(1.0)
    latencies.clear()
    drawn_units[0] = 0
    busy[0] = 0.0
    busy_map[0] = 0.0
    move_started[0] = time.perf_counter()
    mover.start()
    probe.start()
    started = time.perf_counter()
    wait(seconds)
    mover.stop()
    elapsed = time.perf_counter() - started
    probe.stop()
    wait_for(lambda: not sent_at, 10)
    stages = [(applied - view.sent_times[seq], drawn - applied, back - drawn)
              for seq, applied, drawn, back in view.map_page.timings if seq in view.sent_times]
    if stages:
        for name, i in (("send→applied", 0), ("applied→drawn", 1), ("drawn→reported", 2)):
            print(f"  {name}: median {1000 * sorted(x[i] for x in stages)[len(stages) // 2]:.0f} ms")
    page = {}
    view.evaluate("ops.counts()", lambda r: page.update(__import__("json").loads(r)))
    wait_for(lambda: bool(page), 10)
    result = {
        "page_apply_ms": page.get("applyMs", 0) / max(1, page.get("applied", 1)),
        "page_draw_ms": page.get("drawMs", 0) / max(1, page.get("draws", 1)),
        "page_busy_pct": 100 * (page.get("applyMs", 0) + page.get("drawMs", 0)) / 1000 / elapsed,
        "unit_updates_per_s": drawn_units[0] / elapsed,
        "deltas_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * percentile(latencies, 0.5),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "busy_pct": 100 * busy[0] / elapsed,
        "busy_map_pct": 100 * busy_map[0] / elapsed,
        "lag_p99_ms": 1000 * percentile(lateness, 0.99),
        "undrawn": len(sent_at),
    }
    if screenshot is not None:
        view.grab().save(str(screenshot))
    bridge.close()
    view.close()
    view.deleteLater()
    return result


def run_naive(units: int, updates: int) -> dict:
    """Regenerate the folium map with every unit and reload the page, `updates` times."""
    import folium

    from opscenter.basemap import leaflet_files

    city = build_demo_city()
    rng = random.Random(5)
    positions = [city.random_point(rng) for _ in range(units)]
    leaflet_js, leaflet_css = leaflet_files()
    from PySide6.QtWebEngineWidgets import QWebEngineView

    view = QWebEngineView()
    view.resize(1600, 1000)
    view.show()
    loaded = [0]
    view.loadFinished.connect(lambda ok: loaded.__setitem__(0, loaded[0] + 1))
    durations, build_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(updates):
            t0 = time.perf_counter()
            fmap = folium.Map(location=list(city.center), zoom_start=12, tiles=None, prefer_canvas=True)
            fmap.default_js = [("leaflet", leaflet_js.as_uri())]
            fmap.default_css = [("leaflet_css", leaflet_css.as_uri())]
            folium.GeoJson(city.to_geojson()).add_to(fmap)
            for i, (lat, lon) in enumerate(positions):
                positions[i] = (lat + rng.uniform(-0.0003, 0.0003), lon + rng.uniform(-0.0003, 0.0003))
                folium.CircleMarker(positions[i], radius=5, tooltip=f"U{i}").add_to(fmap)
            path = Path(tmp) / f"naive{n}.html"
            fmap.save(str(path))
            built = time.perf_counter()
            before = loaded[0]
            view.load(QUrl.fromLocalFile(str(path)))
            wait_for(lambda: loaded[0] > before, 120)
            durations.append(time.perf_counter() - t0)
            build_times.append(built - t0)
    view.close()
    per_update = sum(durations) / len(durations)
    return {"seconds_per_update": per_update, "build_share": sum(build_times) / sum(durations),
            "unit_updates_per_s": units / per_update}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--naive-updates", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, help="save the map with every unit on it as PNG")
    parser.add_argument("--hz", type=float, default=1.0, help="moves per unit per second (raise it to find the ceiling)")
    args = parser.parse_args()
    ensure_application()
    ours = run_ours(args.units, args.seconds, args.screenshot, args.hz)
    naive = run_naive(args.units, args.naive_updates)
    print(f"\nmap benchmark: {args.units:,} units, each moving {args.hz:g} times per second, {args.seconds:g} s; "
          f"{os.cpu_count()} cpus, {'X display ' + os.environ['DISPLAY'] if os.environ.get('DISPLAY') else 'offscreen'}")
    print(f"{'':8} | {'unit updates/s':>14} | {'frames/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'busy %':>6} | {'loop lag p99':>12}")
    print(f"{'ours':8} | {ours['unit_updates_per_s']:>14,.0f} | {ours['deltas_per_s']:>8.1f} | {ours['p50_ms']:>7.0f} | "
          f"{ours['p99_ms']:>7.0f} | {ours['busy_pct']:>6.1f} | {ours['lag_p99_ms']:>9.1f} ms"
          f"   (of which building and sending deltas: {ours['busy_map_pct']:.1f} % of the run; the rest is the "
          f"simulated feed moving {args.units * args.hz:,.0f} unit reports/s through the store)")
    print(f"{'naive':8} | {naive['unit_updates_per_s']:>14,.0f} | {1 / naive['seconds_per_update']:>8.2f} | "
          f"{1000 * naive['seconds_per_update']:>7.0f} | {'':>7} | {'~100':>6} | (folium build {naive['build_share']:.0%} of each update)")
    print(f"page: {ours['page_apply_ms']:.1f} ms per delta applied, {ours['page_draw_ms']:.1f} ms per frame drawn, "
          f"JS busy {ours['page_busy_pct']:.0f} % of the run")
    print(f"ratio ours/naive (unit updates drawn per second): {ours['unit_updates_per_s'] / naive['unit_updates_per_s']:.0f}x; "
          f"undrawn deltas at the end: {ours['undrawn']}")


if __name__ == "__main__":
    main()
