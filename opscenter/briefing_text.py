"""`opscenter brief`: the commanders' figures for a period, as a text table and as CSV.

The first, plain form of the briefing (the PDF and the wall's briefing mode build on the same
`compstat.Figures`): counts per district against the same period a year earlier, 911 response
to detections, and alert outcomes, from the archive.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Sequence, TextIO
from zoneinfo import ZoneInfo

from .compstat import PERIODS, Figures, figures_from_archive
from .persistence import Archive


def _day(value: float, zone: str) -> str:
    return datetime.fromtimestamp(value, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def table_rows(figures: Figures) -> tuple[list[str], list[list[str]]]:
    """Header and rows: per area, each metric as "now (a year earlier, change)"."""
    metrics: list[str] = []
    for row in figures.table:
        for name in row.figures:
            if name not in metrics:
                metrics.append(name)
    header = ["area"] + [f"{m} now" for m in metrics] + [f"{m} a year earlier" for m in metrics] \
        + [f"{m} change" for m in metrics]
    rows = []
    for row in figures.table:
        changes = [row.figures.get(m) for m in metrics]
        rows.append([row.area]
                    + [str(c.current) if c else "0" for c in changes]
                    + [str(c.earlier) if c else "0" for c in changes]
                    + [c.label if c else "0%" for c in changes])
    return header, rows


def write_csv(figures: Figures, out: TextIO) -> None:
    header, rows = table_rows(figures)
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)


def render_text(figures: Figures, zone: str) -> str:
    """A fixed-width page a commander can read aloud from."""
    out = io.StringIO()
    start, end = figures.bounds
    before = figures.earlier
    out.write(f"Briefing — {figures.period}: {_day(start, zone)} to {_day(end, zone)} "
              f"(a year earlier: {_day(before[0], zone)} to {_day(before[1], zone)})\n\n")
    metrics = []
    for row in figures.table:
        metrics += [m for m in row.figures if m not in metrics]
    width = max([len(r.area) for r in figures.table] + [8])
    out.write(f"{'':{width}}  " + "  ".join(f"{m[:22]:>22}" for m in metrics) + "\n")
    for row in figures.table:
        cells = []
        for m in metrics:
            c = row.figures.get(m)
            cells.append(f"{(f'{c.current} vs {c.earlier} ({c.label})' if c else '0'):>22}")
        out.write(f"{row.area:{width}}  " + "  ".join(cells) + "\n")
    if figures.response:
        out.write("\nDetection to first 911 call (minutes)\n")
        for t in figures.response:
            median = "—" if t.median is None else f"{t.median / 60:.1f}"
            p90 = "—" if t.p90 is None else f"{t.p90 / 60:.1f}"
            share = "—" if t.without_end_share is None else f"{100 * t.without_end_share:.0f}%"
            out.write(f"  {t.area:{width}}  median {median:>6}  p90 {p90:>6}  no 911 call: {share}\n")
    return out.getvalue()


def main_brief(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opscenter brief", description="The commanders' figures for a period.")
    parser.add_argument("--period", choices=PERIODS, default="28d")
    parser.add_argument("--at", metavar="YYYY-MM-DD", help="brief as of this day's end (default: now)")
    parser.add_argument("--by", choices=("district", "post"), default="district")
    parser.add_argument("--zone", default="America/New_York")
    parser.add_argument("--db", type=Path, default=Path("var/opscenter.sqlite3"))
    parser.add_argument("--csv", type=Path, metavar="OUT.csv", help="also write the table as CSV")
    args = parser.parse_args(argv)
    if not args.db.exists():
        print(f"no database at {args.db}: import history first (opscenter import FILE)", file=sys.stderr)
        return 2
    now = time.time()
    if args.at:
        day = datetime.strptime(args.at, "%Y-%m-%d").replace(hour=23, minute=59, second=59,
                                                             tzinfo=ZoneInfo(args.zone))
        now = day.timestamp()
    archive = Archive(args.db)
    try:
        figures = figures_from_archive(archive, args.period, now, args.zone, by=args.by)
    finally:
        archive.close()
    print(render_text(figures, args.zone))
    if args.csv:
        with args.csv.open("w", newline="", encoding="utf-8") as out:
            write_csv(figures, out)
        print(f"table written to {args.csv}")
    return 0
