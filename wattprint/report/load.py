"""Read wattprint and ECO2AI emission CSVs into :class:`Row` s: records, with where they were read.

Rows are decoded by the codec that writes them (:mod:`wattprint.core.csvformat`), so what the
report reads is what the sink wrote: energy per domain with its method, the PUE (ECO2AI files
do not record it: their energy already includes it), the intensity and its source, and text
cells with the spreadsheet formula guard undone.

Anything wrong with a file (missing, not UTF-8, not a CSV of either kind, a row with the
wrong number of fields, a number that is not one) raises :class:`ReportError` with the file
and line, never another exception.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wattprint.core import csvformat
from wattprint.core.csvformat import REQUIRED_COLUMNS, parse_epoch
from wattprint.core.errors import WattprintError
from wattprint.core.record import EnergyRecord

__all__ = ["REQUIRED_COLUMNS", "ReportError", "Row", "iter_file", "iter_files", "load_file", "load_files", "parse_epoch"]


class ReportError(WattprintError, ValueError):
    """A file given to the report cannot be read; the message names the file (and line) and why."""


@dataclass(frozen=True)
class Row:
    """One row of an emissions CSV: its :class:`~wattprint.EnergyRecord`, and where it was read.

    ``format`` is ``"wattprint"`` or ``"eco2ai"``: the record's energy excludes the PUE for
    wattprint rows (``record.pue`` given) and includes it for ECO2AI rows (``record.pue`` is
    None); ``record.facility_kwh`` is comparable across both. ``label`` is the ``epoch`` cell
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


def load_files(paths: Iterable[str | os.PathLike[str]]) -> list[Row]:
    """Every row of every file, in order. Raises :class:`ReportError` on the first bad file."""
    return list(iter_files(paths))


def load_file(path: str | os.PathLike[str]) -> list[Row]:
    """The rows of one wattprint or ECO2AI CSV. A header-only or empty file gives ``[]``."""
    return list(iter_file(path))


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Row]:
    """:func:`load_files` one row at a time: what :func:`~wattprint.report.summarise` reads, so that
    a report holds its sums, never the rows (a year of step rows does not fit in memory)."""
    for path in paths:
        yield from iter_file(path)


def iter_file(path: str | os.PathLike[str]) -> Iterator[Row]:
    """:func:`load_file` one row at a time, read as the file is read (a few kB in memory at once)."""
    name = os.fspath(path)
    try:
        # newline="": the csv module sees line ends as written (a quoted cell may hold one);
        # -sig: spreadsheets often add a byte-order mark.
        f = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        raise ReportError(f"{name}: no such file; pass the CSV written by wattprint or ECO2AI") from None
    except IsADirectoryError:
        raise ReportError(f"{name}: is a directory; pass a CSV file such as {os.path.join(name, 'emissions.csv')}") from None
    except OSError as exc:
        raise ReportError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    with f:
        try:
            yield from _parse(name, f)
        except UnicodeDecodeError:
            raise ReportError(f"{name}: not UTF-8 text (byte {_first_bad_byte(path)}); is it really a CSV?") from None
        except csv.Error as exc:
            raise ReportError(f"{name}: not a readable CSV ({exc})") from None
        except OSError as exc:
            raise ReportError(f"{name}: cannot be read ({exc.strerror or exc})") from None


def _first_bad_byte(path: str | os.PathLike[str]) -> int:
    """Where a file stops being UTF-8, counted from its first byte (the text reader only knows its chunk)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            pending = len(decoder.getstate()[0])  # the bytes of a character cut by the last chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            offset += len(chunk)
    return offset


def _parse(name: str, lines: Iterable[str]) -> Iterator[Row]:
    reader = csv.reader(lines)
    header: list[str] | None = None
    layout: str | None = None
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        # (cells[0] first: the full test on every row would cost a tenth of the reading)
        if header is None or (cells[0].strip() == csvformat.ECO2AI_COLUMNS[0] and csvformat.layout_of(cells) is not None):
            # A second header appears where files were concatenated (``cat a.csv b.csv``).
            header = _check_header(name, cells)
            layout = csvformat.layout_of(header) or csvformat.ECO2AI
            continue
        where = f"{name}, line {reader.line_num}"
        # wattprint writes every row in its file's columns, so a short row was cut off (a full
        # disk, a power loss) and its last cell cannot be trusted. ECO2AI rows may be shorter.
        if len(cells) != len(header):
            if len(cells) > len(header) or layout == csvformat.WATTPRINT:
                raise ReportError(
                    f"{where}: {len(cells)} fields but the header has {len(header)}; the row is damaged "
                    "(delete that line to report the rest)"
                )
            present = set(header[: len(cells)])
            missing = [c for c in REQUIRED_COLUMNS if c not in present]
            if missing:
                raise ReportError(f"{where}: only {len(cells)} fields (no {missing[0]}); the row is damaged")
        try:
            decoded = csvformat.decode_row(header, cells, run_id=f"{name}:{reader.line_num}", layout=layout)
        except csvformat.RowError as exc:
            raise ReportError(f"{where}: {exc}") from None
        yield Row(decoded.record, name, reader.line_num, decoded.layout, decoded.label, decoded.parameters)
    # An empty file is like a header-only one: a run killed before its first row.


def _check_header(name: str, cells: list[str]) -> list[str]:
    header = [c.strip() for c in cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        start = ", ".join(header[:3])
        raise ReportError(
            f"{name}: not a wattprint or ECO2AI CSV (no {', '.join(missing)} column; the header starts {start!r})"
        )
    return header
