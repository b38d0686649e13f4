"""Group emission rows by project, experiment and run; epoch tables and totals.

A run's total is counted once, whatever rows it has:

* a ``run`` row covers the whole run (epochs and what happened between them), so when one is
  present it *is* the total and the epoch rows only fill the epoch table;
* without a run row (ECO2AI's training mode, a run killed before it could write one) the
  total is the sum of the ``epoch`` rows;
* other windows (``step``, custom spans) may nest and overlap, so they are never summed.

Rows of one run written by several processes (ranks, hosts: each measures its own devices,
and host energy once per node) are summed across processes; their durations overlap, so the
run lasts as long as the longest. The same row read twice (a file passed twice, a copy) is
counted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.csvformat import TIME_FORMAT
from wattprint.core.merge import Total, combine
from wattprint.core.record import EnergyRecord
from wattprint.report.load import Row

__all__ = ["EpochLine", "Group", "Report", "RunSummary", "Totals", "summarise"]

RUN = "run"
EPOCH = "epoch"

#: Sums over rows: energy in kWh (IT energy; ECO2AI rows include PUE), facility energy, CO2e in
#: kg, time in s; the core's :class:`~wattprint.core.merge.Total`, summed by its one set of rules.
Totals = Total


def _total(rows: Sequence[Row], *, parallel: bool = False) -> Total:
    return combine((r.record for r in rows), parallel=parallel)


@dataclass
class EpochLine:
    """One epoch of a run (summed across the processes that wrote it)."""

    index: int | None
    label: str
    parameters: str
    totals: Totals

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "parameters": self.parameters, **self.totals.as_dict()}


@dataclass
class RunSummary:
    """One run: its epochs and its total, counted once (see the module docstring).

    ``counted_from`` says where the total came from: ``"run"`` (run rows), ``"epochs"``
    (the sum of epoch rows), ``"mixed"`` (some processes each), or ``"none"`` (only
    other windows, which are not summed).
    """

    run_id: str
    project: str
    experiment: str
    format: str
    start_time: str
    epochs: list[EpochLine]
    total: Totals
    counted_from: str
    intensities: list[str]
    pues: list[float]
    processes: int
    sources: list[str]
    other_windows: int = 0
    scopes: list[str] = field(default_factory=list)  # "machine", "process": whose energy the rows count
    exit_statuses: list[int] = field(default_factory=list)  # of the command, on `wattprint run` rows

    @property
    def epochs_total(self) -> Totals:
        return combine(e.totals for e in self.epochs)

    @property
    def incomplete(self) -> bool:
        """A wattprint run with a process that wrote epoch rows but no run row: it died (kill -9,
        out of memory) before stopping, and the energy after its last epoch row is missing."""
        return self.format == "wattprint" and self.counted_from in ("epochs", "mixed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "project": self.project,
            "experiment": self.experiment,
            "format": self.format,
            "start_time": self.start_time,
            "counted_from": self.counted_from,
            "incomplete": self.incomplete,
            "intensities": list(self.intensities),
            "pue": list(self.pues),
            "processes": self.processes,
            "sources": list(self.sources),
            "other_windows": self.other_windows,
            "scopes": list(self.scopes),
            "exit_statuses": list(self.exit_statuses),
            "total": self.total.as_dict(),
            "epochs": [e.as_dict() for e in self.epochs],
        }


@dataclass
class Group:
    """The runs of one project and experiment description."""

    project: str
    experiment: str
    runs: list[RunSummary]
    total: Totals

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "experiment": self.experiment,
            "total": self.total.as_dict(),
            "runs": [r.as_dict() for r in self.runs],
        }


@dataclass
class Report:
    """Everything the report shows: groups of runs, the grand total, and notes for the reader."""

    groups: list[Group]
    total: Totals
    notes: list[str]
    files: list[str]

    @property
    def runs(self) -> list[RunSummary]:
        return [r for g in self.groups for r in g.runs]

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "total": self.total.as_dict(),
            "groups": [g.as_dict() for g in self.groups],
            "notes": list(self.notes),
        }


def summarise(rows: Sequence[Row], files: Sequence[str] = ()) -> Report:
    """Group rows into runs and runs into (project, experiment) groups, in order of appearance."""
    notes: list[str] = []
    seen: set[tuple] = set()
    by_run: dict[str, list[Row]] = {}
    duplicates = 0
    for row in rows:
        if row.identity in seen:
            duplicates += 1
            continue
        seen.add(row.identity)
        by_run.setdefault(row.record.labels.run_id, []).append(row)
    if duplicates:
        notes.append(f"{duplicates} duplicate row(s) (the same measurement read twice) counted once")

    groups: dict[tuple[str, str], list[RunSummary]] = {}
    for run_id, run_rows in by_run.items():
        run = _summarise_run(run_id, run_rows)
        if run.counted_from == "none":
            notes.append(
                f"run {run_id[:8]} has only {run.other_windows} sub-window row(s) and no run or epoch row; "
                "sub-windows may overlap, so it is not totalled"
            )
        groups.setdefault((run.project, run.experiment), []).append(run)

    out = []
    for (project, experiment), runs in groups.items():
        runs.sort(key=lambda r: r.start_time)
        out.append(Group(project, experiment, runs, combine(r.total for r in runs)))
    if any(r.format == "eco2ai" for g in out for r in g.runs):
        notes.append("ECO2AI rows: energy includes the PUE (ECO2AI does not record it separately)")
    return Report(out, combine(g.total for g in out), notes, list(files))


def _summarise_run(run_id: str, rows: list[Row]) -> RunSummary:
    first = rows[0].record
    processes: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        processes.setdefault((row.record.labels.host, row.record.labels.rank), []).append(row)
    parts: list[Total] = []
    kinds: set[str] = set()
    for proc_rows in processes.values():
        runs = [r for r in proc_rows if r.record.labels.window == RUN]
        epochs = [r for r in proc_rows if r.record.labels.window == EPOCH]
        if runs:
            parts.append(_total(runs))
            kinds.add("run")
        elif epochs:
            parts.append(_total(epochs))
            kinds.add("epochs")
    counted_from = "none" if not kinds else kinds.pop() if len(kinds) == 1 else "mixed"

    by_epoch: dict[int | None, list[Row]] = {}
    for row in rows:
        if row.record.labels.window == EPOCH:
            by_epoch.setdefault(row.record.labels.index, []).append(row)
    epochs = [
        EpochLine(index, ers[0].label, ers[0].parameters, _total(ers, parallel=True))
        for index, ers in sorted(by_epoch.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]
    intensities: list[str] = []
    # A live intensity gives every epoch its own mean; the run rows say it once for the run.
    for row in [r for r in rows if r.record.labels.window == RUN] or rows:
        text = _describe_intensity(row.record)
        if text and text not in intensities:
            intensities.append(text)
    pues = sorted({row.record.carbon.pue for row in rows if row.record.carbon.pue is not None})
    starts = [r.record.labels.start_time for r in rows if r.record.labels.start_time is not None]
    return RunSummary(
        run_id=run_id,
        project=first.labels.project_name,
        experiment=first.labels.experiment_description,
        format=rows[0].format,
        start_time=min(starts).strftime(TIME_FORMAT) if starts else "",
        epochs=epochs,
        total=combine(parts, parallel=True),
        counted_from=counted_from,
        intensities=intensities,
        pues=pues,
        processes=len(processes),
        sources=sorted({r.source for r in rows}),
        other_windows=sum(1 for r in rows if r.record.labels.window not in (RUN, EPOCH)),
        scopes=sorted({r.record.labels.scope for r in rows} if rows[0].format == "wattprint" else ()),
        exit_statuses=sorted({s for r in rows if (s := r.record.labels.exit_status) is not None}),
    )


def _describe_intensity(record: EnergyRecord) -> str:
    c = record.carbon
    where = c.intensity_name or c.intensity_key
    if c.intensity_key and c.intensity_name and c.intensity_key != c.intensity_name:
        where = f"{c.intensity_name} ({c.intensity_key})"
    g = f"{c.intensity_g_per_kwh:.4g} gCO2e/kWh" if c.intensity_g_per_kwh is not None else ""
    year = str(c.intensity_year) if c.intensity_year else ""
    basis = c.intensity_basis if c.intensity_basis != "unknown" else ""
    source = c.intensity_source if c.intensity_source != c.intensity_name else ""
    detail = ", ".join(x for x in (basis, year, source) if x)
    text = ": ".join(p for p in (where, g) if p)
    return f"{text} ({detail})" if detail and text else text or detail
