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

:func:`summarise` reads its rows once, as they come (:func:`~wattprint.report.load.iter_files`
streams them from the files), and keeps sums, not rows: per run, one running sum per process
and one per epoch, and an 8-byte hash per row to tell a duplicate. A run's epoch lines are
built when they are read (:attr:`RunSummary.epochs`), and only the last run read keeps them.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from math import isnan
from typing import Any, NamedTuple

from wattprint.core.csvformat import TIME_FORMAT
from wattprint.core.footprint import Carbon
from wattprint.core.merge import Sums, Total, combine
from wattprint.report.figures import SUMMED, Figures
from wattprint.report.load import Row

__all__ = ["EpochLine", "Group", "Report", "RunSummary", "Totals", "summarise"]

RUN = "run"
EPOCH = "epoch"

#: Sums over rows: energy in kWh (IT energy; ECO2AI rows include PUE), facility energy, CO2e in
#: kg, time in s; the core's :class:`~wattprint.core.merge.Total`, summed by its one set of rules.
Totals = Total


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

    ``epochs`` is built from the run's sums (``epoch_sums``) when read, and kept only until
    another run's are: the sums take about a quarter of the memory of the lines, so a report of
    a million epochs holds the sums and one run's lines.
    """

    run_id: str
    project: str
    experiment: str
    format: str
    start_time: str
    epoch_sums: _Epochs = field(repr=False)
    total: Totals
    counted_from: str
    intensities: list[str]
    pues: list[float]
    processes: int
    sources: list[str]
    other_windows: int = 0
    scopes: list[str] = field(default_factory=list)  # "machine", "process": whose energy the rows count
    exit_statuses: list[int] = field(default_factory=list)  # of the command, on `wattprint run` rows
    stages: list[str] = field(default_factory=list)  # of its run and epoch rows: "train", "test", "predict", ...

    @property
    def epochs(self) -> list[EpochLine]:
        """One line per epoch, in epoch order (summed across the processes that wrote it)."""
        cached = _last_epochs.get(id(self))
        if cached is not None and cached[0] is self:
            return cached[1]
        lines = self.epoch_sums.lines()
        _last_epochs.clear()  # one run's lines at a time: the renderers go run by run
        _last_epochs[id(self)] = (self, lines)
        return lines

    @property
    def domains(self) -> set[str]:
        """Domains with a per-domain figure in the run's total or any of its epochs."""
        return set(self.total.energy_kwh_by_domain).union(self.epoch_sums.sums.by_domain)

    @cached_property
    def epochs_total(self) -> Totals:
        """The sum of :attr:`epochs` (the text report asks twice per run: made once)."""
        return self.epoch_sums.total()

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
            "stages": list(self.stages),
            "total": self.total.as_dict(),
            "epochs": list(self.epoch_sums.dicts()),
        }


# The epoch lines last built, keyed by their run's id() (the run is held too, so the id stays its own).
_last_epochs: dict[int, tuple[RunSummary, list[EpochLine]]] = {}


@dataclass
class Group:
    """The runs of one project and experiment description."""

    project: str
    experiment: str
    runs: list[RunSummary]
    total: Totals

    def as_dict(self, runs: Iterable[Any] | None = None) -> dict[str, Any]:
        """JSON-ready; ``runs`` stands in for the list of runs' dicts (a writer that streams passes its own)."""
        return {
            "project": self.project,
            "experiment": self.experiment,
            "total": self.total.as_dict(),
            "runs": [r.as_dict() for r in self.runs] if runs is None else runs,
        }


@dataclass
class Report:
    """Everything the report shows: groups of runs, the grand total, and notes for the reader."""

    groups: list[Group]
    total: Totals
    notes: list[str]
    files: list[str]
    rows: int = 0  # rows read, duplicates included

    @property
    def runs(self) -> list[RunSummary]:
        return [r for g in self.groups for r in g.runs]

    def as_dict(self, groups: Iterable[Any] | None = None) -> dict[str, Any]:
        """JSON-ready; ``groups`` stands in for the list of groups' dicts (see :mod:`.jsonout`)."""
        return {
            "files": list(self.files),
            "total": self.total.as_dict(),
            "groups": [g.as_dict() for g in self.groups] if groups is None else groups,
            "notes": list(self.notes),
        }


