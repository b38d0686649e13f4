"""The emissions CSV, both ways: columns, the formula guard, encoding a record, decoding a row.

The first 13 columns are ECO2AI's, names and order exact, so its readers and ours read each
other's files; wattprint's own columns follow. Two layouts, told apart by the header:

* **wattprint** (a ``pue`` column): ``power_consumption(kWh)`` and ``energy_kwh_<domain>`` are
  IT energy, ``pue`` says the facility overhead;
* **ECO2AI** (no ``pue`` column): every energy cell is facility energy (IT x PUE), as ECO2AI
  writes it, since the file has nowhere to say the overhead. wattprint appends to such a file
  in its own columns and meaning.

``CO2_emissions(kg)`` is the same figure in both. Any text is kept exactly: a cell holding a
comma, quote, CR, LF or NUL is quoted, so no text can end a row early. Text that a
spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) gets a ``'`` before
it (:func:`guard`) -- at the start of a cell and after every line break inside one, since a
spreadsheet shows each line of a cell as its own --, and so does a ``'`` in those places, so
that :func:`unguard` undoes it exactly. The sink (:mod:`wattprint.core.sinks`) writes with
:func:`encode_row`; ``wattprint report`` splits a file into records with
:func:`split_records`, where a damaged line stays alone, and reads each with :func:`decode_row`.
"""

from __future__ import annotations

import math
import re
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone

from wattprint.core.footprint import Carbon, Footprint, facility_kwh
from wattprint.core.measurement import DOMAINS, Measurement
from wattprint.core.record import EnergyRecord, Labels, made

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

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
    # Added later, hence last: files written before them are read by header name all the same.
    "stage",
    "work",
    "work_unit",
    "exit_status",  # the measured command's, on `wattprint run` rows; files without it read as empty
)
COLUMNS = ECO2AI_COLUMNS + EXTENDED_COLUMNS
#: Cells that cannot be read without these; a row lacking one is damaged.
REQUIRED_COLUMNS = ("project_name", "duration(s)", "power_consumption(kWh)", "CO2_emissions(kg)")

WATTPRINT = "wattprint"
ECO2AI = "eco2ai"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # ECO2AI's, in UTC here

# Spreadsheets run a cell starting with = + - @ (and tab or CR before them) as a formula. The
# escape character itself is in the list, so that an escaped cell is never ambiguous.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
# A cell holding any of these is quoted, so that no text can end a row or a cell early.
_QUOTE_IF = frozenset(',"\r\n\x00')
# Where a line of a cell starts: after a CR or LF, before a character a formula starts with.
_AFTER_BREAK = r"(?<=[\r\n])(?=[=+\-@\t\r'])"
_ESCAPE_AFTER_BREAK = r"(?<=[\r\n])'(?=[=+\-@\t\r'])"
#: The largest figure a row may hold (kWh, kg, s, money): a value above is damage, not a measurement,
#: and sums of many such rows would overflow to infinity.
MAX_FIGURE = 1e18
#: Lines a quoted cell may span when read (files of other writers); beyond, the line is damaged.
MAX_SPAN_LINES = 20
_MISSING = frozenset({"", "n/a", "na", "nan", "none", "null"})
_TRUE = frozenset({"true", "1", "yes"})
# Reading only: compiled (and cached) by the re module on first use, not at import.
_ECO2AI_EPOCH = r"epoch:\s*(-?\d+)\s*(.*)"
_NAMED_WINDOW = r"(.+?)\s+(-?\d+|N/A)"


def _json():
    import json  # deferred: only rows with parameters need it, and a tracker's start does not

    return json


class RowError(ValueError):
    """A row that cannot be read; the message names the cell and why (the caller adds the file and line)."""


def guard(text: str) -> str:
    """``text`` as a cell no spreadsheet runs as a formula (CSV injection), on any of its lines."""
    if "\r" in text or "\n" in text:
        text = re.sub(_AFTER_BREAK, "'", text)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def unguard(text: str) -> str:
    """The text :func:`guard` was given: ``unguard(guard(t)) == t`` for every ``t``."""
    text = text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text
    if "\r" in text or "\n" in text:
        text = re.sub(_ESCAPE_AFTER_BREAK, "", text)
    return text


