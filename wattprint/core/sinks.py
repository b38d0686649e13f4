"""Where records go: an append-only CSV (ECO2AI-compatible) and JSON Lines.

The CSV's first 13 columns are ECO2AI's, names and order exact, so its readers and ours
read each other's files; wattprint's own columns follow. Which energy a row holds depends on
the file's layout: in wattprint's (a ``pue`` column) ``power_consumption(kWh)`` and
``energy_kwh_<domain>`` are IT energy and ``pue`` says the facility overhead; in ECO2AI's (no
``pue`` column) every energy cell is facility energy, IT x PUE, as ECO2AI writes it. Either
way ``CO2_emissions(kg)`` is the same figure. Appends take an exclusive
``flock`` on the file and write each row with a single ``write`` call, so concurrent
writers (ranks, processes) never interleave rows. A file whose header is not one of ours
(or ECO2AI's) is never written to.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from wattprint.core.errors import ConfigError
from wattprint.core.record import EnergyRecord

log = logging.getLogger(__name__)

ECO2AI_COLUMNS = (
    "id",
    "project_name",
    "experiment_description",
    "epoch",
    "start_time",
    "duration(s)",
    "power_consumption(kWh)",
    "CO2_emissions(kg)",
    "CPU_name",
    "GPU_name",
    "OS",
    "region/country",
    "cost",
)
DOMAINS = ("cpu", "gpu", "ram")
# Optional per-domain columns of some ECO2AI files; like its total, facility energy in kWh.
ECO2AI_DOMAIN_COLUMNS = {"cpu": "CPU_consumption(kWh)", "gpu": "GPU_consumption(kWh)", "ram": "RAM_consumption(kWh)"}
EXTENDED_COLUMNS = (
    "window",
    "interrupted",
    *(f"energy_kwh_{d}" for d in DOMAINS),
    *(f"method_{d}" for d in DOMAINS),
    "failed_domains",
    "power_w",
    "intensity_g_per_kwh",
    "intensity_key",
    "intensity_source",
    "intensity_basis",
    "intensity_year",
    "located_by",
    "intensity_readings",
    "pue",
    "currency",
    "scope",
    "host",
    "rank",
    "local_rank",
    "world_size",
    "parameters",
)
COLUMNS = ECO2AI_COLUMNS + EXTENDED_COLUMNS

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")  # and the escape itself, so it reads back


class Sink(Protocol):
    """Anything that accepts records. ``close()`` releases resources."""

    def write(self, record: EnergyRecord) -> None: ...

    def close(self) -> None: ...


def _neutralise(text: str) -> str:
    """Stop spreadsheets from running a text cell as a formula (CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _fmt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def record_to_row(record: EnergyRecord, *, facility_energy: bool = False) -> dict[str, str]:
    """The CSV cells of a record, as text, keyed by column name.

    Energy cells are in kWh: IT energy by default (wattprint's layout, which has a ``pue``
    column), or facility energy, IT x ``pue``, with ``facility_energy=True`` (a file without a
    ``pue`` column, such as ECO2AI's, whose readers take the cell as facility energy). The
    ECO2AI per-domain columns (``CPU_consumption(kWh)``, ...) always hold facility energy.
    """
    scale = record.pue if facility_energy else 1.0
    t = record.start_time
    epoch = "N/A" if record.index is None else str(record.index)
    row = {
        "id": record.run_id,
        "project_name": record.project_name,
        "experiment_description": record.experiment_description,
        "epoch": epoch if record.window in ("epoch", "run") else f"{record.window} {epoch}",
        "start_time": t.strftime("%Y-%m-%d %H:%M:%S"),
        "duration(s)": _fmt(record.duration_s),
        "power_consumption(kWh)": _fmt(record.energy_kwh * scale),
        "CO2_emissions(kg)": _fmt(record.co2_kg),
        "CPU_name": record.cpu_name,
        "GPU_name": record.gpu_name,
        "OS": record.os,
        "region/country": record.intensity_name or record.intensity_key,
        "cost": _fmt(record.cost),
        "window": record.window,
        "interrupted": "true" if record.interrupted else "false",
        "failed_domains": " ".join(record.failed_domains),
        "power_w": _fmt(record.power_w),
        "intensity_g_per_kwh": _fmt(record.intensity_g_per_kwh),
        "intensity_key": record.intensity_key,
        "intensity_source": record.intensity_source,
        "intensity_basis": record.intensity_basis,
        "intensity_year": "" if record.intensity_year is None else str(record.intensity_year),
        "located_by": record.located_by,
        "intensity_readings": str(record.intensity_readings),
        "pue": _fmt(record.pue),
        "currency": record.currency if record.electricity_price is not None else "",
        "scope": record.scope,
        "host": record.host,
        "rank": str(record.rank),
        "local_rank": str(record.local_rank),
        "world_size": str(record.world_size),
        "parameters": json.dumps(dict(record.parameters), default=str, sort_keys=True)
        if record.parameters
        else "",
    }
    for d in DOMAINS:
        kwh = record.energy_kwh_by_domain.get(d)
        row[f"energy_kwh_{d}"] = _fmt(None if kwh is None else kwh * scale)
        row[f"method_{d}"] = record.method_by_domain.get(d, "")
        row[ECO2AI_DOMAIN_COLUMNS[d]] = _fmt(None if kwh is None else kwh * record.pue)
    return {k: _neutralise(v) for k, v in row.items()}


def _lock(handle) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: msvcrt locks a byte range of the open file
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        handle.seek(0, os.SEEK_END)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _unlock(handle) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_header(path: Path) -> list[str] | None:
    """The header row of an existing non-empty CSV, or None if absent or empty."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            first = f.readline()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} exists but is not a UTF-8 CSV ({exc.reason}); "
            f"pass another output_file, or move that file away."
        ) from None
    if not first.strip():
        return None
    return next(csv.reader([first]))


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Validate an output file path at construction time; raise ConfigError with a fix."""
    p = Path(path).expanduser()
    try:
        if p.is_dir():
            raise ConfigError(f"output_file {str(p)!r} is a directory; give a file path such as {str(p / 'emissions.csv')!r}.")
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError(f"the directory of output_file {str(p)!r} does not exist; create it first or choose another path.")
        writable = os.access(parent, os.W_OK | os.X_OK) and (not p.exists() or os.access(p, os.W_OK))
    except OSError as exc:  # e.g. a parent directory we may not enter
        raise ConfigError(f"output_file {str(p)!r} cannot be checked ({exc.strerror}); choose a path you can write.") from None
    if not writable:
        raise ConfigError(f"output_file {str(p)!r} is not writable; choose a writable path or pass output_file=None.")
    return p


class CsvSink:
    """Appends one row per record to a CSV file, header written once.

    Raises :class:`ConfigError` at construction if the file exists with a header that is
    neither wattprint's nor ECO2AI's (it is never overwritten). An existing ECO2AI file (its 13
    columns, perhaps with ``CPU_/GPU_/RAM_consumption(kWh)``) is appended to in its own
    columns, with facility energy (IT x PUE, kWh) in its energy cells as ECO2AI means them,
    since the file has no ``pue`` column to say the overhead. A new file gets wattprint's
    columns: IT energy plus a ``pue`` column. Write failures (disk full, read-only) warn once
    and are otherwise ignored: measurement must not stop training.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = check_output_path(path)
        header = read_header(self.path)
        if header is not None and tuple(header[: len(ECO2AI_COLUMNS)]) != ECO2AI_COLUMNS:
            raise ConfigError(
                f"{self.path} exists and is not a wattprint or ECO2AI CSV (its header starts "
                f"{header[:3]}); it will not be written to. Pass another output_file."
            )
        self._warned = False

    def _columns(self) -> Sequence[str]:
        header = read_header(self.path)
        return COLUMNS if header is None else header

    def write(self, record: EnergyRecord) -> None:
        try:
            self._append(record)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"wattprint: could not write to {self.path} ({exc}); records are still returned "
                    f"and logged, but this file will miss them.",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def _append(self, record: EnergyRecord) -> None:
        # "a+" so the header check and the append happen under one lock on one handle.
        with open(self.path, "a+", newline="", encoding="utf-8") as f:
            _lock(f)
            try:
                f.seek(0, os.SEEK_END)
                empty = f.tell() == 0
                if empty:
                    columns: Sequence[str] = COLUMNS
                else:
                    f.seek(0)
                    columns = next(csv.reader([f.readline()]))
                    f.seek(0, os.SEEK_END)
                # The layout is read under the lock: another writer may have just created the file.
                row = record_to_row(record, facility_energy="pue" not in columns)
                buf = io.StringIO()
                writer = csv.writer(buf, lineterminator="\n")
                if empty:
                    writer.writerow(columns)
                writer.writerow([row.get(c, "") for c in columns])
                f.write(buf.getvalue())  # one write per row: no half rows between writers
                f.flush()
                os.fsync(f.fileno())
            finally:
                _unlock(f)

    def close(self) -> None:
        """Nothing stays open between writes."""


class JsonlSink:
    """Appends one JSON object per record (``EnergyRecord.as_dict()``) to a ``.jsonl`` file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = check_output_path(path)
        self._warned = False

    def write(self, record: EnergyRecord) -> None:
        line = json.dumps(record.as_dict(), default=str, sort_keys=True) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                _lock(f)
                try:
                    f.write(line)
                    f.flush()
                finally:
                    _unlock(f)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(f"wattprint: could not write to {self.path} ({exc}).", RuntimeWarning, stacklevel=2)

    def close(self) -> None:
        """Nothing stays open between writes."""


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a wattprint or ECO2AI CSV back as a list of dicts (text values)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
