"""`opscenter` command line: run the wall, serve the demo feed, take a screenshot.

The desktop parts are imported only by the subcommands that need them, so `opscenter demo-feed`
runs on a headless server with no Qt loaded at all.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Sequence

from .runtime import RuntimeConfig

SCENARIOS = ("normal", "flood")


def _add_feed_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", choices=SCENARIOS, default="normal",
                        help="demo scenario (flood: New Year's Eve-like celebratory gunfire)")
    parser.add_argument("--seed", type=int, default=1, help="demo random seed (same seed, same events)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")


def _add_wall_options(parser: argparse.ArgumentParser) -> None:
    _add_feed_options(parser)
    parser.add_argument("--feed", metavar="URL", help="subscribe to this SSE feed instead of the in-process demo")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="feeds from a TOML file (docs/examples/feeds.toml) instead of the demo")
    parser.add_argument("--with-demo", action="store_true", help="run the embedded demo beside --config feeds")
    parser.add_argument("--db", type=Path, default=Path("var/opscenter.sqlite3"), help="SQLite file (default: %(default)s)")
    parser.add_argument("--no-db", action="store_true", help="keep nothing on disk")
    parser.add_argument("--operator", default="operator", help="name recorded on acknowledgements")
    parser.add_argument("--role", choices=("operator", "analyst", "commander", "admin"), default="operator",
                        help="this window's role on the embedded hub (default: %(default)s)")
    parser.add_argument("--hub", metavar="URL", help="join a running hub (opscenter hub, or another window's "
                        "embedded one) instead of running feeds here")
    parser.add_argument("--hub-port", type=int, default=8770,
                        help="where the embedded hub listens for other windows (default: %(default)s; 0: any)")
    parser.add_argument("--hub-host", default="127.0.0.1",
                        help="embedded hub address (default: loopback; 0.0.0.0 lets other machines join)")
    parser.add_argument("--scale", type=float, default=1.0, help="type size factor for distant seats")
    parser.add_argument("--districts", type=Path, metavar="FILE",
                        help="district boundaries (GeoJSON or shapefile); default: the demo city's")
    parser.add_argument("--posts", type=Path, metavar="FILE", help="post boundaries (GeoJSON or shapefile)")
    tiles = parser.add_mutually_exclusive_group()
    tiles.add_argument("--tiles", type=Path, metavar="FILE.mbtiles", help="base map tiles from a local MBTiles file")
    tiles.add_argument("--tiles-url", metavar="URL", help="base map tiles from the center's XYZ server, e.g. "
                       "https://tiles.city.local/{z}/{x}/{y}.png (default: no tiles, a vector view)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opscenter", description="Live operations wall for a decision support center.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="the wall on the embedded demo feed (default)")
    _add_wall_options(run)
    run.add_argument("--fullscreen", "--kiosk", action="store_true", help="full screen, no window frame")
    run.add_argument("--screen", type=int, metavar="N", help="open on screen N (0-based)")
    run.add_argument("--layout", metavar="NAME", help="open a saved wall layout (var/layouts/NAME.json; "
                     "built in: wall, two-screen); Ctrl+Shift+S saves the current one")
    run.add_argument("--briefing", action="store_true", help="full-screen briefing mode: rotating views")

    feed = sub.add_parser("demo-feed", help="serve the demo simulator as an SSE feed")
    _add_feed_options(feed)
    feed.add_argument("--host", default="127.0.0.1")
    feed.add_argument("--port", type=int, default=8765)
    feed.add_argument("--start", type=float, metavar="EPOCH",
                      help="simulated start time; the same seed and start replay the same events")

    imp = sub.add_parser("import", help="load files of any known format into the archive")
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE")
    imp.add_argument("--format", help="the format (detected when omitted)")
    imp.add_argument("--db", type=Path, default=Path("var/opscenter.sqlite3"), help="SQLite file (default: %(default)s)")

    replay = sub.add_parser("replay", help="serve a file as a live feed in event-time order")
    replay.add_argument("file", type=Path, metavar="FILE")
    replay.add_argument("--format", help="the format (detected when omitted)")
    replay.add_argument("--speed", type=float, default=60.0, help="event seconds per real second (default 60)")
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", type=int, default=8766)
    replay.add_argument("--original-times", action="store_true",
                        help="keep the file's times (default: shift them so the replay starts now, as live)")

    sub.add_parser("formats", help="list the formats import and feeds understand")

    brief = sub.add_parser("brief", help="the commanders' figures for a period (text, CSV) from the archive")
    brief.add_argument("rest", nargs=argparse.REMAINDER,
                       help="--period 24h|7d|28d|month|ytd [--at YYYY-MM-DD] [--by district|post] [--csv OUT.csv]")

    audit = sub.add_parser("audit", help="verify or export the tamper-evident audit trail")
    audit.add_argument("rest", nargs=argparse.REMAINDER, help="verify [--db PATH] | export --format csv|json --out FILE")

    forecast = sub.add_parser("forecast", help="risk forecasts: backtest the methods on a detections file")
    forecast.add_argument("action", choices=["backtest"])
    forecast.add_argument("rest", nargs=argparse.REMAINDER,
                          help="FILE --method M|a,b|all --from YYYY-MM-DD --to YYYY-MM-DD [--cell 150] [--offsets 1]")

    hub = sub.add_parser("hub", help="serve the shared picture to windows; manage users and retention")
    hub.add_argument("rest", nargs=argparse.REMAINDER, help="[serve options] | user add NAME --role R | retention")

    shot = sub.add_parser("screenshot", help="run the wall briefly and save it as PNG")
    shot.add_argument("out", type=Path, metavar="OUT.png")
    _add_wall_options(shot)
    shot.add_argument("--wait", type=float, default=8.0, help="seconds of live data before the picture")
    shot.add_argument("--size", default="1920x1080", help="window size WxH")
    shot.add_argument("--layout", metavar="NAME", help="picture a saved layout's first window")
    shot.add_argument("--briefing", action="store_true", help="picture the briefing rotation")
    return parser


def _config(args: argparse.Namespace) -> RuntimeConfig:
    feeds, endpoints, briefing = None, None, None
    if args.config is not None:
        from .briefing_config import parse_briefing_config
        from .feed_config import parse_feed_config
        from .map_config import load_map_config
        from .outbound_config import parse_endpoint_config, read_config

        # ConfigError names the file, the feed or endpoint, and the key
        data, origin = read_config(args.config), str(args.config)
        # a file with no [[feed]] (only a map, endpoints or a briefing) keeps the embedded demo
        feeds = parse_feed_config(data, origin, args.config.parent) or None
        endpoints = parse_endpoint_config(data, origin) or None
        briefing = parse_briefing_config(data, origin)
        chosen = load_map_config(args.config)
        # the command line wins over the file
        args.districts = args.districts or chosen.districts
        args.posts = args.posts or chosen.posts
        if not (args.tiles or args.tiles_url):
            args.tiles, args.tiles_url = chosen.tiles, chosen.tiles_url
    from .hub.service import HubConfig

    hub = None if getattr(args, "hub", None) else HubConfig(
        host=getattr(args, "hub_host", "127.0.0.1"),
        port=None if getattr(args, "command", None) == "screenshot" else getattr(args, "hub_port", 8770))
    return RuntimeConfig(
        feeds=feeds, with_demo=args.with_demo, hub=hub, endpoints=endpoints, briefing=briefing,
        scenario=args.scenario, seed=args.seed, speed=args.speed, feed_url=args.feed,
        db_path=None if args.no_db else args.db, districts_path=args.districts, posts_path=args.posts,
        tiles_path=args.tiles, tiles_url=args.tiles_url,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    # Subcommands with parsers of their own get their arguments untouched.
    if argv[0] == "brief":
        from .briefing_text import main_brief

        return main_brief(argv[1:])
    if argv[0] == "audit":
        from .audit import main_audit

        return main_audit(argv[1:])
    if argv[0] == "hub":
        from .hub.cli import main_hub

        return main_hub(argv[1:])
    if argv[0] == "forecast" and argv[1:2] == ["backtest"]:
        from .forecast.backtest import main_backtest

        return main_backtest(argv[2:])
    args = build_parser().parse_args(argv)
    if args.command == "demo-feed":
        from .demo_feed import run_demo_feed

        try:
            asyncio.run(run_demo_feed(args.host, args.port, args.scenario, args.seed, args.speed, args.start))
        except KeyboardInterrupt:
            pass
        return 0
    if args.command == "import":
        return _import(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "brief":
        from .briefing_text import main_brief

        return main_brief(args.rest)
    if args.command == "audit":
        from .audit import main_audit

        return main_audit(args.rest)
    if args.command == "forecast":
        from .forecast.backtest import main_backtest

        return main_backtest(args.rest)
    if args.command == "formats":
        from .formats.registry import FORMATS, parser_class

        for name in FORMATS:
            print(f"{name:22} {parser_class(name).description}")
        return 0
    from ui.app import WallOptions, run_app, take_screenshot

    from .errors import OpsCenterError

    try:
        config = _config(args)
    except OpsCenterError as exc:
        print(f"opscenter: {exc}", file=sys.stderr)
        return 2

    if args.command == "screenshot":
        width, _, height = args.size.partition("x")
        options = WallOptions(operator=args.operator, size=(int(width), int(height)), scale=args.scale,
                              role=args.role, hub_url=args.hub, layout=args.layout, briefing=args.briefing)
        out = take_screenshot(config, options, args.out, wait_s=args.wait)
        print(f"saved {out}")
        return 0
    options = WallOptions(fullscreen=args.fullscreen, screen=args.screen, operator=args.operator, scale=args.scale,
                          role=args.role, hub_url=args.hub, layout=args.layout, briefing=args.briefing)
    return run_app(config, options)


def _import(args: argparse.Namespace) -> int:
    from .errors import ParseError
    from .importer import TextProgress, import_file
    from .persistence import Archive

    archive = Archive(args.db)
    status = 0
    try:
        for path in args.files:
            progress = TextProgress(path.name)
            try:
                summary = import_file(path, archive, args.format, progress=progress)
            except (ParseError, OSError) as exc:
                progress.close()
                print(f"{path}: not imported: {exc}", file=sys.stderr)
                status = 1
                continue
            progress.close()
            print("\n".join(summary.lines()))
    finally:
        archive.close()
    return status


def _replay(args: argparse.Namespace) -> int:
    from .errors import ParseError
    from .replay_feed import run_replay_feed

    def ready(port: int, count: int, rejected: int, name: str) -> None:
        print(f"replaying {args.file} ({name}): {count:,} records, {rejected:,} rejected, at {args.speed:g}x "
              f"on http://{args.host}:{port}/events — connect with: opscenter run --feed "
              f"http://{args.host}:{port}/events", flush=True)

    try:
        asyncio.run(run_replay_feed(args.file, args.format, args.speed, args.host, args.port, ready,
                                        as_live=not args.original_times))
    except ParseError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