def summarise(rows: Iterable[Row | Figures], files: Sequence[str] = ()) -> Report:
    """Group rows into runs and runs into (project, experiment) groups, in order of appearance.

    ``rows`` is read once, in order, and not kept: pass :func:`~wattprint.report.load.iter_files`
    to report files of any length in memory that grows with runs and epochs, not rows
    (:func:`~wattprint.report.load.iter_figures`, the same rows as the figures summed, is faster).
    """
    notes: list[str] = []
    by_run: dict[str, _Run] = {}
    describe = _Descriptions()
    count = 0
    for row in rows:
        count += 1
        if type(row) is not Figures:
            row = Figures.of_row(row)
        run = by_run.get(row.run_id)
        if run is None:
            run = by_run[row.run_id] = _Run(row)
        run.add(row, describe)
    duplicates = 0
    groups: dict[tuple[str, str], list[RunSummary]] = {}
    for run_id, acc in by_run.items():
        run, repeated = acc.summary(run_id)
        duplicates += repeated
        if run.counted_from == "none":
            notes.append(
                f"run {run_id[:8]} has only {run.other_windows} sub-window row(s) and no run or epoch row; "
                "sub-windows may overlap, so it is not totalled"
            )
        groups.setdefault((run.project, run.experiment), []).append(run)
    if duplicates:
        notes.insert(0, f"{duplicates} duplicate row(s) (the same measurement read twice) counted once")

    out = []
    for (project, experiment), runs in groups.items():
        runs.sort(key=lambda r: r.start_time)
        out.append(Group(project, experiment, runs, combine(r.total for r in runs)))
    if any(r.format == "eco2ai" for g in out for r in g.runs):
        notes.append("ECO2AI rows: energy includes the PUE (ECO2AI does not record it separately)")
    return Report(out, combine(g.total for g in out), notes, list(files), count)


class _Descriptions:
    """:func:`_describe_intensity` once per distinct intensity, not once per row."""

    def __init__(self) -> None:
        self._seen: dict[tuple, str] = {}
        self._last: tuple[Carbon | None, str] = (None, "")  # rows of a file share their Carbon

    def __call__(self, carbon: Carbon) -> str:
        last = self._last
        if last[0] is carbon:
            return last[1]
        c = carbon
        key = (c.intensity_key, c.intensity_name, c.intensity_g_per_kwh, c.intensity_year,
               c.intensity_basis, c.intensity_source)
        text = self._seen.get(key)
        if text is None:
            if len(self._seen) > 4096:  # a live intensity: a new mean per window
                self._seen.clear()
            text = self._seen[key] = _describe_intensity(carbon)
        self._last = (carbon, text)
        return text


class _Epochs:
    """A run's epochs while it is read: one position of a :class:`Sums` (parallel: the processes
    that wrote an epoch measured it side by side) per epoch index, with the first row's cells."""

    __slots__ = ("first_hash", "labels", "more_hashes", "parameters", "positions", "sums")

    def __init__(self) -> None:
        self.positions: dict[int | None, int] = {}
        self.labels: list[str | None] = []  # None: the index as written ("3")
        self.parameters: list[str] = []
        self.sums = Sums(parallel=True)
        # To tell a duplicate: the hash of each epoch's first row, a set only where there are more
        # (one per process); 8 bytes an epoch where a set of every row would take a hundred.
        self.first_hash = array("q")
        self.more_hashes: dict[int, set[int]] = {}

    def open(self, row: Figures) -> int:
        """A position for the epoch of ``row``, new, holding ``row``."""
        index = row.index
        i = self.positions[index] = _add_new(self.sums, row)
        self.labels.append(None if index is not None and row.label == str(index) else row.label)
        self.parameters.append(row.parameters)
        self.first_hash.append(row.key)
        return i

    def seen(self, i: int, key: int) -> bool:
        """Whether a row hashing to ``key`` was added to the epoch at ``i`` (noted if not)."""
        if self.first_hash[i] == key:
            return True
        more = self.more_hashes.setdefault(i, set())
        if key in more:
            return True
        more.add(key)
        return False

    def __len__(self) -> int:
        return len(self.positions)

    def order(self) -> list[tuple[int | None, int]]:
        """(index, position) in epoch order, the epoch without an index last."""
        return sorted(self.positions.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))

    def label(self, index: int | None, i: int) -> str:
        label = self.labels[i]
        return str(index) if label is None else label

    def lines(self) -> list[EpochLine]:
        """In epoch order, the epoch without an index last."""
        return [EpochLine(index, self.label(index, i), self.parameters[i], self.sums.total(i))
                for index, i in self.order()]

    def dicts(self) -> Iterator[dict[str, Any]]:
        """``[e.as_dict() for e in lines()]``, made from the sums without the lines (JSON writes millions)."""
        order = self.order()
        for (index, i), figures in zip(order, self.sums.dicts([i for _, i in order])):
            yield {"index": index, "label": self.label(index, i), "parameters": self.parameters[i], **figures}

    def columns(self, domains: Sequence[str]) -> EpochColumns:
        """The epochs' figures as a table shows them, column by column, in epoch order, without
        their lines (a text report formats a million)."""
        s = self.sums
        order = self.order()
        at = [i for _, i in order]
        by_domain = []
        for d in domains:
            column = s.by_domain.get(d)
            by_domain.append([None] * len(at) if column is None else
                             [None if isnan(kwh := column[i]) else kwh for i in at])
        return EpochColumns(
            [index for index, _ in order], [self.parameters[i] for i in at], [s.duration_s[i] for i in at],
            [s.energy_kwh[i] for i in at], by_domain, [s.co2_kg[i] for i in at],
            [s.intensity_g_per_kwh(i) for i in at], [bool(s.interrupted[i]) for i in at],
        )

    def largest(self) -> tuple[float, float]:
        """The largest energy (kWh) and CO2e (kg) of an epoch, in absolute value (0 without epochs)."""
        s = self.sums
        return max(map(abs, s.energy_kwh), default=0.0), max(map(abs, s.co2_kg), default=0.0)

    def total(self) -> Totals:
        """The sum of the epochs, as ``combine(e.totals for e in lines())`` (without the lines)."""
        return self.sums.sum_of([i for _, i in self.order()])


