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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.sensors.base import METHOD_RANK
from wattprint.report.load import Row

__all__ = ["EpochLine", "Group", "Report", "RunSummary", "Totals", "summarise"]

RUN = "run"
EPOCH = "epoch"


@dataclass
class Totals:
    """Sums over rows. Energy in kWh (IT energy; ECO2AI rows include PUE), CO2e in kg, time in s.

    ``facility_kwh`` is the energy the CO2e was computed from (energy x PUE), so
    :attr:`intensity_g_per_kwh` is the effective grid intensity of the rows.
    """

    duration_s: float = 0.0
    energy_kwh: float = 0.0
    facility_kwh: float = 0.0
    co2_kg: float = 0.0
    energy_kwh_by_domain: dict[str, float] = field(default_factory=dict)
    method_by_domain: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    rows: int = 0

    @property
    def intensity_g_per_kwh(self) -> float | None:
        """Effective intensity, gCO2e per kWh of facility energy; None without energy."""
        return self.co2_kg * 1000.0 / self.facility_kwh if self.facility_kwh > 0 else None

    @property
    def power_w(self) -> float:
        """Mean IT power over the duration, W."""
        return self.energy_kwh * 3_600_000.0 / self.duration_s if self.duration_s > 0 else 0.0

    @classmethod
    def of_rows(cls, rows: Iterable[Row], *, parallel: bool = False) -> Totals:
        """Totals of rows; ``parallel`` rows ran at the same time (duration is the longest)."""
        out = cls()
        for row in rows:
            out._add(row.duration_s, row.energy_kwh, row.facility_kwh, row.co2_kg,
                     row.energy_kwh_by_domain, row.method_by_domain, row.interrupted, 1, parallel)
        return out

    @classmethod
    def combine(cls, parts: Iterable[Totals], *, parallel: bool = False) -> Totals:
        out = cls()
        for t in parts:
            out._add(t.duration_s, t.energy_kwh, t.facility_kwh, t.co2_kg,
                     t.energy_kwh_by_domain, t.method_by_domain, t.interrupted, t.rows, parallel)
        return out

    def _add(
        self,
        duration_s: float,
        energy_kwh: float,
        facility_kwh: float,
        co2_kg: float,
        by_domain: Mapping[str, float],
        methods: Mapping[str, str],
        interrupted: bool,
        rows: int,
        parallel: bool,
    ) -> None:
        self.duration_s = max(self.duration_s, duration_s) if parallel else self.duration_s + duration_s
        self.energy_kwh += energy_kwh
        self.facility_kwh += facility_kwh
        self.co2_kg += co2_kg
        for d, kwh in by_domain.items():
            self.energy_kwh_by_domain[d] = self.energy_kwh_by_domain.get(d, 0.0) + kwh
        for d, method in methods.items():
            self.method_by_domain[d] = _weakest(self.method_by_domain.get(d), method)
        self.interrupted = self.interrupted or interrupted
        self.rows += rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "energy_kwh": self.energy_kwh,
            "facility_kwh": self.facility_kwh,
            "co2_kg": self.co2_kg,
            "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "power_w": self.power_w,
            "energy_kwh_by_domain": dict(self.energy_kwh_by_domain),
            "method_by_domain": dict(self.method_by_domain),
            "interrupted": self.interrupted,
            "rows": self.rows,
        }


def _weakest(a: str | None, b: str) -> str:
    """The less trustworthy of two methods; an unknown method ("") counts as weakest."""
    if a is None:
        return b
    return min(a, b, key=lambda m: METHOD_RANK.get(m, -1))


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

    @property
    def epochs_total(self) -> Totals:
        return Totals.combine(e.totals for e in self.epochs)

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
        by_run.setdefault(row.run_id, []).append(row)
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
        out.append(Group(project, experiment, runs, Totals.combine(r.total for r in runs)))
    if any(r.format == "eco2ai" for g in out for r in g.runs):
        notes.append("ECO2AI rows: energy includes the PUE (ECO2AI does not record it separately)")
    return Report(out, Totals.combine(g.total for g in out), notes, list(files))


def _summarise_run(run_id: str, rows: list[Row]) -> RunSummary:
    first = rows[0]
    processes: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        processes.setdefault((row.host, row.rank), []).append(row)
    parts: list[Totals] = []
    kinds: set[str] = set()
    for proc_rows in processes.values():
        runs = [r for r in proc_rows if r.window == RUN]
        epochs = [r for r in proc_rows if r.window == EPOCH]
        if runs:
            parts.append(Totals.of_rows(runs))
            kinds.add("run")
        elif epochs:
            parts.append(Totals.of_rows(epochs))
            kinds.add("epochs")
    counted_from = "none" if not kinds else kinds.pop() if len(kinds) == 1 else "mixed"

    by_epoch: dict[int | None, list[Row]] = {}
    for row in rows:
        if row.window == EPOCH:
            by_epoch.setdefault(row.index, []).append(row)
    epochs = [
        EpochLine(index, ers[0].label, ers[0].parameters, Totals.of_rows(ers, parallel=True))
        for index, ers in sorted(by_epoch.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]
    intensities: list[str] = []
    # A live intensity gives every epoch its own mean; the run rows say it once for the run.
    for row in [r for r in rows if r.window == RUN] or rows:
        text = _describe_intensity(row)
        if text and text not in intensities:
            intensities.append(text)
    pues = sorted({row.pue for row in rows if row.pue is not None})
    return RunSummary(
        run_id=run_id,
        project=first.project,
        experiment=first.experiment,
        format=first.format,
        start_time=min(r.start_time for r in rows),
        epochs=epochs,
        total=Totals.combine(parts, parallel=True),
        counted_from=counted_from,
        intensities=intensities,
        pues=pues,
        processes=len(processes),
        sources=sorted({r.source for r in rows}),
        other_windows=sum(1 for r in rows if r.window not in (RUN, EPOCH)),
    )


def _describe_intensity(row: Row) -> str:
    where = row.intensity_name or row.intensity_key
    if row.intensity_key and row.intensity_name and row.intensity_key != row.intensity_name:
        where = f"{row.intensity_name} ({row.intensity_key})"
    g = f"{row.intensity_g_per_kwh:.4g} gCO2e/kWh" if row.intensity_g_per_kwh is not None else ""
    year = str(row.intensity_year) if row.intensity_year else ""
    basis = row.intensity_basis if row.intensity_basis != "unknown" else ""
    source = row.intensity_source if row.intensity_source != row.intensity_name else ""
    detail = ", ".join(x for x in (basis, year, source) if x)
    text = ": ".join(p for p in (where, g) if p)
    return f"{text} ({detail})" if detail and text else text or detail
