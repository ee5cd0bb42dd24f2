"""The briefing's fairness view: shares per district, warnings marked, reasons said."""

from __future__ import annotations

from opscenter.briefing_text import RiskReadout
from opscenter.forecast.fairness import DistrictShare, FairnessReport
from ui import theme
from ui.briefing_views import FairnessTable


def readout(victims: int = 40) -> RiskReadout:
    shares = (DistrictShare("Eastern", 30, 0.60, 0.62, 0.30, 12, 2.07, "Eastern: 60% of flagged area …"),
              DistrictShare("Western", 20, 0.40, 0.38, 0.70, 28, 0.57, None))
    return RiskReadout(day="2026-12-05", events=900, victim_reports=victims,
                       fairness=FairnessReport(0.05, 1.5, shares))


def test_shares_and_the_warning_are_shown(qtbot) -> None:
    view = FairnessTable()
    qtbot.addWidget(view)
    assert "Computing" in view.note.text()
    view.set_readout(readout())
    row = view.area_row("Eastern")
    assert [view.cell(row, c) for c in range(6)] == ["Eastern", "60%", "62%", "30%", "2.07×", "warning"]
    assert view.table.item(row, 5).foreground().color().name() == theme.WARN.lower()
    assert view.cell(view.area_row("Western"), 5) == ""
    assert "2026-12-05" in view.caption.text() and "1.5×" in view.note.text()


def test_no_forecast_says_why(qtbot) -> None:
    view = FairnessTable()
    qtbot.addWidget(view)
    view.set_readout(RiskReadout(day="2026-12-05", events=12, victim_reports=0,
                                 reason="Too little history for a forecast: 12 events"))
    assert view.table.rowCount() == 0 and "Too little history" in view.note.text()