def layout_of(header: Sequence[str]) -> str | None:
    """:data:`WATTPRINT` or :data:`ECO2AI` for a header of either kind, None for any other CSV."""
    if tuple(c.strip().lstrip("\ufeff") for c in header[: len(ECO2AI_COLUMNS)]) != ECO2AI_COLUMNS:
        return None
    return WATTPRINT if "pue" in header else ECO2AI


def line(cells: Sequence[str]) -> str:
    """One CSV line (RFC 4180, ``\\n`` ended): cells holding a comma, quote, CR, LF or NUL are quoted."""
    return ",".join('"' + c.replace('"', '""') + '"' if _QUOTE_IF.intersection(c) else c for c in cells) + "\n"


def encode_row(record: EnergyRecord, columns: Sequence[str] = COLUMNS) -> str:
    """The line for ``record`` in a file with ``columns`` (its layout decides what energy means)."""
    cells = _cells(record, facility=layout_of(columns) != WATTPRINT)
    return line([cells.get(c, "") for c in columns])


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _cells(record: EnergyRecord, *, facility: bool) -> dict[str, str]:
    labels, m, carbon, fp = record.labels, record.measurement, record.carbon, record.footprint

    def energy(kwh: float | None) -> str:
        return _number(None if kwh is None else facility_kwh(kwh, carbon.pue) if facility else kwh)

    index = "N/A" if labels.index is None else str(labels.index)
    row = {
        "id": labels.run_id,
        "project_name": labels.project_name,
        "experiment_description": labels.experiment_description,
        "epoch": index if labels.window in ("epoch", "run") else f"{labels.window} {index}",
        "start_time": labels.start_time.strftime(TIME_FORMAT) if labels.start_time else "",
        "duration(s)": _number(m.duration_s),
        "power_consumption(kWh)": energy(m.energy_kwh),
        "CO2_emissions(kg)": _number(fp.co2_kg),
        "CPU_name": labels.cpu_name,
        "GPU_name": labels.gpu_name,
        "OS": labels.os,
        "region/country": carbon.intensity_name or carbon.intensity_key,
        "cost": _number(fp.cost),
        "window": labels.window,
        "interrupted": "true" if labels.interrupted else "false",
        "failed_domains": " ".join(m.failed_domains),
        "power_w": _number(m.power_w),
        "intensity_g_per_kwh": _number(carbon.intensity_g_per_kwh),
        "intensity_key": carbon.intensity_key,
        "intensity_source": carbon.intensity_source,
        "intensity_basis": carbon.intensity_basis,
        "intensity_year": "" if carbon.intensity_year is None else str(carbon.intensity_year),
        "located_by": carbon.located_by,
        "intensity_readings": str(carbon.intensity_readings),
        "pue": _number(carbon.pue),
        "currency": carbon.currency if fp.cost is not None else "",
        "scope": labels.scope,
        "host": labels.host,
        "rank": str(labels.rank),
        "local_rank": str(labels.local_rank),
        "world_size": str(labels.world_size),
        # Keys as text: JSON's object keys are, and sort_keys cannot order mixed key types.
        "parameters": _json().dumps({str(k): v for k, v in labels.parameters.items()}, default=str, sort_keys=True)
        if labels.parameters
        else "",
        "stage": labels.stage,
        "work": _number(labels.work),
        "work_unit": labels.work_unit,
        "exit_status": "" if labels.exit_status is None else str(labels.exit_status),
    }
    for d in DOMAINS:
        kwh = m.energy_kwh_by_domain.get(d)
        row[f"energy_kwh_{d}"] = energy(kwh)
        row[f"method_{d}"] = m.method_by_domain.get(d, "")
        row[ECO2AI_DOMAIN_COLUMNS[d]] = _number(None if kwh is None else facility_kwh(kwh, carbon.pue))
    return {k: guard(v) for k, v in row.items()}


# -- reading -------------------------------------------------------------------------------------


