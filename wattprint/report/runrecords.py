"""One run's records out of the rows of emission CSVs: which run, and which rows hold all of it.

Shared by what works on a single run (the plan's energy profile, the suggestions, the model
card). The counting rule is the report's: for each process (host, rank) its ``run`` rows cover
the whole run; a process without one (a run killed early, ECO2AI files) is covered by its
``epoch`` rows; other windows may overlap and are never summed.
"""

from __future__ import annotations

from collections.abc import Sequence

from wattprint.core.errors import ConfigError
from wattprint.core.record import EnergyRecord
from wattprint.report.load import Row

__all__ = ["choose_run", "records_of", "run_ids", "whole_run"]


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
