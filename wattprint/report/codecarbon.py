"""Read CodeCarbon's emissions CSVs into report rows, next to wattprint's and ECO2AI's.

CodeCarbon (2.x, 3.x) writes one row per run (``tracker.stop()``; ``flush()`` appends the run's
totals so far under the same ``run_id``), in its own columns: ``timestamp`` (the end of the
run, local time), ``project_name``, ``run_id``, ``experiment_id``, ``duration`` (s),
``emissions`` (kg CO2e), ``cpu_energy``, ``gpu_energy``, ``ram_energy`` and
``energy_consumed`` (kWh), ``country_iso_code``, ``region``, ``pue``, ...

Its energies include the PUE (CodeCarbon 3 multiplies them by it); where the file gives the
PUE, the record holds IT energy and that PUE, as wattprint's rows do, so ``facility_kwh`` is
CodeCarbon's ``energy_consumed``. A run flushed several times counts once, at its last row.
CodeCarbon does not say how each figure was obtained, so the rows carry no method.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timedelta, timezone

from wattprint.core.footprint import Carbon, Footprint
from wattprint.core.measurement import DOMAINS, Measurement
from wattprint.core.record import EnergyRecord, Labels
from wattprint.core.units import G_PER_KG
from wattprint.report.load import Damaged, ReportError, Row

FORMAT = "codecarbon"
#: The columns that tell a CodeCarbon file, and the ones a row cannot be read without.
SIGNATURE = ("timestamp", "project_name", "run_id", "duration", "emissions", "energy_consumed")
REQUIRED = ("duration", "emissions", "energy_consumed")
# CodeCarbon's experiment_id when none is given: no experiment of the user's.
_DEFAULT_EXPERIMENT = "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"
_MISSING = frozenset({"", "nan", "none", "null", "n/a"})


def recognises(text: str) -> bool:
    """Whether ``text`` is a CodeCarbon CSV (by its header)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return all(c in [cell.strip() for cell in next(csv.reader([first]), [])] for c in SIGNATURE)


def parse(name: str, text: str, damaged: list[Damaged] | None = None) -> list[Row]:
    """The runs of a CodeCarbon CSV ``name`` (its text), one row each, in file order.

    A damaged row (the wrong number of fields, a figure that is no number >= 0) is added to
    ``damaged`` and skipped, as the report skips a damaged row of any file; without
    ``damaged`` it raises :class:`ReportError`.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    last: dict[str, Row] = {}  # run_id -> its latest row: flushes repeat a run's totals so far
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        stripped = [c.strip() for c in cells]
        if header is None or all(c in stripped for c in SIGNATURE):  # the first header, or a concatenated file's
            header = stripped
            continue
        where = f"{name}, line {reader.line_num}"
        try:
            if len(cells) != len(header):
                raise ReportError(f"{where}: {len(cells)} fields but the header has {len(header)}; the row is "
                                  "damaged (delete that line to report the rest)")
            row = Row(_record(dict(zip(header, cells)), where, f"{name}:{reader.line_num}"), name, reader.line_num,
                      FORMAT, "", "")
        except ReportError as exc:
            if damaged is None:
                raise
            damaged.append(Damaged(name, reader.line_num, str(exc).removeprefix(f"{where}: ")))
            continue
        run_id = row.record.run_id
        previous = last.get(run_id)
        if previous is None or row.record.duration_s >= previous.record.duration_s:
            last.pop(run_id, None)
            last[run_id] = row
    return sorted(last.values(), key=lambda r: r.line)


def _number(cells: dict[str, str], column: str, where: str, *, required: bool = False) -> float | None:
    text = (cells.get(column) or "").strip()
    if text.casefold() in _MISSING:
        if required:
            raise ReportError(f"{where}: {column} is empty; the row is damaged")
        return None
    try:
        value = float(text)
    except ValueError:
        if required:
            raise ReportError(f"{where}: {column} is {text!r}, not a number") from None
        return None
    if not math.isfinite(value) or value < 0:
        if required:
            raise ReportError(f"{where}: {column} is {text!r}; expected a finite number >= 0")
        return None
    return value


def _record(cells: dict[str, str], where: str, fallback_id: str) -> EnergyRecord:
    duration_s, co2_kg, facility = (_number(cells, c, where, required=True) for c in REQUIRED)
    assert duration_s is not None and co2_kg is not None and facility is not None
    pue = _number(cells, "pue", where)
    pue = pue if pue is not None and pue >= 1.0 else None
    it = 1.0 if pue is None else pue  # None: the energies are as written, PUE unknown
    domains = {}
    for d in DOMAINS:
        kwh = _number(cells, f"{d}_energy", where)
        if kwh is not None and (kwh > 0 or d != "gpu" or (_number(cells, "gpu_count", where) or 0) > 0):
            domains[d] = kwh / it
    text = {k: (v or "").strip() for k, v in cells.items()}
    country, region = text.get("country_iso_code", ""), text.get("region", "")
    carbon = Carbon(
        pue=pue,
        intensity_g_per_kwh=co2_kg * G_PER_KG / facility if facility > 0 else None,
        intensity_key="/".join(x for x in (country, region) if x) or text.get("cloud_region", ""),
        intensity_name="/".join(x for x in (text.get("country_name", ""), region) if x),
        intensity_source="CodeCarbon",
    )
    experiment = text.get("experiment_id", "")
    labels = Labels(
        project_name=text.get("project_name", ""),
        experiment_description="" if experiment == _DEFAULT_EXPERIMENT else experiment,
        run_id=text.get("run_id") or fallback_id,
        window="run",
        start_time=_start(text.get("timestamp", ""), duration_s),
        scope="process" if text.get("tracking_mode") == "process" else "machine",
        cpu_name=text.get("cpu_model", ""),
        gpu_name=text.get("gpu_model", ""),
        os=text.get("os", ""),
    )
    measured = Measurement(duration_s, facility / it, domains)
    return EnergyRecord(labels, measured, carbon, Footprint(facility, co2_kg, None))


def _start(timestamp: str, duration_s: float) -> datetime | None:
    """The run's start: CodeCarbon's timestamp is its end (taken as UTC where no zone is given)."""
    try:
        end = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    return end - timedelta(seconds=duration_s)