def split_records(text: str | Iterable[str], width: Callable[[], int | None]) -> Iterator[tuple[int, list[str] | None]]:
    """The records of a CSV as ``(line number, cells)``; ``cells`` is None for a damaged line.

    ``text`` is the whole text, or its lines as a file opened with ``newline="\\n"`` gives them
    (read lazily: a file of any length streams through a few lines of look-ahead).

    A record is one line, except where a quoted cell spans lines (other writers): a line that
    ends inside quotes is joined with the following ones until the quotes close, at most
    :data:`MAX_SPAN_LINES`, and only if the joined record has ``width()`` cells (None: any
    number). Otherwise that line alone is damaged -- a cut-off row -- and the next line is read
    as a record of its own, so a damaged line never swallows a healthy one.
    """
    from collections import deque

    if isinstance(text, str):
        parts = text.split("\n")
        if parts and parts[-1] == "":
            parts.pop()
        source = enumerate(parts, 1)
    else:
        source = enumerate((line.removesuffix("\n") for line in text), 1)
    ahead: deque[tuple[int, str]] = deque()  # lines read for a span that did not close: read again

    def pull() -> tuple[int, str] | None:
        return ahead.popleft() if ahead else next(source, None)

    while (item := pull()) is not None:
        number, chunk = item
        if '"' not in chunk and "\r" not in chunk and "\x00" not in chunk and 0 < len(chunk) <= _PLAIN_MAX:
            # No quotes, no CR (a line end to the csv module), no NUL (an error to it before
            # Python 3.11), no cell over its size limit: the cells are the text between the
            # commas, as csv.reader reads them, at a fraction of the cost.
            yield number, chunk.split(",")
            continue
        if chunk.count('"') % 2 == 0:
            yield number, _cells_of(chunk)
            continue
        # Ends inside a quoted cell: join the following lines until the quotes close.
        taken: list[tuple[int, str]] = []
        while len(taken) < MAX_SPAN_LINES and (following := pull()) is not None:
            taken.append(following)
            if following[1].count('"') % 2:
                break
        joined = "\n".join([chunk, *(line for _, line in taken)])
        cells = _cells_of(joined) if joined.count('"') % 2 == 0 else None
        expected = width()
        if cells is None or (expected is not None and len(cells) != expected):
            ahead.extendleft(reversed(taken))
            yield number, None
            continue
        yield number, cells


# Lines up to this length cannot hold a cell over the csv module's limit (131,072 characters).
_PLAIN_MAX = 100_000


def _cells_of(text: str) -> list[str] | None:
    import csv  # deferred: a tracker that writes no file never parses one

    try:
        return next(csv.reader([text], strict=True), [])
    except csv.Error:  # a stray quote, a field over the csv module's size limit
        return None


class Decoded(namedtuple("Decoded", ("record", "layout", "label", "parameters"))):
    """A row read back: its record, the file's layout, and two cells kept as written, for display.

    ``label`` is the ``epoch`` cell; ``parameters`` the parameters as text (wattprint's JSON,
    or ECO2AI's ``name: value`` list from its ``epoch`` cell).
    """

    __slots__ = ()
    record: EnergyRecord
    layout: str
    label: str
    parameters: str


def parse_epoch(cell: str) -> tuple[str, int | None, str]:
    """The ``epoch`` cell as ``(window, index, parameters)``.

    ``"N/A"`` -> ``("run", None, "")``; ``"3"`` -> ``("epoch", 3, "")``;
    ``"epoch: 3, loss: 0.1, "`` (ECO2AI) -> ``("epoch", 3, "loss: 0.1")``;
    ``"step 7"`` -> ``("step", 7, "")``. Anything else is a window named after the cell.
    """
    text = cell.strip()
    if text.isdecimal():  # the common case, without a regular expression (\d is isdecimal's set)
        return "epoch", int(text), ""
    if text.casefold() in _MISSING:
        return "run", None, ""
    if re.fullmatch(r"-?\d+", text):
        return "epoch", int(text), ""
    m = re.fullmatch(_ECO2AI_EPOCH, text, re.DOTALL)
    if m:
        params = ", ".join(p.strip() for p in m.group(2).split(",") if p.strip())
        return "epoch", int(m.group(1)), params
    m = re.fullmatch(_NAMED_WINDOW, text, re.DOTALL)
    if m:
        index = None if m.group(2) == "N/A" else int(m.group(2))
        return m.group(1), index, ""
    return text, None, ""


