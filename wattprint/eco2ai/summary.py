"""ECO2AI's ``summary``: totals per project of an emissions CSV, as a pandas DataFrame."""

from __future__ import annotations

import os
from typing import Any

from wattprint.core.errors import MissingExtraError
from wattprint.eco2ai.errors import FileDoesNotExistsError, NotNeededExtensionError

COLUMNS = (
    "project_name",
    "total duration(s)",
    "total power_consumption(kWh)",
    "total CO2_emissions(kg)",
    "total electricity cost",
)


def summary(filename: str | os.PathLike[str], write_to_file: str | os.PathLike[str] | bool = False) -> Any:
    """Totals per project of ``filename``, then a last row ``"All the projects"``: duration (s),
    energy (kWh, facility: PUE included), CO2e (kg) and electricity cost. ``write_to_file``
    names a CSV to write the table to as well.

    The file is read as ``wattprint report`` reads it (ECO2AI, wattprint and CodeCarbon files),
    so each run counts once, even in a wattprint file that holds both a run's row and its epochs'.
    Projects are in sorted order, as ECO2AI sorts them.

    Raises:
        FileDoesNotExistsError, NotNeededExtensionError: no such file, or not a ``.csv``.
        MissingExtraError: pandas is not installed (``pip install 'wattprint[eco2ai]'``).
        wattprint.report.ReportError: the file cannot be read (the message says where and why).
    """
    name = os.fspath(filename)
    if not os.path.exists(name):
        raise FileDoesNotExistsError(f"File '{name}' does not exist")
    if not name.endswith(".csv"):
        raise NotNeededExtensionError("File need to be with extension '.csv'")
    try:
        import pandas as pd
    except ImportError:
        raise MissingExtraError("pandas", "eco2ai") from None  # summary() returns a DataFrame
    from wattprint.report import load_file, summarise

    totals: dict[str, list[float]] = {}
    for run in summarise(load_file(name)).runs:
        t = run.total
        sums = totals.setdefault(run.project, [0.0, 0.0, 0.0, 0.0])
        for i, value in enumerate((t.measurement.duration_s, t.footprint.facility_kwh, t.footprint.co2_kg,
                                   t.footprint.cost or 0.0)):
            sums[i] += value
    rows: list[list[Any]] = [[project, *totals[project]] for project in sorted(totals)]
    rows.append(["All the projects", *(sum(r[i] for r in rows) for i in range(1, 5))])
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    if write_to_file:
        table.to_csv(os.fspath(write_to_file))
    return table
