"""The briefing as a PDF, made without a screen.

One HTML document (QTextDocument) printed to a QPdfWriter: Qt paginates long tables itself,
and the charts go in as images painted offscreen. Every string placed into the HTML is
escaped: area names and call categories come from imported files. No web engine is started,
so a briefing can be made on a server from a cron job.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Iterable, Sequence

from PySide6.QtCore import QEvent, QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QFont, QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QApplication

from opscenter.briefing_text import Briefing, RiskReadout, _day, outcome_rows
from opscenter.compstat import CITY, DISPOSITIONS, OPEN, Change, Timing
from opscenter.response_times import ACKNOWLEDGED, FIRST_CALL, SHOWN

from .charts import PAPER, distribution_chart, hourly_chart, render_image, scaled, weekly_chart, yoy_chart

PRINT = scaled(PAPER, 2.0)
CHART_PX = (1800, 940)
PAGE_PX = (816, 1056)  # US Letter at the document's 96 units per inch
MARGIN_PX = 66
CHART_WIDTH = PAGE_PX[0] - 2 * MARGIN_PX - 8
CORE_METRICS = ("shootings", "homicides", "detections")
CSS = """
body { color: #2b2f34; }
h1 { font-size: 24pt; font-weight: 600; margin-bottom: 2pt; }
h2 { font-size: 16pt; font-weight: 600; margin-top: 14pt; margin-bottom: 6pt; }
p { font-size: 11pt; margin-top: 3pt; margin-bottom: 3pt; }
p.headline { font-size: 12.5pt; margin-top: 5pt; margin-bottom: 5pt; }
.dim { color: #5f656d; }
.warn { color: #c46a00; font-weight: 600; }
table { border-color: #c4c8cd; font-size: 9.5pt; }
th { background-color: #eef0f2; color: #2b2f34; font-weight: 600; }
td.num, th.num { text-align: right; }
"""


def _ensure_app() -> QApplication:
    return QApplication.instance() or QApplication(["opscenter-brief"])  # type: ignore[return-value]


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1,
           bold_city: bool = True) -> str:
    """An HTML table; every cell escaped, numbers right-aligned, the city-total row bold."""
    head = "".join(f'<th{" class=num" if k >= numeric_from else ""}>{escape(h)}</th>'
                   for k, h in enumerate(header))
    body = []
    for row in rows:
        cells = "".join(f'<td{" class=num" if k >= numeric_from else ""}>{escape(str(c))}</td>'
                        for k, c in enumerate(row))
        if bold_city and row and row[0] == CITY:
            cells = "".join(f'<td{" class=num" if k >= numeric_from else ""}><b>{escape(str(c))}</b></td>'
                            for k, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return ('<table border="1" cellspacing="0" cellpadding="4" width="100%">'
            f"<tr>{head}</tr>{''.join(body)}</table>")


def _change_text(name: str, change: Change | None) -> str:
    if change is None:
        return f"{name}: none this period or a year earlier."
    word = {True: "up", False: "down"}.get(change.current > change.earlier) if change.current != change.earlier else "level"
    pct = "" if change.percent is None else f", {change.label}"
    return f"{name}: {change.current:,} this period against {change.earlier:,} a year earlier ({word}{pct})."


def headlines(briefing: Briefing) -> list[str]:
    """The sentences a commander reads first: the core counts against a year earlier, the 911
    gap and what became of the alerts."""
    rows = {r.area: r for r in briefing.figures.table}
    focus = rows.get(briefing.district or CITY) or rows.get(CITY)
    out = []
    if focus is None:
        return ["No records in this period or the same period a year earlier."]
    prefix = f"{focus.area} — " if briefing.district else ""
    for metric, name in (("shootings", "Victim-reported shootings"), ("homicides", "Homicides"),
                         ("detections", "Gunfire detections")):
        out.append(prefix + _change_text(name, focus.figures.get(metric)))
    calls = {t.area: t for t in briefing.response.get(FIRST_CALL, [])}
    timing = calls.get(briefing.district or CITY)
    if timing and timing.count == 0 and timing.without_end:
        out.append(f"None of the {timing.without_end:,} detections has a linked 911 call "
                   "(the archive links a call to a detection only when CAD recorded it).")
    elif timing and timing.without_end_share is not None:
        out.append(f"Detection to first 911 call: median {_minutes(timing.median)} min; "
                   f"{100 * timing.without_end_share:.0f}% of detections had no 911 call at all.")
    outcomes = {o.area: o for o in briefing.figures.outcomes}
    o = outcomes.get(briefing.district or CITY)
    if o and o.total:
        out.append(f"{o.total:,} alerts: {o.counts['evidence_found']:,} closed with evidence found, "
                   f"{o.counts[OPEN]:,} still open, {o.counts['unknown']:,} closed as unknown.")
    return out


def _yoy_table(briefing: Briefing, metrics: Sequence[str]) -> str:
    """Areas down, each metric as now / a year earlier / change under one spanning header."""
    top = '<th rowspan="2" width="24%">area</th>' + "".join(
        f'<th colspan="3">{escape(m)}</th>' for m in metrics)
    sub = "".join('<th class=num>now</th><th class=num>year before</th><th class=num>change</th>'
                  for _ in metrics)
    body = []
    for row in briefing.figures.table:
        cells = [row.area]
        for m in metrics:
            c = row.figures.get(m)
            cells += [str(c.current), str(c.earlier), c.label] if c else ["0", "0", "0%"]
        tag = ("<b>", "</b>") if row.area == CITY else ("", "")
        body.append("<tr>" + "".join(
            f'<td{" class=num" if k else ""}>{tag[0]}{escape(v)}{tag[1]}</td>'
            for k, v in enumerate(cells)) + "</tr>")
    return ('<table border="1" cellspacing="0" cellpadding="4" width="100%">'
            f"<tr>{top}</tr><tr>{sub}</tr>{''.join(body)}</table>")


def _calls_table(briefing: Briefing) -> str:
    metrics = [m for m in (briefing.figures.table[0].figures if briefing.figures.table else {})
               if m.startswith("calls: ")]
    if not metrics:
        return "<p class=dim>No 911 calls in the archive for this period.</p>"
    rows = []
    for row in briefing.figures.table:
        cells = [row.area]
        for m in metrics:
            c = row.figures.get(m)
            cells.append(f"{c.current} ({c.label})" if c else "0")
        rows.append(cells)
    return _table(["area"] + [m[len("calls: "):] for m in metrics], rows)


def _response_table(response: dict[str, list[Timing]]) -> str:
    rows = []
    for stage, timings in response.items():
        for t in timings:
            share = "—" if t.without_end_share is None else f"{100 * t.without_end_share:.0f}%"
            rows.append([stage, t.area, f"{t.count:,}", _minutes(t.median), _minutes(t.p90),
                         f"{t.without_end:,} ({share})"])
    if not rows:
        return "<p class=dim>No detections in this period.</p>"
    return _table(["interval", "area", "n", "median min", "90th pct min", "without end"], rows,
                  numeric_from=2, bold_city=False)


def _risk_section(risk: RiskReadout | None) -> str:
    parts = ['<h2 style="page-break-before: always">Risk forecast and fairness</h2>']
    if risk is None:
        return parts[0] + "<p class=dim>The forecast was not computed for this briefing.</p>"
    if risk.reason:
        return parts[0] + f"<p>{escape(risk.reason)}</p>"
    parts.append(f"<p>Next-day forecast for <b>{escape(risk.day)}</b> (multi-scale model, 150 m "
                 f"cells), learnt from {risk.events:,} gunfire detections and victim-reported "
                 f"shootings ({risk.victim_reports:,} of them victim reports); police-initiated "
                 "records are not used. It ranks places, never people.</p>")
    parts.append(_table(["rank", "district", "latitude", "longitude", "share of forecast risk"],
                        [[str(a.rank), a.district, f"{a.lat:.4f}", f"{a.lon:.4f}",
                          f"{100 * a.share:.2f}%"] for a in risk.top], numeric_from=2, bold_city=False))
    fair = risk.fairness
    if fair is not None:
        parts.append(f"<h2>Fairness readout (top {100 * fair.fraction:.0f}% of the area flagged)</h2>")
        parts.append(f"<p>Per district: its share of the flagged area and of the suggested patrol "
                     f"time, against its share of victim-reported shootings. A district warns at "
                     f"{fair.threshold:g}× its victim share.</p>")
        if risk.victim_reports == 0:
            parts.append("<p class=warn>No victim-reported shootings in the forecast's history: "
                         "every flagged district warns, because the forecast cannot be compared "
                         "with harm reported by victims. Import victim-reported shootings to "
                         "make this readout meaningful.</p>")
        rows = [[d.district, f"{100 * d.flagged_area_share:.1f}%", f"{100 * d.patrol_share:.1f}%",
                 f"{100 * d.victim_share:.1f}%", "∞" if d.ratio == float("inf") else f"{d.ratio:.2f}",
                 "warning" if d.warning else ""] for d in fair.districts]
        parts.append(_table(["district", "flagged area", "patrol time", "victim shootings",
                             "ratio", ""], rows, bold_city=False))
        for warning in fair.warnings if risk.victim_reports else ():
            parts.append(f"<p class=warn>{escape(warning)}</p>")
    return "".join(parts)


def _missions_section(missions: Sequence[dict]) -> str:
    """Patrol missions of the period: where, who, how much time was spent there, and why."""
    if not missions:
        return ("<h2>Patrol missions</h2><p class=dim>No patrol missions were planned in this "
                "period.</p>")
    rows = []
    for m in missions:
        target = m.get("target_min") or 0
        dosage = f"{m.get('dosage_min', 0):.0f} / {target:.0f} min" if target else f"{m.get('dosage_min', 0):.0f} min"
        why = "; ".join(f"{w.get('component', 'event')} {float(w.get('age_days') or 0):.0f} d ago "
                        f"({100 * float(w.get('share') or 0):.0f} %)"
                        for w in (m.get("why") or [])[:2] if isinstance(w, dict))
        rows.append([m.get("label", ""), m.get("district", ""), m.get("state", ""),
                     ", ".join(m.get("units") or []) or "—", dosage, why or m.get("reason", "")])
    return ("<h2>Patrol missions</h2><p class=dim>Boxes patrolled this period, the units assigned, "
            "the time they spent inside (from unit positions) against the target, and why each "
            "box was chosen.</p>"
            + _table(["mission", "district", "state", "units", "time in box", "why"], rows,
                     numeric_from=99, bold_city=False))


def chart_images(briefing: Briefing) -> dict[str, QImage]:
    """Each chart of the briefing painted for print, keyed by its resource name."""
    _ensure_app()
    where = f" — {briefing.district}" if briefing.district else ""
    charts = {"hourly": hourly_chart(briefing.hourly, PRINT),
              "weekly": weekly_chart(briefing.weekly, PRINT, briefing.zone,
                                     title=f"Weekly counts, last {len(briefing.weekly.starts)} weeks{where}"),
              "yoy": yoy_chart(briefing.yoy, PRINT)}
    for key, stage in (("first_call", FIRST_CALL), ("shown", SHOWN), ("ack", ACKNOWLEDGED)):
        seconds = briefing.distributions.get(stage, [])
        if seconds:
            title = f"{stage[0].upper()}{stage[1:]}{where} ({len(seconds):,} alerts)"
            charts[key] = distribution_chart(seconds, title, PRINT)
    images = {}
    for key, chart in charts.items():
        images[key] = render_image(chart, *CHART_PX)
        chart.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return images


def build_document(briefing: Briefing, images: dict[str, QImage]) -> QTextDocument:
    """The whole briefing as one paginated document."""
    f, zone = briefing.figures, briefing.zone
    doc = QTextDocument()
    font = QFont()
    font.setPointSizeF(11)
    doc.setDefaultFont(font)
    doc.setDefaultStyleSheet(CSS)
    for key, image in images.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"chart:{key}"), image)
    doc.setPageSize(QSizeF(*PAGE_PX))
    doc.setDocumentMargin(MARGIN_PX)
    height = round(CHART_WIDTH * CHART_PX[1] / CHART_PX[0])

    def img(key: str) -> str:
        return f'<p><img src="chart:{key}" width="{CHART_WIDTH}" height="{height}"></p>' if key in images else ""

    scope = f" — {escape(briefing.district)}" if briefing.district else ""
    html = [f"<h1>Commanders' briefing{scope}</h1>",
            f"<p class=dim>Period {escape(f.period)}: {_day(f.bounds[0], zone)} to {_day(f.bounds[1], zone)} "
            f"(a year earlier: {_day(f.earlier[0], zone)} to {_day(f.earlier[1], zone)}). "
            f"Generated {_day(briefing.generated_at, zone)} ({escape(zone)}).</p>"]
    html += [f"<p class=headline>{escape(s)}</p>" for s in headlines(briefing)]
    html += ["<h2>This period against the same period a year earlier</h2>",
             _yoy_table(briefing, CORE_METRICS), "<h2>911 calls, top categories (change on a year earlier)</h2>",
             _calls_table(briefing)]
    html += ['<h2 style="page-break-before: always">Gunfire alerts: today and the last weeks</h2>',
             img("hourly"), img("weekly")]
    html += ['<h2 style="page-break-before: always">Districts and response</h2>', img("yoy"),
             img("first_call") or "<p class=dim>No detection of the period has a linked 911 call "
             "(the archive links a call to a detection only when CAD recorded it), so there is no "
             "distribution of detection to first 911 call to show.</p>"]
    extra = [k for k in ("shown", "ack") if k in images]
    if extra:
        html += ['<h2 style="page-break-before: always">The center\'s response</h2>'] + [img(k) for k in extra]
    html += ['<h2 style="page-break-before: always">Response times</h2>',
             "<p class=dim>Median and 90th percentile in minutes. \"Without end\": detections no one "
             "called in, or alerts never acknowledged, dispatched or attended — counted, not hidden. "
             "Workflow intervals cover alerts shown on the wall only.</p>",
             _response_table(briefing.response)]
    header, rows = outcome_rows(f)
    names = [*DISPOSITIONS, OPEN]
    shown = [[r[0], r[1]] + [f"{r[2 + k]} ({r[2 + len(names) + k] or '—'})" for k in range(len(names))]
             for r in rows]
    html += ["<h2>Alert outcomes</h2>",
             "<p class=dim>Every alert of the period, with its share: \"open\" is not yet closed; "
             "\"unknown\" was closed without a verdict.</p>",
             "" if briefing.with_workflow or not rows else
             "<p class=warn>None of these alerts has a workflow record (imported history, or "
             "alerts from before the workflow was kept), so all of them count as open.</p>",
             _table(["area", "alerts"] + [n.replace("_", " ") for n in names], shown)
             if rows else "<p class=dim>No alerts in this period.</p>"]
    html.append(_risk_section(briefing.risk))
    html.append(_missions_section(briefing.missions))
    doc.setHtml("".join(html))
    return doc


def write_pdf(briefing: Briefing, path: str | Path) -> int:
    """Write the briefing to `path` as PDF; returns the number of pages."""
    _ensure_app()
    images = chart_images(briefing)
    doc = build_document(briefing, images)
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.Letter))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)
    writer.setResolution(300)
    writer.setTitle("Commanders' briefing")
    writer.setCreator("OpsCenter")
    doc.print_(writer)
    del writer  # the file is complete once the writer is gone
    from PySide6.QtPdf import QPdfDocument

    check = QPdfDocument()
    check.load(str(path))
    pages = check.pageCount()
    check.close()
    return pages
