"""Read wattprint, ECO2AI and CodeCarbon emission CSVs into :class:`Row` s: records, with where they were read.

Rows are decoded by the codec that writes them (:mod:`wattprint.core.csvformat`), so what the
report reads is what the sink wrote: energy per domain with its method, the PUE (ECO2AI files
do not record it: their energy already includes it), the intensity and its source, and text
cells with the spreadsheet formula guard undone.

Anything wrong with a file (missing, not UTF-8, not a CSV of either kind) raises
:class:`ReportError` naming the file, never another exception. A damaged line (the wrong
number of fields, a number that is not one or is impossibly large, a quote never closed) does
too, with the file and line -- unless the caller passes a ``damaged`` list: the line is then
skipped, described there, and the rest of the file is read. A damaged line never takes the
next one with it (:func:`~wattprint.core.csvformat.split_records`). CodeCarbon's files are read by
:mod:`wattprint.report.codecarbon`.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wattprint.core import csvformat
from wattprint.core.csvformat import REQUIRED_COLUMNS, parse_epoch
from wattprint.core.errors import WattprintError
from wattprint.core.record import EnergyRecord

__all__ = ["REQUIRED_COLUMNS", "Damaged", "ReportError", "Row", "load_file", "load_files", "parse_epoch"]


class ReportError(WattprintError, ValueError):
    """A file given to the report cannot be read; the message names the file (and line) and why."""


@dataclass(frozen=True)
class Damaged:
    """A line that was skipped: the file, its line number, and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}, line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Row:
    """One row of an emissions CSV: its :class:`~wattprint.EnergyRecord`, and where it was read.

    ``format`` is the tool that measured it, ``"wattprint"``, ``"eco2ai"`` or ``"codecarbon"``:
    the record's energy excludes the PUE where ``record.pue`` is given and includes it for
    ECO2AI rows (``record.pue`` is None); ``record.facility_kwh`` is comparable across all. ``label`` is the ``epoch`` cell
    as written, ``parameters`` the parameters as written (JSON, or ECO2AI's ``name: value`` list).
    """

    record: EnergyRecord
    source: str
    line: int
    format: str
    label: str
    parameters: str

    @property
    def identity(self) -> tuple:
        """What makes two rows the same measurement (the same file read twice, say)."""
        labels, m = self.record.labels, self.record.measurement
        return (
            labels.run_id, labels.project_name, labels.experiment_description, labels.window, labels.index,
            self.label, labels.start_time, m.duration_s, m.energy_kwh, self.record.footprint.co2_kg,
            labels.host, labels.rank,
        )


def load_files(paths: Iterable[str | os.PathLike[str]], *, damaged: list[Damaged] | None = None) -> list[Row]:
    """Every row of every file, in order. Raises :class:`ReportError` on the first bad file (and
    on the first damaged line, unless ``damaged`` is given: see :func:`load_file`)."""
    rows: list[Row] = []
    for path in paths:
        rows.extend(load_file(path, damaged=damaged))
    return rows


def load_file(path: str | os.PathLike[str], *, damaged: list[Damaged] | None = None) -> list[Row]:
    """The rows of one wattprint, ECO2AI or CodeCarbon CSV. A header-only or empty file gives ``[]``.

    A damaged line raises :class:`ReportError`; with a ``damaged`` list it is skipped and
    appended there instead.
    """
    name = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):  # /dev/zero would be read without end
            raise ReportError(f"{name}: is a device, not a CSV file")
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ReportError(f"{name}: no such file; pass the CSV written by wattprint or ECO2AI") from None
    except IsADirectoryError:
        raise ReportError(f"{name}: is a directory; pass a CSV file such as {os.path.join(name, 'wattprint.csv')}") from None
    except OSError as exc:
        raise ReportError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")  # -sig: spreadsheets often add a byte-order mark
    except UnicodeDecodeError as exc:
        raise ReportError(f"{name}: not UTF-8 text (byte {exc.start}); is it really a CSV?") from None
    from wattprint.report import codecarbon  # deferred: it imports this module

    try:
        return codecarbon.parse(name, text) if codecarbon.recognises(text) else _parse(name, text, damaged)
    except csv.Error as exc:
        raise ReportError(f"{name}: not a readable CSV ({exc})") from None


def _parse(name: str, text: str, damaged: list[Damaged] | None) -> list[Row]:
    header: list[str] | None = None
    rows: list[Row] = []

    def skip(line: int, reason: str) -> None:
        if damaged is None:
            raise ReportError(f"{name}, line {line}: {reason}")
        damaged.append(Damaged(name, line, reason))

    def width() -> int | None:  # wattprint writes every row in its file's columns
        return len(header) if header is not None and csvformat.layout_of(header) == csvformat.WATTPRINT else None

    for number, cells in csvformat.split_records(text, width):
        if cells is None:
            skip(number, "not a readable CSV row (a quote never closed, or a cell too long); the row is damaged")
            continue
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if header is None or csvformat.layout_of(cells) is not None:
            # A second header appears where files were concatenated (``cat a.csv b.csv``).
            header = _check_header(name, cells)
            continue
        wattprint = csvformat.layout_of(header) == csvformat.WATTPRINT
        # wattprint writes every row in its file's columns, so a short row was cut off (a full
        # disk, a power loss) and its last cell cannot be trusted. ECO2AI rows may be shorter.
        if len(cells) > len(header) or (wattprint and len(cells) < len(header)):
            skip(number, f"{len(cells)} fields but the header has {len(header)}; the row is damaged")
            continue
        present = set(header[: len(cells)])
        missing = [c for c in REQUIRED_COLUMNS if c not in present]
        if missing:
            skip(number, f"only {len(cells)} fields (no {missing[0]}); the row is damaged")
            continue
        try:
            decoded = csvformat.decode_row(header, cells, run_id=f"{name}:{number}")
        except csvformat.RowError as exc:
            skip(number, str(exc))
            continue
        rows.append(Row(decoded.record, name, number, decoded.layout, decoded.label, decoded.parameters))
    return rows  # an empty file is like a header-only one: a run killed before its first row


def _check_header(name: str, cells: list[str]) -> list[str]:
    header = [c.strip().lstrip("\ufeff") for c in cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        start = ", ".join(header[:3])
        raise ReportError(
            f"{name}: not a wattprint, ECO2AI or CodeCarbon CSV (no {', '.join(missing)} column; the header starts {start!r})"
        )
    return header
