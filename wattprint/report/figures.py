"""One row as the report sums it (:class:`Figures`), read straight from a plain line where it can be.

The report needs about twenty of a row's cells: who wrote it (run, process, window, epoch), its
figures (s, kWh, kg, money; energy and method per domain) and its carbon provenance. Decoding
every row into an :class:`~wattprint.core.record.EnergyRecord` (four parts, every cell) was most
of a report's time, and the record was dropped as soon as it was summed. So a *plain* wattprint
row -- cells as the Tracker writes them: none guarded against formulas, an epoch cell that is a
number or ``N/A``, the three required figures readable, carbon cells seen before -- is read here
by position (:class:`PlainReader`, the header's positions resolved once) into a
:class:`Figures`, the tuple the report's sums take. Every other row (quoted or guarded cells,
damaged lines, ECO2AI and CodeCarbon files, step rows, a file's first carbon cells) goes through
the full decoder (:func:`~wattprint.core.csvformat.decode_row`) and :meth:`Figures.of_row`.
Both give the same figures: the cells are read by the codec's own rules (numbers, start times,
the carbon cells shared by rows), and a plain row's cells are kept so that the few rows wanted
whole later (:class:`~wattprint.report.runrecords.RowsKept`) are decoded in full then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

from wattprint.core.csvformat import (  # the codec's reading rules, so that both readers read a cell alike
    _CARBON_COLUMNS,
    _TRUE,
    MAX_FIGURE,
    _carbons,
    _positions,
    _time,
    integer,
    optional_figure,
)
from wattprint.core.footprint import Carbon, facility_kwh
from wattprint.core.measurement import DOMAINS

if TYPE_CHECKING:
    from wattprint.report.load import Row

__all__ = ["SUMMED", "Figures", "PlainReader"]


class Figures(NamedTuple):
    """What the report takes from one row: labels, figures (s, kWh, kg, money) and provenance.

    ``key`` is the hash of the row's :attr:`~wattprint.report.load.Row.identity` (what tells a
    duplicate). ``row`` is the decoded row where the full decoder read it; otherwise
    ``header`` and ``cells`` are the line's, decoded in full by :meth:`decoded` when wanted.
    """

    run_id: str
    project: str
    experiment: str
    format: str
    window: str
    index: int | None
    label: str
    parameters: str
    key: int
    host: str
    rank: int
    start_time: datetime | None
    scope: str
    exit_status: int | None
    stage: str  # "train", "test", "predict", ...; "" where the row has none
    duration_s: float
    energy_kwh: float
    facility_kwh: float
    co2_kg: float
    cost: float | None
    by_domain: Mapping[str, float]
    methods: Mapping[str, str]
    failed: Sequence[str]
    interrupted: bool
    carbon: Carbon
    source: str
    line: int
    row: Row | None
    header: Sequence[str] | None
    cells: list[str] | None

    @classmethod
    def of_row(cls, row: Row) -> Figures:
        """The figures of a row the full decoder read."""
        record = row.record
        labels, m, fp = record.labels, record.measurement, record.footprint
        return _new(cls, (
            labels.run_id, labels.project_name, labels.experiment_description, row.format, labels.window, labels.index,
            row.label, row.parameters, hash(row.identity), labels.host, labels.rank, labels.start_time, labels.scope,
            labels.exit_status, labels.stage, m.duration_s, m.energy_kwh, fp.facility_kwh, fp.co2_kg, fp.cost,
            m.energy_kwh_by_domain, m.method_by_domain, m.failed_domains, labels.interrupted, record.carbon,
            row.source, row.line, row, None, None,
        ))

    def decoded(self) -> Row:
        """The whole row (:class:`~wattprint.report.load.Row`), decoded now if it was read plain."""
        if self.row is not None:
            return self.row
        from wattprint.report.load import decode  # deferred: load imports this module

        return decode(self.source, self.line, self.header, self.cells, self.format)


_new = tuple.__new__  # a Figures without NamedTuple's __new__ (a Python function): one per row
#: The fields of a Figures that Sums.add_figures and Sums.new_with take, in their order (one slice, no call a row).
SUMMED = slice(Figures._fields.index("duration_s"), Figures._fields.index("interrupted") + 1)

# The cells a plain row is read from, in this order (see PlainReader.read).
_READ = ("id", "project_name", "experiment_description", "epoch", "window", "parameters", "start_time", "duration(s)",
         "power_consumption(kWh)", "CO2_emissions(kg)", "cost", "failed_domains", "interrupted", "scope", "host", "rank",
         "exit_status", *(f"energy_kwh_{d}" for d in DOMAINS), *(f"method_{d}" for d in DOMAINS), "stage")
_DOMAINS = tuple(DOMAINS)
_N = len(_DOMAINS)
_STAGE = 17 + 2 * _N


class PlainReader:
    """Reads the plain rows of one wattprint-layout header into :class:`Figures`.

    :meth:`read` gives None for a row it does not read (the caller decodes it in full). A row's
    carbon is the one the full decoder made of the same carbon cells (its cache, keyed by those
    cells), so the rows after the first of a file are read plain.
    """

    __slots__ = ("_carbon_key", "_cells", "header", "name")

    def __init__(self, name: str, header: Sequence[str]) -> None:
        self.name = name
        self.header = header
        at = _positions(header)  # the columns decode_row reads; -1 for one the header lacks
        # -1 reads the empty cell read() appends, as decode_row reads a missing column.
        self._cells = itemgetter(*(at[c] for c in _READ))
        self._carbon_key = itemgetter(*(at[c] for c in _CARBON_COLUMNS))

    def read(self, number: int, cells: list[str]) -> Figures | None:
        """The figures of line ``number`` (``cells``: as many as the header has), or None where
        the row needs the full decoder."""
        cells.append("")  # what a column the header lacks reads as (decode_row trims it)
        carbon = _carbons.get(self._carbon_key(cells))
        if carbon is None:
            return None
        v = self._cells(cells)
        if "'" in "".join(v):  # a cell guarded against formulas (or holding a quote): unguarded in full
            return None
        label = v[3]
        if label.isdecimal():
            index: int | None = int(label)
            parsed = "epoch"
        elif label == "N/A":
            index, parsed = None, "run"
        else:  # step rows, ECO2AI's "epoch: 3, ...", spaces: parse_epoch's other cases
            return None
        try:
            duration_s, energy_kwh, co2_kg = float(v[7]), float(v[8]), float(v[9])
        except ValueError:
            return None
        if not (0 <= duration_s <= MAX_FIGURE and 0 <= energy_kwh <= MAX_FIGURE and 0 <= co2_kg <= MAX_FIGURE):
            return None  # (NaN fails too) the full decoder says why the row is damaged
        by_domain = {}
        methods = {}
        for k in range(_N):  # (optional_figure inline: three a row)
            text = v[17 + k]
            if not text:
                continue
            try:
                kwh = float(text)
            except ValueError:
                continue
            if 0 <= kwh <= MAX_FIGURE:
                domain = _DOMAINS[k]
                by_domain[domain] = kwh
                methods[domain] = v[17 + _N + k].strip()
        run_id = v[0] or f"{self.name}:{number}"
        window = v[4] or parsed
        start_time = _time(v[6])
        host = v[14]
        rank = v[15]
        rank = 0 if rank == "0" else integer(rank) or 0
        key = hash((run_id, v[1], v[2], window, index, label, start_time, duration_s, energy_kwh, co2_kg, host, rank))
        failed = v[11]
        interrupted = v[12]
        return _new(Figures, (
            run_id, v[1], v[2], "wattprint", window, index, label, v[5], key, host, rank, start_time,
            v[13] or "machine", integer(v[16]), v[_STAGE], duration_s, energy_kwh, facility_kwh(energy_kwh, carbon.pue), co2_kg,
            optional_figure(v[10]), by_domain, methods, tuple(failed.split()) if failed else (),
            False if interrupted == "false" else interrupted.strip().casefold() in _TRUE, carbon,
            self.name, number, None, self.header, cells,
        ))
