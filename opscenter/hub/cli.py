"""`opscenter hub`: serve the shared picture with no window, and manage its users and retention.

    opscenter hub [--port 8770] [--host 127.0.0.1] [--db FILE] [--config feeds.toml] [demo options]
    opscenter hub user add NAME --role operator|analyst|commander|admin
    opscenter hub user token NAME | revoke NAME | role NAME ROLE | list
    opscenter hub retention [show] | set KIND DAYS

User and retention changes are audited under the name of whoever ran the command.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys
from pathlib import Path
from typing import Sequence

DEFAULT_DB = Path("var/opscenter.sqlite3")


def main_hub(argv: Sequence[str]) -> int:
    argv = list(argv)
    if argv[:1] == ["user"]:
        return _users(argv[1:])
    if argv[:1] == ["retention"]:
        return _retention(argv[1:])
    if argv[:1] == ["serve"]:
        argv = argv[1:]
    return _serve(argv)


def _actor(given: str | None) -> str:
    try:
        return given or getpass.getuser() or "admin"
    except Exception:
        return "admin"


def _common(suppress: bool = False) -> argparse.ArgumentParser:
    """--db and --actor, accepted before or after the action."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=argparse.SUPPRESS if suppress else DEFAULT_DB,
                        help=f"SQLite file (default: {DEFAULT_DB})")
    common.add_argument("--actor", default=argparse.SUPPRESS if suppress else None,
                        help="name recorded on the audit trail (default: login name)")
    return common


def _open(db: Path):
    from ..audit import AuditLog
    from ..schema import connect

    db.parent.mkdir(parents=True, exist_ok=True)
    return connect(db), AuditLog(db)


def _users(argv: list[str]) -> int:
    from ..errors import OpsCenterError
    from ..users import ROLES, UserDirectory

    parser = argparse.ArgumentParser(prog="opscenter hub user", description="Users and their tokens.")
    common = _common()
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a user; prints their token once", parents=[common])
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    for name in ("token", "revoke"):
        sub.add_parser(name, parents=[common]).add_argument("name")
    role = sub.add_parser("role", parents=[common])
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    sub.add_parser("list", parents=[common])
    args = parser.parse_args(argv)
    db, audit = _open(args.db)
    users = UserDirectory(db)
    actor = _actor(args.actor)
    try:
        if args.action == "list":
            for row in users.list():
                print(f"{row['name']:20} {row['role']:10} {'disabled' if row['disabled'] else 'active':8} "
                      f"tokens {row['tokens']}")
            return 0
        if args.action == "add":
            token = users.add(args.name, args.role)
            audit.append(actor, "user.add", args.name, {"role": args.role})
        elif args.action == "token":
            token = users.issue(args.name)
            audit.append(actor, "user.token", args.name, {})
        elif args.action == "revoke":
            count = users.revoke(args.name)
            audit.append(actor, "user.revoke", args.name, {"tokens": count})
            print(f"{args.name}: disabled, {count} token(s) revoked")
            return 0
        else:
            users.set_role(args.name, args.role)
            audit.append(actor, "user.role", args.name, {"role": args.role})
            print(f"{args.name}: role {args.role}")
            return 0
    except OpsCenterError as exc:
        print(f"opscenter hub user: {exc}", file=sys.stderr)
        return 2
    finally:
        audit.close()
        db.close()
    print(f"token for {args.name} (shown once; the window keeps it in the OS keyring):")
    print(token)
    return 0


def _retention(argv: list[str]) -> int:
    import time

    from ..retention import Retention, RetentionError

    parser = argparse.ArgumentParser(prog="opscenter hub retention", description="How long records are kept.",
                                     parents=[_common()])
    sub = parser.add_subparsers(dest="action")
    sub.add_parser("show", parents=[_common(suppress=True)])
    setter = sub.add_parser("set", help="days to keep a kind (0 keeps forever)", parents=[_common(suppress=True)])
    setter.add_argument("kind")
    setter.add_argument("days", type=float)
    args = parser.parse_args(argv)
    db, audit = _open(args.db)
    keeper = Retention(db, audit)
    try:
        if args.action == "set":
            keeper.set(args.kind, args.days, _actor(args.actor))
        info = keeper.describe()
        print(f"next purge: {time.strftime('%Y-%m-%d %H:%M', time.localtime(info['next_run']))}")
        for row in info["kinds"]:
            days = "keep" if row["days"] is None else f"{row['days']:g} days"
            print(f"{row['kind']:18} {days:>10}   due now: {row['due']:>8,}   {row['what']}")
    except RetentionError as exc:
        print(f"opscenter hub retention: {exc}", file=sys.stderr)
        return 2
    finally:
        audit.close()
        db.close()
    return 0


def _serve(argv: list[str]) -> int:
    from ..cli import _add_wall_options, _config
    from ..errors import OpsCenterError
    from .service import HubConfig

    parser = argparse.ArgumentParser(prog="opscenter hub", description="Serve the shared picture to windows.")
    _add_wall_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8770)
    args = parser.parse_args(argv)
    try:
        config = _config(args)
    except OpsCenterError as exc:
        print(f"opscenter hub: {exc}", file=sys.stderr)
        return 2
    config.hub = HubConfig(host=args.host, port=args.port, port_fallback=False)
    try:
        asyncio.run(_run(config))
    except OpsCenterError as exc:
        print(f"opscenter hub: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"opscenter hub: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


async def _run(config) -> None:
    from ..runtime import Runtime

    runtime = Runtime(config)
    await runtime.start()
    assert runtime.hub is not None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"hub on {runtime.hub.url} (epoch {runtime.hub.core.log.epoch}, seq {runtime.hub.core.log.last_seq}); "
          f"windows join with: opscenter run --hub {runtime.hub.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await runtime.stop()
