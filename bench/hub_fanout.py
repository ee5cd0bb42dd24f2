"""Hub fan-out benchmark: one upstream at 1,000 events/s to 10, 50 and 100 WebSocket clients.

The question is what the hub costs on top of the wire: every event goes through the LiveStore,
is committed to SQLite with its state (WAL, synchronous=NORMAL, one transaction per 50 ms
commit) and is then sent, serialised once, to every client. Two servers get the same load:

  hub   HubCore + the hub's aiohttp app (`/ws`), driven directly: synthetic unit reports are
        applied to the store on a 5 ms timer, `core.commit()` runs every 50 ms as in HubService;
  raw   a bare aiohttp WebSocket server that builds the same JSON events, batches them every
        50 ms and sends each batch text to every client (per-client queue and sender, as the hub).

Both servers run in this process (one core); the clients run in a second process (the other
core): N aiohttp WebSocket connections on loopback that parse every message as JSON (what a
window does before applying it). Each unit report carries its production time (`reported_at`),
so latency is measured two ways:

  commit→recv  from the end of the commit (raw: the start of sending the batch) to receipt;
  made→recv    from the record's creation to receipt (adds the wait for the next 50 ms commit).

Run:  .venv/bin/python bench/hub_fanout.py [--seconds 10] [--clients 10,50,100] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import WSMsgType, web  # noqa: E402

from opscenter.domain import Unit, UnitStatus  # noqa: E402
from opscenter.envelope import record_to_dict  # noqa: E402

UNITS = 500
COMMIT_S = 0.05
IDLE_S = 1.5  # a client stops after this long with no message once the stream has ended


def make_unit(i: int, now: float) -> Unit:
    return Unit(id=f"U{i % UNITS}", version=i // UNITS + 1, reported_at=now, status=UnitStatus.AVAILABLE,
                lat=39.2 + (i % 97) * 0.001, lon=-76.6 - (i % 89) * 0.001, district="Central", heading=90.0)


class Producer:
    """`rate` records a second on a 5 ms timer, caught up from the start time (no drift)."""

    def __init__(self, rate: int, seconds: float, emit) -> None:
        self.rate, self.seconds, self.emit = rate, seconds, emit
        self.made = 0
        self.started = 0.0

    async def run(self) -> None:
        self.started = time.time()
        while (elapsed := time.time() - self.started) < self.seconds:
            due = int(elapsed * self.rate)
            now = time.time()
            while self.made < due:
                self.emit(make_unit(self.made, now))
                self.made += 1
            await asyncio.sleep(0.005)


# -- the two servers --------------------------------------------------------------------------
class HubServer:
    def __init__(self) -> None:
        from opscenter.hub.core import HubCore
        from opscenter.hub.server import build_app
        from opscenter.persistence import SqliteJournal
        from opscenter.store import LiveStore
        from opscenter.users import UserDirectory

        self._tmp = tempfile.TemporaryDirectory()
        self.store = LiveStore(retention_s=3600.0, unit_stale_s=3600.0)
        self.journal = SqliteJournal(Path(self._tmp.name) / "hub.sqlite3")
        self.journal.attach(self.store)
        self.core = HubCore(self.store, self.journal, None)
        self.token = UserDirectory(self.core.db).add("bench", "commander")
        self.app = build_app(self.core, UserDirectory(self.core.db))
        self.commits: dict[int, float] = {}  # first seq of a batch -> end of its commit
        self._loop: asyncio.Task | None = None

    def connected(self) -> int:
        return len(self.core._subscribers)

    def emit(self, record: Unit) -> None:
        self.store.apply(record)

    def start_commits(self) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(COMMIT_S)
                self.commit()
        self._loop = asyncio.create_task(loop())

    def commit(self) -> None:
        first = self.core.log.last_seq + 1
        if self.core.commit():
            self.commits[first] = time.time()

    async def close(self) -> None:
        if self._loop:
            self._loop.cancel()
        self.core.close()
        self.journal.close()
        self._tmp.cleanup()


class RawServer:
    """No store, no SQLite, no roles: the same JSON on the same sockets."""

    def __init__(self) -> None:
        self.token = "none"
        self.queues: set[asyncio.Queue] = set()
        self.pending: list[str] = []
        self.seq = 0
        self.commits: dict[int, float] = {}
        self._loop: asyncio.Task | None = None
        self.app = web.Application()
        self.app.router.add_get("/ws", self.ws)

    def connected(self) -> int:
        return len(self.queues)

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10.0)
        await ws.prepare(request)
        queue: asyncio.Queue = asyncio.Queue(2000)
        self.queues.add(queue)
        await ws.send_str(json.dumps({"t": "hello", "seq": self.seq, "mode": "snapshot"}))
        await ws.send_str(json.dumps({"t": "snapshot", "seq": self.seq, "records": []}))
        reader = asyncio.create_task(self._drain(ws))  # as the hub: notice a client that left
        try:
            while not ws.closed:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                await ws.send_str(getter.result())
        except (ConnectionResetError, RuntimeError):
            pass
        finally:
            self.queues.discard(queue)
            reader.cancel()
        return ws

    @staticmethod
    async def _drain(ws: web.WebSocketResponse) -> None:
        async for msg in ws:
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break

    def emit(self, record: Unit) -> None:
        self.seq += 1
        event = {"t": "record", "kind": "unit", "id": record.id, "rec": record_to_dict(record), "src": "bench"}
        self.pending.append(json.dumps({"seq": self.seq, **event}, separators=(",", ":"), ensure_ascii=False))

    def start_commits(self) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(COMMIT_S)
                self.commit()
        self._loop = asyncio.create_task(loop())

    def commit(self) -> None:
        if not self.pending:
            return
        first = self.seq - len(self.pending) + 1
        text = '{"t":"batch","events":[' + ",".join(self.pending) + "]}"
        self.pending = []
        self.commits[first] = time.time()
        for queue in self.queues:
            queue.put_nowait(text)

    async def close(self) -> None:
        if self._loop:
            self._loop.cancel()


async def run_case(mode: str, clients: int, rate: int, seconds: float) -> dict[str, Any]:
    server = HubServer() if mode == "hub" else RawServer()
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", f"ws://127.0.0.1:{port}/ws?since=0", "--n", str(clients),
        "--token", server.token, stdout=asyncio.subprocess.PIPE)
    deadline = time.time() + 30
    while server.connected() < clients:
        if time.time() > deadline:
            raise RuntimeError(f"only {server.connected()} of {clients} clients connected")
        await asyncio.sleep(0.02)
    server.start_commits()
    producer = Producer(rate, seconds, server.emit)
    cpu0, wall0 = time.process_time(), time.time()
    await producer.run()
    await asyncio.sleep(COMMIT_S * 2)
    server.commit()
    cpu = time.process_time() - cpu0
    wall = time.time() - wall0
    out, _ = await proc.communicate()
    dropped = server.core.stats.slow_clients_dropped if mode == "hub" else 0
    await server.close()
    await runner.cleanup()
    report = json.loads(out)
    commit_lat = []
    for client in report["clients"]:
        for first, received in client["batches"]:
            sent = server.commits.get(first)
            if sent is not None:
                commit_lat.append(received - sent)
    per_client = [c["events"] / max(1e-9, c["last"] - producer.started) for c in report["clients"] if c["events"]]
    complete = sum(1 for c in report["clients"] if c["events"] == producer.made)
    ends = sorted({c["end"] for c in report["clients"] if c["events"] != producer.made})
    return {"mode": mode, "clients": clients, "made": producer.made, "offered": producer.made / seconds,
            "per_client": statistics.mean(per_client) if per_client else 0.0,
            "total": sum(c["events"] for c in report["clients"]) / max(1e-9, max(c["last"] for c in report["clients"])
                                                                      - producer.started),
            "complete": complete, "dropped": dropped, "ends": ends,
            "commit_p50": _pct(commit_lat, 50), "commit_p99": _pct(commit_lat, 99),
            "made_p50": _pct(report["made_lat"], 50), "made_p99": _pct(report["made_lat"], 99),
            "server_cpu": cpu / wall, "client_cpu": report["cpu"] / wall}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000.0


# -- the client process ------------------------------------------------------------------------
async def clients_main(url: str, n: int, token: str) -> None:
    import aiohttp

    made_lat: list[float] = []
    results: list[dict[str, Any]] = []

    async def one(session: aiohttp.ClientSession, index: int) -> None:
        state = {"events": 0, "last": 0.0, "batches": [], "end": "idle"}
        results.append(state)
        async with session.ws_connect(url, headers={"Authorization": f"Bearer {token}"}, max_msg_size=0) as ws:
            streaming = False
            while True:
                try:
                    msg = await ws.receive(timeout=IDLE_S if streaming else 60)
                except TimeoutError:
                    break
                if msg.type is not WSMsgType.TEXT:
                    state["end"] = f"{msg.type.name} {ws.close_code}"
                    break
                received = time.time()
                data = json.loads(msg.data)
                if data.get("t") != "batch":
                    continue
                streaming = True
                events = data["events"]
                state["events"] += len(events)
                state["last"] = received
                state["batches"].append((events[0]["seq"], received))
                if index % 5 == 0:
                    made_lat.extend(received - e["rec"]["reported_at"] for e in events[::10])

    cpu0 = time.process_time()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, i) for i in range(n)))
    json.dump({"clients": results, "made_lat": made_lat, "cpu": time.process_time() - cpu0}, sys.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="10,50,100")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(clients_main(args.client, args.n, args.token))
        return

    rows = []
    for n in (int(x) for x in args.clients.split(",")):
        for mode in ("raw", "hub"):
            row = asyncio.run(run_case(mode, n, args.rate, args.seconds))
            rows.append(row)
            print(f"  {mode:3} x{n:<3} done: {row['per_client']:.0f} ev/s per client", file=sys.stderr, flush=True)

    print(f"\nhub fan-out: {args.rate} events/s upstream for {args.seconds:g} s, 50 ms commits; server in this "
          f"process, clients in a second process (2 cores: one each)\n")
    head = (f"{'clients':>7} | {'server':>6} | {'per client ev/s':>15} | {'total ev/s':>10} | {'hub/raw':>7} | "
            f"{'complete':>8} | {'commit→recv p50/p99 ms':>22} | {'made→recv p50/p99 ms':>20} | "
            f"{'srv CPU':>7} | {'cli CPU':>7}")
    print(head)
    print("-" * len(head))
    raw_of = {r["clients"]: r for r in rows if r["mode"] == "raw"}
    for r in rows:
        ratio = r["total"] / raw_of[r["clients"]]["total"] if r["mode"] == "hub" else 1.0
        print(f"{r['clients']:>7} | {r['mode']:>6} | {r['per_client']:>15.0f} | {r['total']:>10.0f} | {ratio:>7.2f} | "
              f"{r['complete']:>4}/{r['clients']:<3} | {r['commit_p50']:>10.1f} / {r['commit_p99']:>9.1f} | "
              f"{r['made_p50']:>9.1f} / {r['made_p99']:>8.1f} | {r['server_cpu']:>6.0%} | {r['client_cpu']:>6.0%}")
    print("\ncomplete: clients that received every event made; dropped (slow, closed 1013): "
          + ", ".join(f"{r['clients']}: {r['dropped']}" for r in rows if r["mode"] == "hub"))
    for r in rows:
        if r["ends"]:
            print(f"  {r['mode']} x{r['clients']}: incomplete clients ended by {', '.join(r['ends'])}")


if __name__ == "__main__":
    main()