def decode_row(header: Sequence[str], cells: Sequence[str], *, run_id: str = "", layout: str | None = None) -> Decoded:
    """The row ``cells`` of a file with ``header``; ``run_id`` names a row whose ``id`` is empty.

    ``layout``: the header's :func:`layout_of`, when the caller (a reader of many rows) has it.

    Raises:
        RowError: a required figure is missing, not a number, negative or not finite.
    """
    layout = layout or layout_of(header) or ECO2AI
    at = _positions(header)
    # Cells by position (a header's positions are worked out once): a cell past the row's end,
    # or of a column the header lacks, reads as the empty cell appended last (position -1).
    raw = list(cells[: len(header)])
    if len(raw) < len(header):
        raw.extend([""] * (len(header) - len(raw)))
    raw.append("")
    # Every cell wattprint writes is guarded, in either layout (it also appends to ECO2AI files);
    # unguard only where guard may have written: a leading quote, or a line break in the cell.
    joined = "".join(raw)
    if "'" in joined or "\n" in joined or "\r" in joined:
        text = [unguard(v) if v[:1] == "'" or "\n" in v or "\r" in v else v for v in raw]
    else:
        text = raw
    cell = _Cells(text, at)
    label = text[at["epoch"]]
    window, index, parameters = parse_epoch(label)
    duration_s, energy_kwh = cell.required("duration(s)"), cell.required("power_consumption(kWh)")
    co2_kg = cell.required("CO2_emissions(kg)")
    carbon = None
    if layout == WATTPRINT:
        window = text[at["window"]] or window
        parameters = text[at["parameters"]] or parameters
        domains = {d: kwh for d in DOMAINS if (kwh := cell.optional(f"energy_kwh_{d}")) is not None}
        measured = made(Measurement, duration_s=duration_s, energy_kwh=energy_kwh, energy_kwh_by_domain=domains,
                         method_by_domain={d: text[at[f"method_{d}"]].strip() for d in domains},
                         failed_domains=tuple(text[at["failed_domains"]].split()))
        # The carbon cells are the same on most rows of a file: one Carbon for them all.
        carbon_key = tuple([raw[at[c]] for c in _CARBON_COLUMNS])
        carbon = _carbons.get(carbon_key)
        if carbon is None:
            pue = cell.optional("pue")
            pue = pue if pue is not None and pue >= 1.0 else 1.0
        else:
            pue = carbon.pue
    else:
        domains = {d: kwh for d, col in ECO2AI_DOMAIN_COLUMNS.items() if (kwh := cell.optional(col)) is not None}
        measured = Measurement(duration_s, energy_kwh, domains)
        pue = None
    footprint = made(Footprint, facility_kwh=facility_kwh(measured.energy_kwh, pue), co2_kg=co2_kg,
                      cost=cell.optional("cost"))
    if carbon is None:
        intensity = cell.optional("intensity_g_per_kwh") if layout == WATTPRINT else None
        carbon = Carbon(
            pue=pue,
            intensity_g_per_kwh=intensity if intensity is not None else footprint.intensity_g_per_kwh,
            currency=text[at["currency"]],
            intensity_key=text[at["intensity_key"]],
            intensity_name=text[at["region/country"]],
            intensity_source=text[at["intensity_source"]] if layout == WATTPRINT else "ECO2AI",
            intensity_basis=text[at["intensity_basis"]],
            intensity_year=cell.integer("intensity_year"),
            located_by=text[at["located_by"]],
            intensity_readings=cell.integer("intensity_readings") or 1,
        )
        if intensity is not None:  # else the intensity is this row's own CO2e over its energy
            if len(_carbons) >= 256:  # a live intensity: a new mean on every row
                _carbons.clear()
            _carbons[carbon_key] = carbon
    labels = made(
        Labels,
        project_name=text[at["project_name"]],
        experiment_description=text[at["experiment_description"]],
        run_id=text[at["id"]] or run_id,
        window=window,
        index=index,
        parameters=_parameters(parameters, layout),
        start_time=_time(text[at["start_time"]]),
        interrupted=text[at["interrupted"]].strip().casefold() in _TRUE,
        scope=text[at["scope"]] or "machine",
        host=text[at["host"]],
        rank=cell.integer("rank") or 0,
        local_rank=cell.integer("local_rank") or 0,
        world_size=cell.integer("world_size") or 1,
        cpu_name=text[at["CPU_name"]],
        gpu_name=text[at["GPU_name"]],
        os=text[at["OS"]],
        exit_status=cell.integer("exit_status"),
        stage=text[at["stage"]],
        work=cell.optional("work"),
        work_unit=text[at["work_unit"]],
    )
    record = made(EnergyRecord, labels=labels, measurement=measured, carbon=carbon, footprint=footprint)
    return Decoded(record, layout, label, parameters)


