"""Ingest benchmark: a feed at 100, 1,000 and 5,000 events/s, measured side by side.

For each rate, a feed server in its own process (as a remote feed would be) streams a mix of
unit positions, calls and shot alerts for a fixed time. Two clients read the same stream:

  raw   aiohttp reading the SSE bytes and splitting frames: the transport ceiling;
  full  the wall's own path: SseFeedClient → LiveStore → StoreBridge (15 Hz) → Qt table
        models, on a qasync loop with Qt offscreen (with `--hub`: plus the embedded hub,
        which journals every change and numbers it into its SQLite event log every 50 ms). Latency is the server's `sent_at` to
        the moment the models have taken the batch holding the event. The loop's
        responsiveness is a 10 ms timer's worst lateness.

Run:  .venv/bin/python bench/ingest.py [--seconds 6] [--rates 100,1000,5000,20000] [--hub]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opscenter.domain import (  # noqa: E402
    AlertType, CallForService, Priority, ShotAlert, Unit, UnitStatus,
)
from opscenter.sse import SseParser  # noqa: E402

UNITS = 1000


def make_payload(i: int, now: float, rng: random.Random):
    """90% unit reports, 8% calls, 2% shot alerts: an AVL-heavy room."""
    lat, lon = 39.20 + rng.random() * 0.17, -76.71 + rng.random() * 0.18
    roll = i % 50
    if roll == 0:
        return ShotAlert(id=f"B-S-{i}", version=1, detected_at=now, lat=lat, lon=lon,
                         alert_type=AlertType.SINGLE, rounds=1 + i % 7, address="1 Bench St",
                         district="Central", post="111")
    if roll < 5:
        return CallForService(id=f"B-C-{i}", version=1, received_at=now, priority=Priority.MEDIUM,
                              category="DISORDERLY", description="", lat=lat, lon=lon, district="Central")
    return Unit(id=f"U{i % UNITS}", version=i + 1, reported_at=now, status=UnitStatus.AVAILABLE,
                lat=lat, lon=lon, district="Central")


async def serve(port: int, rate: int, seconds: float) -> None:
    from opscenter.demo_feed import DemoFeedServer

    server = DemoFeedServer(heartbeat_s=1.0, max_log=2_000_000)
    actual = await server.start("127.0.0.1", port)
    print(actual, flush=True)
    await asyncio.sleep(0.5)  # let the client connect
    rng = random.Random(7)
    sys.stdin.readline()  # the bench says "go" once its client is connected
    start = time.time()
    sent = 0
    while time.time() - start < seconds:
        due = int((time.time() - start) * rate)
        now = time.time()
        while sent < due:
            server.publish(make_payload(sent, now, rng))
            sent += 1
        await asyncio.sleep(0.005)
    print(sent, flush=True)
    await asyncio.sleep(3.0)
    await server.stop()


class Feed:
    """The server process for one run."""

    def __init__(self, rate: int, seconds: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "serve", "--rate", str(rate), "--seconds", str(seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/events"

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def sent(self) -> int:
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


async def raw_client(rate: int, seconds: float) -> dict:
    import aiohttp

    feed = Feed(rate, seconds)
    parser = SseParser()
    count, first, last = 0, None, None
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(feed.url, timeout=aiohttp.ClientTimeout(total=None)) as resp:
                feed.go()
                deadline = time.monotonic() + seconds + 2.5
                while time.monotonic() < deadline:
                    try:
                        chunk = await asyncio.wait_for(resp.content.read(65536), 0.5)
                    except asyncio.TimeoutError:
                        continue
                    if not chunk:
                        break
                    for item in parser.feed(chunk):
                        if hasattr(item, "data"):
                            count += 1
                            now = time.monotonic()
                            first = first or now
                            last = now
    finally:
        sent = feed.sent()
        feed.close()
    span = (last - first) if first and last and last > first else seconds
    return {"sent": sent, "received": count, "rate": count / max(span, seconds * 0.5)}


def full_client(rate: int, seconds: float, hub: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui.app import ensure_application, prepare_environment

    prepare_environment(offscreen=True)
    import qasync
    from PySide6.QtCore import QTimer

    from opscenter.feed_client import SseFeedClient
    from opscenter.store import LiveStore
    from ui.alert_queue import AlertQueueModel
    from ui.bridge import StoreBridge
    from ui.deployment import DeploymentModel

    app = ensure_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    store = LiveStore(retention_s=3600)
    core = None
    if hub:
        import tempfile

        from opscenter.hub.core import HubCore
        from opscenter.persistence import SqliteJournal

        journal = SqliteJournal(Path(tempfile.mkdtemp()) / "bench.sqlite3")
        journal.attach(store)
        core = HubCore(store, journal, None)
        commits = QTimer()
        commits.setInterval(50)
        commits.timeout.connect(core.commit)
        commits.start()
    bridge = StoreBridge(store, hz=15)
    queue = AlertQueueModel(store)
    deployment = DeploymentModel(store, ["Central"])
    pending: list[float] = []
    latencies: list[float] = []
    received = [0]
    first_last = [None, None]

    def on_event(event) -> None:
        store.apply(event.payload)
        pending.append(event.sent_at)
        received[0] += 1

    def on_batch(batch) -> None:
        queue.on_batch(batch)
        deployment.on_batch(batch)
        now = time.time()
        latencies.extend(now - t for t in pending)
        pending.clear()
        first_last[0] = first_last[0] or time.monotonic()
        first_last[1] = time.monotonic()

    bridge.changed.connect(on_batch)
    lateness: list[float] = []
    tick = QTimer()
    tick.setInterval(10)
    last_tick = [time.monotonic()]

    def on_tick() -> None:
        now = time.monotonic()
        lateness.append(max(0.0, now - last_tick[0] - 0.010))
        last_tick[0] = now

    tick.timeout.connect(on_tick)

    async def main() -> dict:
        feed = Feed(rate, seconds)
        client = SseFeedClient("bench", feed.url, on_event)
        task = asyncio.ensure_future(client.run())
        await asyncio.sleep(0.5)
        feed.go()
        last_tick[0] = time.monotonic()
        tick.start()
        await asyncio.sleep(seconds + 2.5)
        tick.stop()
        sent = feed.sent()
        await client.stop()
        await task
        feed.close()
        return {"sent": sent}

    with loop:
        result = loop.run_until_complete(main())
    span = (first_last[1] - first_last[0]) if first_last[0] else seconds
    lat = sorted(latencies) or [float("nan")]
    result.update(
        received=received[0],
        rate=received[0] / max(span, seconds * 0.5),
        p50_ms=1000 * lat[len(lat) // 2],
        p99_ms=1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        lag_p99_ms=1000 * sorted(lateness)[int(len(lateness) * 0.99)] if lateness else float("nan"),
        lag_max_ms=1000 * max(lateness) if lateness else float("nan"),
        batches=bridge.batches,
        logged=core.log.last_seq if core is not None else 0,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve", "full"])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--rates", default="100,1000,5000,20000")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--hub", action="store_true", help="the full path with the embedded hub's log")
    args = parser.parse_args()
    if args.mode == "serve":
        asyncio.run(serve(0, args.rate, args.seconds))
        return
    if args.mode == "full":
        print(json.dumps(full_client(args.rate, args.seconds, args.hub)))
        return
    rows = []
    for rate in [int(r) for r in args.rates.split(",")]:
        raw = asyncio.run(raw_client(rate, args.seconds))
        # the full path in a fresh process: one QApplication and one loop per measurement
        out = subprocess.run([sys.executable, __file__, "full", "--rate", str(rate), "--seconds", str(args.seconds)]
                             + (["--hub"] if args.hub else []),
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
        full = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append((rate, raw, full))
    print(f"\ningest benchmark: {args.seconds:g} s per rate, mix 90% units / 8% calls / 2% shots, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    print(f"{'target/s':>9} | {'raw recv/s':>10} | {'full/s':>8} | {'full/raw':>8} | {'lost':>5} | "
          f"{'p50 ms':>7} | {'p99 ms':>7} | {'loop lag p99':>12} | {'lag max':>8} | batches")
    for rate, raw, full in rows:
        lost = full["sent"] - full["received"]
        print(f"{rate:>9} | {raw['rate']:>10.0f} | {full['rate']:>8.0f} | {full['rate'] / raw['rate']:>8.2f} | "
              f"{lost:>5} | {full['p50_ms']:>7.1f} | {full['p99_ms']:>7.1f} | {full['lag_p99_ms']:>10.1f} ms | "
              f"{full['lag_max_ms']:>5.0f} ms | {full['batches']}")


if __name__ == "__main__":
    main()
