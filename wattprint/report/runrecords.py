"""One run's records out of the rows of emission CSVs: which run, and which rows hold all of it.

Shared by what works on a single run (the plan's energy profile, the suggestions, the model
card). The counting rule is the report's: for each process (host, rank) its ``run`` rows cover
the whole run; a process without one (a run killed early, ECO2AI files) is covered by its
``epoch`` rows; other windows may overlap and are never summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from wattprint.core.errors import ConfigError
from wattprint.core.record import EnergyRecord
from wattprint.report.figures import Figures
from wattprint.report.load import Row

__all__ = ["RowsKept", "choose_run", "records_by_run", "records_of", "run_ids", "whole_run"]


def run_ids(rows: Sequence[Row]) -> list[str]:
    """The run ids, in order of first appearance."""
    return list(dict.fromkeys(r.record.labels.run_id for r in rows))


def choose_run(rows: Sequence[Row], run: str | None, where: str, option: str = "--run") -> str:
    """The run id ``run`` starts (default: the run of the last row).

    Raises:
        ConfigError: no rows, or ``run`` matching no run or several.
    """
    if not rows:
        raise ConfigError(f"{where} holds no runs")
    if run is None:
        return rows[-1].record.labels.run_id
    matches = [i for i in run_ids(rows) if i.startswith(run)]
    if len(matches) != 1:
        raise ConfigError(f"{option}{'' if option.endswith('=') else ' '}{run!r} matches {len(matches)} runs in {where}; "
                          "give more of its id (wattprint report lists them)")
    return matches[0]


def records_of(rows: Sequence[Row], run_id: str) -> list[EnergyRecord]:
    return [r.record for r in rows if r.record.labels.run_id == run_id]


def records_by_run(rows: Iterable[Row]) -> dict[str, list[EnergyRecord]]:
    """Each run's records (:func:`records_of` of every run), runs in order of first appearance, in one pass."""
    out: dict[str, list[EnergyRecord]] = {}
    for row in rows:
        out.setdefault(row.record.labels.run_id, []).append(row.record)
    return out


def whole_run(records: Sequence[EnergyRecord]) -> list[EnergyRecord]:
    """The records that together cover the whole run once (see the module docstring)."""
    by_process: dict[tuple[str, int], list[EnergyRecord]] = {}
    for rec in records:
        by_process.setdefault((rec.labels.host, rec.labels.rank), []).append(rec)
    out: list[EnergyRecord] = []
    for recs in by_process.values():
        runs = [r for r in recs if r.labels.window == "run"]
        out.extend(runs or [r for r in recs if r.labels.window == "epoch"])
    return out


class RowsKept:
    """The rows that cover each run once (:func:`whole_run`'s rule), kept while a report streams
    past the rest: a process's run rows, and its epoch rows only until its run row comes (a run
    killed early, ECO2AI files: they have none) -- or all epoch rows with ``keep_epochs`` (a
    forecast's time shift follows the run's energy profile). Step and other windows are never kept.

    Rows kept to the end (run rows; epoch rows with ``keep_epochs``) are decoded in full when
    read, as they would be anyway (a record takes no more memory than its cells). An epoch row
    read plain (:class:`~wattprint.report.figures.Figures` without its record) waiting for its
    process's run row keeps its cells, and is decoded only if no run row comes.
    """

    def __init__(self, *, keep_epochs: bool) -> None:
        self.keep_epochs = keep_epochs
        self._runs: dict[tuple, list[Figures]] = {}
        self._epochs: dict[tuple, list[Figures]] = {}

    def tee(self, rows: Iterable[Row | Figures], bases: set[str]) -> Iterator[Figures]:
        """``rows`` as :class:`~wattprint.report.figures.Figures`, passed on; the intensity bases seen
        are added to ``bases``."""
        for row in rows:
            if type(row) is not Figures:
                row = Figures.of_row(row)
            bases.add(row.carbon.intensity_basis)
            key = (row.run_id, row.host, row.rank)
            window = row.window
            if window == "run":
                self._runs.setdefault(key, []).append(_whole(row))
                if not self.keep_epochs:
                    self._epochs.pop(key, None)
            elif window == "epoch":
                if self.keep_epochs:
                    self._epochs.setdefault(key, []).append(_whole(row))
                elif key not in self._runs:
                    self._epochs.setdefault(key, []).append(row)
            yield row

    def rows(self) -> list[Row]:
        """The kept rows, in order of their first line."""
        kept = [r for rows in (*self._epochs.values(), *self._runs.values()) for r in rows]
        return [r.decoded() for r in sorted(kept, key=lambda r: (r.source, r.line))]


def _whole(row: Figures) -> Figures:
    """``row`` with its decoded Row (and not its cells)."""
    return row if row.row is not None else row._replace(row=row.decoded(), header=None, cells=None)