class EpochColumns(NamedTuple):
    """A run's epochs in epoch order, a list per figure (:meth:`_Epochs.columns`): kWh, kg, s;
    ``by_domain`` has a list per domain asked for (None where the epoch did not report it);
    ``g_per_kwh`` is gCO2e per facility kWh (None without energy)."""

    index: list[int | None]
    parameters: list[str]
    duration_s: list[float]
    energy_kwh: list[float]
    by_domain: list[list[float | None]]
    co2_kg: list[float]
    g_per_kwh: list[float | None]
    interrupted: list[bool]


class _Process:
    """One process (host, rank) of a run while it is read: where its run rows and epoch rows are summed."""

    __slots__ = ("epochs", "pending", "runs")

    def __init__(self) -> None:
        self.runs = -1  # position in the run's sums of its run rows' sum; -1: none yet
        self.epochs = -1  # ... and of its epoch rows' sum (summed only when wanted, see pending)
        # Epoch positions whose only part is a row of this process, not yet added to its epochs'
        # sum: a process with a run row never needs that sum, and the others' is made of these
        # at the end. None once the process has a run row.
        self.pending: array | None = array("q")


class _Run:
    """What :func:`summarise` keeps of one run while it reads: sums, never rows."""

    __slots__ = ("carbon", "epochs", "exit_statuses", "first", "format", "has_run_row", "intensities", "other_hashes",
                 "processes", "pues", "run_intensities", "scopes", "sources", "stages", "start", "summed_seen", "sums",
                 "waiting")

    def __init__(self, row: Figures) -> None:
        self.first = (row.project, row.experiment)
        self.format = row.format
        self.summed_seen: set[int] = set()  # hashes of the run rows added (epochs keep their own)
        self.other_hashes = array("q")  # of the other windows' rows: only counted, so told apart at the end
        self.processes: dict[tuple[str, int], _Process] = {}
        self.waiting: list[_Process] = []  # those with epoch rows waiting to join their epochs' sum
        self.sums = Sums()
        self.epochs = _Epochs()
        self.run_intensities: list[str] = []  # a live intensity gives every epoch its own mean;
        self.intensities: list[str] = []  # the run rows say it once for the run
        self.has_run_row = False
        self.pues: set[float] = set()
        self.carbon: Carbon | None = None  # the last row's
        self.start: datetime | None = None
        self.sources: set[str] = set()
        self.scopes: set[str] = set()  # "machine", "process": whose energy the rows count
        self.exit_statuses: set[int] = set()  # of the command, on `wattprint run` rows
        self.stages: set[str] = set()  # of the run and epoch rows (sub-windows have their own)

    def add(self, row: Figures, describe: _Descriptions) -> None:
        window = row.window
        key = row.key
        if window == EPOCH:
            epochs = self.epochs
            i = epochs.positions.get(row.index)
            if i is not None and epochs.seen(i, key):
                self.other_hashes.append(0)  # counted as a duplicate below, never as a sub-window
                return
        elif window == RUN:
            if key in self.summed_seen:
                self.other_hashes.append(0)
                return
            self.summed_seen.add(key)
        else:
            self.other_hashes.append(key or 1)
        proc = self.processes.get((row.host, row.rank))
        if proc is None:
            proc = self.processes[(row.host, row.rank)] = _Process()
        if window == RUN:
            self.has_run_row = True
            if proc.runs < 0:
                proc.runs = _add_new(self.sums, row)
                proc.pending = None
            else:
                _add(self.sums, proc.runs, row)
        elif window == EPOCH:
            if proc.epochs < 0:
                proc.epochs = self.sums.new()
            self.add_epoch(proc, i, row)
        carbon = row.carbon
        if carbon is not self.carbon:  # rows of a file share their Carbon: described once
            self.carbon = carbon
            pue = carbon.pue
            if pue is not None:
                self.pues.add(pue)
        text = describe(carbon)
        if text:
            mine = self.run_intensities if window == RUN else None if self.has_run_row else self.intensities
            if mine is not None and text not in mine:
                mine.append(text)
        start = row.start_time
        if start is not None and (self.start is None or start < self.start):
            self.start = start
        self.sources.add(row.source)
        if row.format == "wattprint":
            self.scopes.add(row.scope)
        if row.exit_status is not None:
            self.exit_statuses.add(row.exit_status)
        if row.stage and (window == RUN or window == EPOCH):
            self.stages.add(row.stage)

    def add_epoch(self, proc: _Process, i: int | None, row: Figures) -> None:
        """Add an epoch row to its epoch's sum (at ``i``; None: a new epoch) and to its process's epochs' sum.

        Summed once where it can be: an epoch's first row is its epoch's sum, so it joins its
        process's sum later (:meth:`flush`), in the same order, only if that sum is wanted. Once
        an epoch has a second part (another process, the same index written again), the rows
        waiting for their process's sum are added to it first, and this row to both.
        """
        epochs = self.epochs
        pending = proc.pending
        if i is None:
            i = epochs.open(row)
            if pending is not None:
                if not pending:
                    self.waiting.append(proc)
                pending.append(i)
            return
        # A second part: every row still waiting joins its process's sum first (each in its order).
        if self.waiting:
            for waiting in self.waiting:
                self.flush(waiting)
            self.waiting.clear()
        _add(epochs.sums, i, row)
        if pending is not None:
            _add(self.sums, proc.epochs, row)

    def flush(self, proc: _Process) -> None:
        """Add the epoch rows of ``proc`` still waiting to its epochs' sum, in the order they were read."""
        pending = proc.pending
        if pending:
            for j in pending:
                self.sums.add_sum(proc.epochs, self.epochs.sums, j)
            del pending[:]

    def summary(self, run_id: str) -> tuple[RunSummary, int]:
        """The run, and how many of its rows were duplicates."""
        parts: list[Total] = []
        kinds: set[str] = set()
        for proc in self.processes.values():
            if proc.runs >= 0:
                parts.append(self.sums.total(proc.runs))
                kinds.add("run")
            elif proc.epochs >= 0:
                self.flush(proc)
                parts.append(self.sums.total(proc.epochs))
                kinds.add("epochs")
        self.waiting.clear()  # every process's sum is made
        counted_from = "none" if not kinds else kinds.pop() if len(kinds) == 1 else "mixed"
        others = self.other_hashes
        repeated = others.count(0)
        distinct = len(set(others)) - (1 if repeated else 0)
        repeated += len(others) - repeated - distinct
        project, experiment = self.first
        run = RunSummary(
            run_id=run_id,
            project=project,
            experiment=experiment,
            format=self.format,
            start_time=self.start.strftime(TIME_FORMAT) if self.start is not None else "",
            epoch_sums=self.epochs,
            total=combine(parts, parallel=True),
            counted_from=counted_from,
            intensities=self.run_intensities if self.has_run_row else self.intensities,
            pues=sorted(self.pues),
            processes=len(self.processes),
            sources=sorted(self.sources),
            other_windows=distinct,
            scopes=sorted(self.scopes),
            exit_statuses=sorted(self.exit_statuses),
            stages=sorted(self.stages),
        )
        return run, repeated


def _add(sums: Sums, i: int, row: Figures) -> None:
    sums.add_figures(i, *row[SUMMED])


def _add_new(sums: Sums, row: Figures) -> int:
    return sums.new_with(*row[SUMMED])


def _describe_intensity(c: Carbon) -> str:
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
