"""The report's tables as text cells, shared by the text and HTML renderings.

Each table picks its own energy and CO2e units from its own figures and names them in its
column headers; every figure has 4 significant figures (see :mod:`.scale`). Runs of very
different sizes therefore each read in a unit that suits them, and none shows as 0.000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wattprint.core.footprint import Footprint
from wattprint.core.measurement import DOMAINS, Measurement
from wattprint.report.scale import (
    CO2_UNITS,
    ENERGY_UNITS,
    Unit,
    amount,
    fmt,
    pick,
    seconds,
)
from wattprint.report.summary import Report, RunSummary, Totals
from wattprint.report.whatif import Alternative

__all__ = [
    "OUTSIDE_EPOCHS",
    "Table",
    "domains_of",
    "group_scope_note",
    "outside_epochs",
    "run_details",
    "run_heading",
    "run_table",
    "run_units",
    "totals_line",
    "what_if_heading",
    "what_if_note",
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
    (line,) = _lines([label], [t.duration_s], [t.energy_kwh], [[by.get(d)] for d in domains], [t.co2_kg],
                     [t.intensity_g_per_kwh], energy, co2)
    return line


def _lines(labels: Sequence[str], duration_s: Sequence[float], energy_kwh: Sequence[float],
           by_domain: Sequence[Sequence[float | None]], co2_kg: Sequence[float], g_per_kwh: Sequence[float | None],
           energy: Unit, co2: Unit) -> list[list[str]]:
    """Table lines' cells, formatted a column at a time (a table may have a million lines):
    ``by_domain`` has the energy of each of the table's domains (None: not reported)."""
    columns = [
        labels,
        [seconds(s) for s in duration_s],
        [fmt(kwh, energy) for kwh in energy_kwh],
        *(["-" if kwh is None else fmt(kwh, energy) for kwh in column] for column in by_domain),
        [fmt(kg, co2) for kg in co2_kg],
        ["-" if g is None else f"{g:,.0f}" for g in g_per_kwh],
    ]
    return [list(line) for line in zip(*columns)]


def run_table(run: RunSummary, domains: Sequence[str]) -> Table:
    """Epochs of a run (one line each) and its total, in units chosen for this run's figures."""
    epochs = run.epoch_sums  # the epochs' figures, not their lines: a table may have a million
    top_energy, top_co2 = epochs.largest()  # (run_units of the total and every epoch)
    energy = pick((run.total.energy_kwh, top_energy), ENERGY_UNITS)
    co2 = pick((run.total.co2_kg, top_co2), CO2_UNITS)
    headers = [
        "epoch",
        "duration (s)",
        f"energy ({energy[0]})",
        *(f"{d} ({energy[0]})" for d in domains),
        f"CO2e ({co2[0]})",
        "gCO2e/kWh",
    ]
    with_parameters = any(epochs.parameters)
    if with_parameters:
        headers.append("parameters")
    columns = epochs.columns(domains)
    rows = _lines(["?" if index is None else str(index) for index in columns.index], columns.duration_s,
                  columns.energy_kwh, columns.by_domain, columns.co2_kg, columns.g_per_kwh, energy, co2)
    if with_parameters:
        for cells, parameters in zip(rows, columns.parameters):
            cells.append(parameters)
    flags = columns.interrupted
    outside = outside_epochs(run)
    if outside is not None:
        rows.append(_cells(OUTSIDE_EPOCHS, outside, energy, co2, domains) + ([""] if with_parameters else []))
        flags.append(False)
    total = None
    if run.counted_from != "none":
        total = _cells("total", run.total, energy, co2, domains) + ([""] if with_parameters else [])
    text_columns = (0, len(headers) - 1) if with_parameters else (0,)
    return Table(headers, rows, total, flags, text_columns)


#: The label of the line for what a run row holds beyond its epochs.
OUTSIDE_EPOCHS = "outside epochs"


def outside_epochs(run: RunSummary) -> Totals | None:
    """What the run row holds beyond the sum of its epochs (start-up, a final evaluation, saving),
    or None for a run whose total is not its run row, that has no epoch, or whose epochs cover it.

    Clamped at zero: the epochs of several processes are summed as parallel, and rounding in
    the files can make them exceed the run by a hair.
    """
    if run.counted_from != "run" or not run.epoch_sums:
        return None
    t, e = run.total, run.epochs_total
    if t.energy_kwh - e.energy_kwh <= t.energy_kwh * 1e-6:  # the epochs cover the run: no line
        return None
    by_domain = {d: max(0.0, kwh - e.energy_kwh_by_domain.get(d, 0.0)) for d, kwh in t.energy_kwh_by_domain.items()}
    measurement = Measurement(max(0.0, t.duration_s - e.duration_s), max(0.0, t.energy_kwh - e.energy_kwh), by_domain)
    footprint = Footprint(max(0.0, t.facility_kwh - e.facility_kwh), max(0.0, t.co2_kg - e.co2_kg))
    return Totals(measurement, footprint)


def run_heading(run: RunSummary) -> str:
    parts = [f"run {run.run_id[:8]}", run.format]
    if run.scopes:
        parts.append(" and ".join(run.scopes) + " scope")
    stages = [s for s in run.stages if s != "train"]  # a training is what a run is unless it says otherwise
    if stages:
        parts.append("stage " + " and ".join(stages))
    for status in run.exit_statuses:
        parts.append(f"command exit status {status}" + (" (FAILED)" if status else ""))
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
    if outside_epochs(run) is not None:
        out.append(f"{OUTSIDE_EPOCHS}: the run row less its epochs (start-up before the first epoch, "
                   "a final evaluation or saving after the last): counted in the total, in no epoch")
    if run.other_windows:
        out.append(f"{run.other_windows} sub-window row(s) (steps, phases) not shown")
    return out


def group_scope_note(runs: Sequence[RunSummary]) -> str:
    """A warning for a group that mixes machine- and process-scope runs, else ``""``."""
    if len({s for r in runs for s in r.scopes}) < 2:
        return ""
    return ("; runs of machine and process scope: a process-scope run counts its share of the "
            "machine's energy, so compare them rather than adding them")


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
        year = f"{a.year}, " if a.year else ""
        rows.append([where, a.basis, f"{a.g_per_kwh:,.1f}", fmt(a.co2_kg, co2), _change(a), f"{year}{a.source}"])
    return Table(["grid", "basis", "gCO2e/kWh", f"CO2e ({co2[0]})", "vs reported", "year, source"], rows,
                 text_columns=(0, 1, 5))


def _change(a: Alternative) -> str:
    """``"-91%"``; never ``"-0%"`` or ``"+0%"`` for a change that rounds to nothing."""
    if not a.comparable:
        return "other basis"
    if a.change is None:
        return "-"
    percent = round(a.change * 100)
    return "same" if percent == 0 else f"{percent:+,d}%"


def what_if_note(alternatives: Sequence[Alternative]) -> str:
    """The line under the table: what the figures are, and why some lines are not compared."""
    note = "Annual averages; the cleanest region of each cloud provider in wattprint's bundled tables."
    other = sorted({a.basis for a in alternatives if not a.comparable})
    if other:
        mine = next((a.basis for a in alternatives if a.comparable), "")
        note += (f" Lines of {' and '.join(other)} basis are not compared with the reported {mine} figure: "
                 "direct figures count combustion only, lifecycle ones also building plants and mining fuel, "
                 "so the same grid reads lower on a direct basis.")
    return note
