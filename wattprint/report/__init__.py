"""Reading, summarising and drawing wattprint, ECO2AI and CodeCarbon emission CSVs (``wattprint report``).

    from wattprint.report import load_files, summarise
    report = summarise(load_files(["wattprint.csv"]))
    report.total.energy_kwh, report.total.co2_kg

Charts (:mod:`wattprint.report.chart`) need the ``plot`` extra (matplotlib), imported on first use.
"""

from __future__ import annotations

from wattprint.report.load import Damaged, ReportError, Row, load_file, load_files
from wattprint.report.summary import EpochLine, Group, Report, RunSummary, Totals, summarise

__all__ = [
    "Damaged",
    "EpochLine",
    "Group",
    "Report",
    "ReportError",
    "Row",
    "RunSummary",
    "Totals",
    "load_file",
    "load_files",
    "summarise",
]
