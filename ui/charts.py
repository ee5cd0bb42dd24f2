"""The commanders' charts, readable from the back of the room.

Big axis type, calm grey for context, and one accent colour only for the series that is "now"
(the last 24 hours, this period, the latest week, the median), after the wall's ISA-101 look.
Every chart is built from a pure series of `opscenter.trends` and keeps its plotted items in
`items`, so what is drawn can be checked against the numbers. `render_image` paints a chart
into a QImage without a screen, for the PDF briefing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Sequence
from zoneinfo import ZoneInfo

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QApplication, QWidget

from opscenter.compstat import percentile
from opscenter.trends import HourlySeries, WeeklySeries, YoySeries, histogram

from . import theme


@dataclass(frozen=True)
class Style:
    """Colours and type size of one medium: the dark wall or white paper."""

    background: str
    text: str
    axis: str
    context: str
    context_alt: str
    accent: str
    font_px: int
    line_px: float = 4.0


def scaled(style: Style, factor: float) -> Style:
    """The same style with type and lines `factor` times bigger (for high-resolution print)."""
    return replace(style, font_px=round(style.font_px * factor), line_px=style.line_px * factor)


WALL = Style(theme.BACKGROUND, theme.TEXT, theme.TEXT_DIM, "#8b9199", "#5c6168", theme.WARN, 22)
PAPER = Style("#ffffff", "#2b2f34", "#5f656d", "#9aa0a8", "#c4c8cd", "#c46a00", 18)


class Chart(pg.GraphicsLayoutWidget):
    """A titled chart (one or more stacked plots); `items` name what is plotted."""

    def __init__(self, title: str, style: Style = WALL, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.style_ = style
        self.items: dict[str, pg.GraphicsObject] = {}
        self.setBackground(style.background)
        pad = style.font_px // 2
        self.ci.setContentsMargins(pad, pad // 2, pad, pad // 2)
        self.title = title
        self.addLabel(title, size=f"{round(style.font_px * 1.15)}px", color=style.text, bold=True)
        self.nextRow()

    def add_plot(self, left: str = "", bottom: str = "") -> pg.PlotItem:
        """A plot in the chart's style: big tick type, faint grid, no mouse interaction."""
        plot = self.addPlot()
        self.nextRow()
        font = self.font()
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setStyle(tickFont=font, tickTextOffset=8)
            axis.setTextPen(pg.mkPen(self.style_.axis))
            axis.setPen(pg.mkPen(self.style_.context_alt))
            axis.enableAutoSIPrefix(False)  # "minutes (x0.001)" reads as nonsense on a wall
        label_style = {"font-size": f"{self.style_.font_px}px", "color": self.style_.axis}
        if left:
            plot.setLabel("left", left, **label_style)
        if bottom:
            plot.setLabel("bottom", bottom, **label_style)
        plot.getAxis("left").setWidth(round(self.style_.font_px * (3.8 if left else 2.6)))
        plot.getAxis("bottom").setHeight(round(self.style_.font_px * (3.2 if bottom else 1.9)))
        plot.showGrid(x=False, y=True, alpha=0.25)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        return plot

    def key(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """A one-line key under the title: (colour, mark, text) per series. Plain text in the
        layout, so it keeps the chart's type size wherever the chart is painted."""
        html = "&nbsp;&nbsp;&nbsp;&nbsp;".join(
            f'<span style="color:{colour}">{mark}</span>&nbsp;{text}' for colour, mark, text in entries)
        self.addLabel(html, size=f"{self.style_.font_px}px", color=self.style_.text)
        self.nextRow()

    def font(self, scale: float = 1.0) -> QFont:
        font = QFont()
        font.setPixelSize(round(self.style_.font_px * scale))
        return font


def _ticks(labels: Sequence[str], every: int = 1) -> list[list[tuple[int, str]]]:
    return [[(k, label) for k, label in enumerate(labels) if k % every == 0]]


def hourly_chart(series: HourlySeries, style: Style = WALL, title: str | None = None) -> Chart:
    """Bars: alerts in each of the last 24 hours (accent); line: the typical day (grey)."""
    chart = Chart(title or f"Alerts per hour, last 24 hours, against the typical day "
                  f"({series.days}-day mean)", style)
    chart.key([(style.accent, "■", "last 24 hours"), (style.context, "●—", "typical day")])
    plot = chart.add_plot(left="alerts", bottom="hour of day")
    x = list(range(len(series.counts)))
    bars = pg.BarGraphItem(x=x, height=series.counts, width=0.7, brush=style.accent, pen=None)
    line = pg.PlotDataItem(x, series.typical, pen=pg.mkPen(style.context, width=style.line_px),
                           symbol="o", symbolSize=round(style.line_px * 2.2), symbolBrush=style.context, symbolPen=None)
    plot.addItem(bars)
    plot.addItem(line)
    plot.getAxis("bottom").setTicks(_ticks(series.labels, 3))
    plot.setYRange(0, max([*series.counts, *series.typical, 1]) * 1.15, padding=0)
    plot.setXRange(-0.6, len(x) - 0.4, padding=0)
    chart.items.update(current=bars, typical=line)
    return chart


def weekly_chart(series: WeeklySeries, style: Style = WALL, zone: str = "America/New_York",
                 title: str | None = None) -> Chart:
    """One small plot per series (their sizes differ by orders of magnitude), grey lines with
    the latest week marked in the accent colour."""
    chart = Chart(title or f"Weekly counts, last {len(series.starts)} weeks", style)
    tz = ZoneInfo(zone)
    labels = [datetime.fromtimestamp(s, tz).strftime("%d %b") for s in series.starts]
    every = max(1, len(labels) // 6)
    for name, counts in series.counts.items():
        x = list(range(len(counts)))
        plot = chart.add_plot(left=name if sum(counts) else f"{name} (none)")
        line = pg.PlotDataItem(x, counts, pen=pg.mkPen(style.context, width=style.line_px))
        last = pg.ScatterPlotItem(x[-1:], counts[-1:], size=round(style.line_px * 4), brush=style.accent, pen=None)
        plot.addItem(line)
        plot.addItem(last)
        plot.getAxis("bottom").setTicks(_ticks(labels, every))
        plot.setXRange(-0.4, len(x) - 0.6, padding=0)
        plot.setYRange(0, max([*counts, 1]) * 1.2, padding=0)
        chart.items[name] = line
        chart.items[f"{name} latest"] = last
    return chart


def yoy_chart(series: YoySeries, style: Style = WALL, title: str | None = None) -> Chart:
    """Paired bars per area: a year earlier (grey) beside this period (accent)."""
    chart = Chart(title or f"{series.metric.capitalize()} per district: this period against "
                  "the same period a year earlier", style)
    chart.key([(style.context, "■", "a year earlier"), (style.accent, "■", "this period")])
    plot = chart.add_plot(left=series.metric)
    x = list(range(len(series.areas)))
    earlier = pg.BarGraphItem(x=[k - 0.18 for k in x], height=series.earlier, width=0.34,
                              brush=style.context, pen=None)
    current = pg.BarGraphItem(x=[k + 0.18 for k in x], height=series.current, width=0.34,
                              brush=style.accent, pen=None)
    plot.addItem(earlier)
    plot.addItem(current)
    bottom = plot.getAxis("bottom")
    bottom.setTicks(_ticks([short_area(a) for a in series.areas]))
    if len(series.areas) > 6:  # keep neighbouring names apart
        bottom.setStyle(tickFont=chart.font((6 / len(series.areas)) ** 0.5))
    plot.setYRange(0, max([*series.current, *series.earlier, 1]) * 1.2, padding=0)
    plot.setXRange(-0.6, len(x) - 0.4, padding=0)
    chart.items.update(earlier=earlier, current=current)
    return chart


def short_area(name: str, limit: int = 12) -> str:
    """Area names short enough to sit under a bar ("WashingtonDC7D" -> "DC7D")."""
    if name.startswith("WashingtonDC"):
        name = "DC" + name[len("WashingtonDC"):]
    return name if len(name) <= limit else name[:limit - 1] + "…"


BIN_STEPS = (5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


def bin_width(seconds: Sequence[float], bins: int = 12) -> float:
    """A round bin width giving about `bins` bars up to the 95th percentile: a 20-second
    interval and a 20-minute one both get a readable histogram."""
    p95 = percentile(list(seconds), 0.95) or 0.0
    return next((step for step in BIN_STEPS if p95 / step <= bins), BIN_STEPS[-1])


def distribution_chart(seconds: Sequence[float], title: str, style: Style = WALL,
                       bin_s: float | None = None, max_s: float | None = None) -> Chart:
    """Histogram of intervals in minutes (grey), median (accent) and 90th percentile (dashed
    grey) as vertical lines; the last bar holds everything beyond the axis."""
    chart = Chart(title, style)
    plot = chart.add_plot(left="alerts", bottom="minutes")
    bin_s = bin_s or bin_width(seconds)
    if max_s is None and seconds:
        p95 = percentile(list(seconds), 0.95) or bin_s
        max_s = max(bin_s, (int(p95 // bin_s) + 1) * bin_s)
    hist = histogram(list(seconds), bin_s, max_s)
    minutes = [e / 60.0 for e in hist.edges]
    width = bin_s / 60.0
    bars = pg.BarGraphItem(x0=minutes[:-1], height=hist.counts, width=width * 0.9,
                           brush=style.context, pen=None)
    plot.addItem(bars)
    chart.items["bars"] = bars
    median, p90 = percentile(list(seconds), 0.5), percentile(list(seconds), 0.9)
    label_opts = {"color": style.text, "position": 0.92, "movable": False,
                  "fill": pg.mkBrush(QColor(style.background))}
    if median is not None:
        med = pg.InfiniteLine(median / 60.0, angle=90, pen=pg.mkPen(style.accent, width=style.line_px),
                              label=f"median {median / 60:.1f} min", labelOpts=label_opts)
        med.label.setFont(chart.font(0.9))
        plot.addItem(med)
        chart.items["median"] = med
    if p90 is not None:
        line = pg.InfiniteLine(p90 / 60.0, angle=90,
                               pen=pg.mkPen(style.axis, width=style.line_px * 0.75, style=Qt.PenStyle.DashLine),
                               label=f"90th percentile {p90 / 60:.1f} min",
                               labelOpts={**label_opts, "position": 0.75})
        line.label.setFont(chart.font(0.9))
        plot.addItem(line)
        chart.items["p90"] = line
    plot.setYRange(0, max([*hist.counts, 1]) * 1.2, padding=0)
    plot.setXRange(0, minutes[-1], padding=0.02)
    return chart


def render_image(widget: QWidget, width: int = 1100, height: int = 520) -> QImage:
    """Paint `widget` at `width`x`height` pixels into an image without showing it on any
    screen (works offscreen). For print, build the chart with `scaled(PAPER, 2)` and render
    at twice the size: scaling the painter instead would leave pyqtgraph's line labels
    (drawn ignoring transformations) at half size."""
    QApplication.instance() or QApplication([])  # noqa: B018 - a widget needs the application
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.resize(width, height)
    widget.show()
    QApplication.processEvents()
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    widget.render(painter)
    painter.end()
    widget.hide()
    return image
