"""Read wattprint and ECO2AI emission CSVs into typed :class:`Row` s.

Both formats start with ECO2AI's 13 columns (``id, project_name, ..., cost``); wattprint's own
columns (``window``, per-domain energy and method, intensity and its source, PUE, host, rank,
...) follow. What differs and is handled here:

* ``epoch``: wattprint writes ``N/A`` for a run, ``3`` for epoch 3 and ``step 3`` for other
  windows; ECO2AI writes ``N/A`` outside training and ``epoch: 3, loss: 0.1, `` during training
  (the epoch number followed by the parameters given to ``new_epoch``).
* energy: wattprint's ``power_consumption(kWh)`` is IT energy and ``pue`` is its own column;
  ECO2AI's already includes the PUE and the PUE is not written, so ECO2AI rows get ``pue=None``
  and count as facility energy. ECO2AI's optional ``CPU_/GPU_/RAM_consumption(kWh)`` columns
  are read as the per-domain energy.
* text cells: wattprint prefixes cells that start with ``= + - @`` with ``'`` so spreadsheets
  do not run them; the prefix is removed again on reading.

Anything else wrong with a file (missing, not UTF-8, not a CSV of either kind, a row with the
wrong number of fields, a number that is not one) raises :class:`ReportError` with the file
and line, never another exception.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wattprint.core.errors import WattprintError
from wattprint.core.sinks import DOMAINS, ECO2AI_COLUMNS, ECO2AI_DOMAIN_COLUMNS

__all__ = ["REQUIRED_COLUMNS", "ReportError", "Row", "load_file", "load_files", "parse_epoch"]

REQUIRED_COLUMNS = ("project_name", "duration(s)", "power_consumption(kWh)", "CO2_emissions(kg)")
_MISSING = frozenset({"", "n/a", "na", "nan", "none", "null"})
# The CSV sink prefixes cells starting with these with "'" (spreadsheet formula injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ECO2AI_EPOCH = re.compile(r"epoch:\s*(-?\d+)\s*(.*)", re.S)
_NAMED_WINDOW = re.compile(r"(.+?)\s+(-?\d+|N/A)", re.S)
_TRUE = frozenset({"true", "1", "yes"})


class ReportError(WattprintError, ValueError):
    """A file given to the report cannot be read; the message names the file (and line) and why."""


@dataclass(frozen=True)
class Row:
    """One row of an emissions CSV. Energy in kWh, CO2e in kg, durations in seconds.

    ``window`` is ``"run"`` (a whole run), ``"epoch"`` or the name of another window
    (``"step"``, ...). ``energy_kwh`` excludes the PUE for wattprint rows (``pue`` given) and
    includes it for ECO2AI rows (``pue`` is ``None``); :attr:`facility_kwh` is comparable across both.
    """

    source: str
    line: int
    format: str  # "wattprint" or "eco2ai"
    run_id: str
    project: str
    experiment: str
    window: str
    index: int | None
    label: str
    start_time: str
    duration_s: float
    energy_kwh: float
    co2_kg: float
    energy_kwh_by_domain: Mapping[str, float] = field(default_factory=dict)
    method_by_domain: Mapping[str, str] = field(default_factory=dict)
    pue: float | None = None
    intensity_g_per_kwh: float | None = None
    intensity_key: str = ""
    intensity_name: str = ""
    intensity_source: str = ""
    intensity_basis: str = ""
    intensity_year: int | None = None
    cpu_name: str = ""
    gpu_name: str = ""
    os: str = ""
    host: str = ""
    rank: int = 0
    interrupted: bool = False
    failed_domains: tuple[str, ...] = ()
    parameters: str = ""
    cost: float | None = None
    currency: str = ""

    @property
    def facility_kwh(self) -> float:
        """Energy including the facility overhead (PUE), kWh: what the CO2e was computed from."""
        return self.energy_kwh * (self.pue if self.pue is not None else 1.0)

    @property
    def identity(self) -> tuple:
        """What makes two rows the same measurement (the same file read twice, say)."""
        return (
            self.run_id, self.project, self.experiment, self.window, self.index, self.label,
            self.start_time, self.duration_s, self.energy_kwh, self.co2_kg, self.host, self.rank,
        )


def parse_epoch(cell: str) -> tuple[str, int | None, str]:
    """The ``epoch`` cell as ``(window, index, parameters)``.

    ``"N/A"`` -> ``("run", None, "")``; ``"3"`` -> ``("epoch", 3, "")``;
    ``"epoch: 3, loss: 0.1, "`` (ECO2AI) -> ``("epoch", 3, "loss: 0.1")``;
    ``"step 7"`` -> ``("step", 7, "")``. Anything else is a window named after the cell.
    """
    text = cell.strip()
    if text.casefold() in _MISSING:
        return "run", None, ""
    if re.fullmatch(r"-?\d+", text):
        return "epoch", int(text), ""
    m = _ECO2AI_EPOCH.fullmatch(text)
    if m:
        params = ", ".join(p.strip() for p in m.group(2).split(",") if p.strip())
        return "epoch", int(m.group(1)), params
    m = _NAMED_WINDOW.fullmatch(text)
    if m:
        index = None if m.group(2) == "N/A" else int(m.group(2))
        return m.group(1), index, ""
    return text, None, ""


def load_files(paths: Iterable[str | os.PathLike[str]]) -> list[Row]:
    """Every row of every file, in order. Raises :class:`ReportError` on the first bad file."""
    rows: list[Row] = []
    for path in paths:
        rows.extend(load_file(path))
    return rows


def load_file(path: str | os.PathLike[str]) -> list[Row]:
    """The rows of one wattprint or ECO2AI CSV. A header-only file gives ``[]``."""
    name = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ReportError(f"{name}: no such file; pass the CSV written by wattprint or ECO2AI") from None
    except IsADirectoryError:
        raise ReportError(f"{name}: is a directory; pass a CSV file such as {os.path.join(name, 'emissions.csv')}") from None
    except OSError as exc:
        raise ReportError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")  # -sig: spreadsheets often add a byte-order mark
    except UnicodeDecodeError as exc:
        raise ReportError(f"{name}: not UTF-8 text (byte {exc.start}); is it really a CSV?") from None
    try:
        return _parse(name, text)
    except csv.Error as exc:
        raise ReportError(f"{name}: not a readable CSV ({exc})") from None


def _parse(name: str, text: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[Row] = []
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if header is None or _is_header(cells):
            # A second header appears where files were concatenated (``cat a.csv b.csv``).
            header = _check_header(name, cells)
            continue
        where = f"{name}, line {reader.line_num}"
        wattprint = "window" in header
        # wattprint writes every row in its file's columns, so a short row was cut off (a full
        # disk, a power loss) and its last cell cannot be trusted. ECO2AI rows may be shorter.
        if len(cells) > len(header) or (wattprint and len(cells) < len(header)):
            raise ReportError(
                f"{where}: {len(cells)} fields but the header has {len(header)}; the row is damaged "
                "(delete that line to report the rest)"
            )
        values = dict(zip(header, cells))
        missing = [c for c in REQUIRED_COLUMNS if c not in values]
        if missing:
            raise ReportError(f"{where}: only {len(cells)} fields (no {missing[0]}); the row is damaged")
        rows.append(_row(name, reader.line_num, where, values, wattprint))
    return rows  # an empty file is like a header-only one: a run killed before its first row


def _is_header(cells: Sequence[str]) -> bool:
    return tuple(c.strip() for c in cells[: len(ECO2AI_COLUMNS)]) == ECO2AI_COLUMNS


def _check_header(name: str, cells: Sequence[str]) -> list[str]:
    header = [c.strip() for c in cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        start = ", ".join(header[:3])
        raise ReportError(
            f"{name}: not a wattprint or ECO2AI CSV (no {', '.join(missing)} column; the header starts {start!r})"
        )
    return header


def _text(values: Mapping[str, str], column: str, wattprint: bool) -> str:
    value = values.get(column) or ""
    if wattprint and value.startswith("'") and value[1:].startswith(_FORMULA_STARTS):
        return value[1:]
    return value


def _number(values: Mapping[str, str], column: str, where: str, wattprint: bool) -> float:
    raw = _text(values, column, wattprint)
    text = raw.strip()
    if text.casefold() in _MISSING:
        raise ReportError(f"{where}: {column} is empty; the row is damaged")
    try:
        value = float(text)
    except ValueError:
        raise ReportError(f"{where}: {column} is {raw!r}, not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ReportError(f"{where}: {column} is {raw!r}; expected a finite number >= 0")
    return value


def _optional(values: Mapping[str, str], column: str, wattprint: bool) -> float | None:
    """An optional number: missing, unreadable or negative cells read as None."""
    text = _text(values, column, wattprint).strip()
    if text.casefold() in _MISSING:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _row(name: str, line: int, where: str, values: Mapping[str, str], wattprint: bool) -> Row:
    def text(column: str) -> str:
        return _text(values, column, wattprint)

    duration_s = _number(values, "duration(s)", where, wattprint)
    energy_kwh = _number(values, "power_consumption(kWh)", where, wattprint)
    co2_kg = _number(values, "CO2_emissions(kg)", where, wattprint)
    label = text("epoch")
    window, index, parameters = parse_epoch(label)
    by_domain: dict[str, float] = {}
    methods: dict[str, str] = {}
    if wattprint:
        named = text("window").strip()
        if named:
            window = named
        for d in DOMAINS:
            kwh = _optional(values, f"energy_kwh_{d}", wattprint)
            if kwh is not None:
                by_domain[d] = kwh
                methods[d] = text(f"method_{d}").strip()
        parameters = text("parameters") or parameters
        pue = _optional(values, "pue", wattprint)
        if pue is not None and pue < 1.0:
            pue = None
        if pue is None:
            pue = 1.0
        intensity = _optional(values, "intensity_g_per_kwh", wattprint)
    else:
        for d, column in ECO2AI_DOMAIN_COLUMNS.items():
            kwh = _optional(values, column, wattprint)
            if kwh is not None:
                by_domain[d] = kwh
        pue = None
        intensity = co2_kg * 1000.0 / energy_kwh if energy_kwh > 0 else None
    run_id = text("id").strip() or f"{name}:{line}"
    return Row(
        source=name,
        line=line,
        format="wattprint" if wattprint else "eco2ai",
        run_id=run_id,
        project=text("project_name"),
        experiment=text("experiment_description"),
        window=window,
        index=index,
        label=label,
        start_time=text("start_time").strip(),
        duration_s=duration_s,
        energy_kwh=energy_kwh,
        co2_kg=co2_kg,
        energy_kwh_by_domain=by_domain,
        method_by_domain=methods,
        pue=pue,
        intensity_g_per_kwh=intensity,
        intensity_key=text("intensity_key"),
        intensity_name=text("region/country"),
        intensity_source=text("intensity_source") if wattprint else "ECO2AI",
        intensity_basis=text("intensity_basis"),
        intensity_year=_int(text("intensity_year")),
        cpu_name=text("CPU_name"),
        gpu_name=text("GPU_name"),
        os=text("OS"),
        host=text("host"),
        rank=_int(text("rank")) or 0,
        interrupted=text("interrupted").strip().casefold() in _TRUE,
        failed_domains=tuple(text("failed_domains").split()),
        parameters=parameters,
        cost=_optional(values, "cost", wattprint),
        currency=text("currency"),
    )
