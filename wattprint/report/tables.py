"""The report's tables as text cells, shared by the text and HTML renderings.

Each table picks its own energy and CO2e units from its own figures and names them in its
column headers; every figure has 4 significant figures (see :mod:`.scale`). Runs of very
different sizes therefore each read in a unit that suits them, and none shows as 0.000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wattprint.core.measurement import DOMAINS
from wattprint.report.scale import CO2_UNITS, ENERGY_UNITS, Unit, amount, fmt, pick
from wattprint.report.summary import Report, RunSummary, Totals
from wattprint.report.whatif import Alternative

__all__ = [
    "Table",
    "domains_of",
    "run_details",
    "run_heading",
    "run_table",
    "run_units",
    "totals_line",
    "what_if_heading",
    "what_if_table",
]

_COUNTED_FROM = {
    "run": "total from the run row",
    "epochs": "total = sum of the epoch rows (no run row)",
    "mixed": "total from run rows where written, else the sum of epoch rows",
    "none": "no run or epoch row: not totalled",
}


@dataclass
class Table:
    """Headers, body rows and an optional total row; every cell is text. Column 0 is a label."""

    headers: list[str]
    rows: list[list[str]]
    total: list[str] | None = None
    flags: list[bool] = field(default_factory=list)  # per body row: interrupted
    text_columns: tuple[int, ...] = (0,)  # left-aligned; the others are numbers


def run_units(totals: Sequence[Totals]) -> tuple[Unit, Unit]:
    """The energy and CO2e units for a run's table or chart panel, sized to its largest figure."""
    return pick((t.energy_kwh for t in totals), ENERGY_UNITS), pick((t.co2_kg for t in totals), CO2_UNITS)


def totals_line(t: Totals) -> str:
    """``"17.15 Wh, 1.715 g CO2e"``: each figure in the unit that suits it."""
    return f"{amount(t.energy_kwh, ENERGY_UNITS)}, {amount(t.co2_kg, CO2_UNITS)} CO2e"


def domains_of(report: Report) -> list[str]:
    """Domains with a per-domain figure anywhere in the report, cpu/gpu/ram first."""
    seen: set[str] = set()
    for run in report.runs:
        seen.update(run.domains)
    return [d for d in DOMAINS if d in seen] + sorted(seen - set(DOMAINS))


def _cells(label: str, t: Totals, energy: Unit, co2: Unit, domains: Sequence[str]) -> list[str]:
    by = t.energy_kwh_by_domain
    g = t.intensity_g_per_kwh
    return [
        label,
        f"{t.duration_s:,.1f}",
        fmt(t.energy_kwh, energy),
        *(fmt(by[d], energy) if d in by else "-" for d in domains),
        fmt(t.co2_kg, co2),
        f"{g:,.0f}" if g is not None else "-",
    ]


def run_table(run: RunSummary, domains: Sequence[str]) -> Table:
    """Epochs of a run (one line each) and its total, in units chosen for this run's figures."""
    energy, co2 = run_units([run.total, *(e.totals for e in run.epochs)])
    headers = [
        "epoch",
        "duration (s)",
        f"energy ({energy[0]})",
        *(f"{d} ({energy[0]})" for d in domains),
        f"CO2e ({co2[0]})",
        "gCO2e/kWh",
    ]
    with_parameters = any(e.parameters for e in run.epochs)
    if with_parameters:
        headers.append("parameters")
    rows = []
    flags = []
    for e in run.epochs:
        label = "?" if e.index is None else str(e.index)
        rows.append(_cells(label, e.totals, energy, co2, domains) + ([e.parameters] if with_parameters else []))
        flags.append(e.totals.interrupted)
    total = None
    if run.counted_from != "none":
        total = _cells("total", run.total, energy, co2, domains) + ([""] if with_parameters else [])
    text_columns = (0, len(headers) - 1) if with_parameters else (0,)
    return Table(headers, rows, total, flags, text_columns)


def run_heading(run: RunSummary) -> str:
    parts = [f"run {run.run_id[:8]}", run.format]
    if run.start_time:
        parts.append(f"started {run.start_time}")
    if run.processes > 1:
        parts.append(f"{run.processes} processes")
    if run.total.interrupted:
        parts.append("INTERRUPTED")
    if run.incomplete:
        parts.append("INCOMPLETE: no run row, the process died; energy after its last epoch row is missing")
    return ", ".join(parts)


def run_details(run: RunSummary) -> list[str]:
    """Lines under a run's table: provenance of the numbers."""
    out = [_COUNTED_FROM[run.counted_from]]
    methods = run.total.method_by_domain or {
        d: m for e in run.epochs for d, m in e.totals.method_by_domain.items()
    }
    if any(methods.values()):
        out.append("method: " + ", ".join(f"{d} {m or 'unknown'}" for d, m in sorted(methods.items())))
    for text in run.intensities:
        out.append(f"intensity: {text}")
    if run.pues:
        out.append("PUE: " + ", ".join(f"{p:g}" for p in run.pues))
    if run.other_windows:
        out.append(f"{run.other_windows} sub-window row(s) (steps, phases) not shown")
    return out


def what_if_heading(total: Totals) -> str:
    g = total.intensity_g_per_kwh
    at = f" at {g:,.0f} gCO2e/kWh" if g is not None else ""
    return (
        f"What if the same {amount(total.facility_kwh, ENERGY_UNITS)} (energy x PUE) had been drawn elsewhere? "
        f"Reported: {amount(total.co2_kg, CO2_UNITS)} CO2e{at}."
    )


def what_if_table(alternatives: Sequence[Alternative]) -> Table:
    """One line per alternative grid; CO2e in a unit chosen for these figures."""
    co2 = pick((a.co2_kg for a in alternatives), CO2_UNITS)
    rows = []
    for a in alternatives:
        where = a.name if a.kind == "cloud" else f"{a.name} ({a.key})"
        year = f", {a.year}" if a.year else ""
        change = "-" if a.change is None else f"{a.change * 100:+,.0f}%"
        rows.append([where, f"{a.g_per_kwh:,.1f}", fmt(a.co2_kg, co2), change, f"{a.basis}{year}, {a.source}"])
    return Table(["grid", "gCO2e/kWh", f"CO2e ({co2[0]})", "vs reported", "basis, source"], rows, text_columns=(0, 4))