# The cells a wattprint row's Carbon is made of (see decode_row's cache of them).
_CARBON_COLUMNS = ("pue", "intensity_g_per_kwh", "currency", "intensity_key", "region/country", "intensity_source",
                   "intensity_basis", "intensity_year", "located_by", "intensity_readings")
_carbons: dict[tuple[str | None, ...], Carbon] = {}
_READ_COLUMNS = frozenset(COLUMNS) | frozenset(ECO2AI_DOMAIN_COLUMNS.values())
_positions_of: dict[tuple[str, ...], dict[str, int]] = {}
_last_positions: list = [None, None]  # a copy of the last header as a list, and its positions


def _positions(header: Sequence[str]) -> dict[str, int]:
    """Each column decode_row reads -> its position in ``header`` (the last of equal names, as a
    dict of the row would keep); -1, the empty cell after the row, for a column the header lacks."""
    last_header, at = _last_positions
    if at is not None and header == last_header:  # the file's header again: no tuple to hash
        return at
    key = tuple(header)
    at = _positions_of.get(key)
    if at is None:
        if len(_positions_of) >= 64:
            _positions_of.clear()
        at = dict.fromkeys(_READ_COLUMNS, -1)
        at.update((c, i) for i, c in enumerate(header) if c in _READ_COLUMNS)
        _positions_of[key] = at
    _last_positions[:] = [list(header), at]
    return at


class _Cells:
    """Typed access to one row's cells (formula guard undone) by column name."""

    __slots__ = ("_at", "_text")

    def __init__(self, text: list[str], at: Mapping[str, int]) -> None:
        self._text = text
        self._at = at

    def required(self, column: str) -> float:
        """A figure the row cannot do without: a finite number >= 0."""
        raw = self._text[self._at[column]]
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if 0 <= value <= MAX_FIGURE:  # the common case; NaN fails it
            return value
        text = raw.strip()
        if text.casefold() in _MISSING:
            raise RowError(f"{column} is empty; the row is damaged")
        try:
            value = float(text)
        except ValueError:
            raise RowError(f"{column} is {raw!r}, not a number") from None
        if not math.isfinite(value) or value < 0:
            raise RowError(f"{column} is {raw!r}; expected a finite number >= 0")
        raise RowError(f"{column} is {raw!r}, above {MAX_FIGURE:g}: not a possible measurement")

    def optional(self, column: str) -> float | None:
        return optional_figure(self._text[self._at[column]])

    def integer(self, column: str) -> int | None:
        return integer(self._text[self._at[column]])


def optional_figure(text: str) -> float | None:
    """An optional figure's cell: missing, unreadable, negative, infinite or too large reads as None."""
    if not text:
        return None
    try:  # float() skips the spaces around a number; "nan" and "inf" fail the range below
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_FIGURE else None


def integer(text: str) -> int | None:
    """An optional integer's cell: missing or unreadable reads as None."""
    if not text:
        return None
    try:
        return int(text)  # int() skips the spaces around a number
    except ValueError:
        return None


def _parameters(text: str, layout: str) -> dict[str, Any]:
    """wattprint's JSON object, or ECO2AI's ``name: value, ...`` list, as a dict (values as written)."""
    if not text:
        return {}
    if layout == WATTPRINT:
        try:
            value = _json().loads(text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    pairs = (p.partition(":") for p in text.split(","))
    return {k.strip(): v.strip() for k, sep, v in pairs if sep and k.strip()}


def _time(text: str) -> datetime | None:
    """A start time as both writers format it (UTC assumed where no zone is given); None if unreadable."""
    text = text.strip()
    try:
        # fromisoformat reads TIME_FORMAT as written (zero-padded) about 20 times faster than strptime.
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = datetime.strptime(text, TIME_FORMAT)
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
