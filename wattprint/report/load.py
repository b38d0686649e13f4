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

import codecs
import csv
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from wattprint.core import csvformat
from wattprint.core.csvformat import REQUIRED_COLUMNS, parse_epoch
from wattprint.core.errors import WattprintError
from wattprint.core.record import EnergyRecord, made
from wattprint.report.figures import Figures, PlainReader

__all__ = ["REQUIRED_COLUMNS", "Damaged", "ReportError", "Row", "iter_figures", "iter_file", "iter_files", "load_file", "load_files",
           "parse_epoch"]


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
    return list(iter_files(paths, damaged=damaged))


def load_file(path: str | os.PathLike[str], *, damaged: list[Damaged] | None = None) -> list[Row]:
    """The rows of one wattprint, ECO2AI or CodeCarbon CSV. A header-only or empty file gives ``[]``.

    A damaged line raises :class:`ReportError`; with a ``damaged`` list it is skipped and
    appended there instead.
    """
    return list(iter_file(path, damaged=damaged))


def iter_files(paths: Iterable[str | os.PathLike[str]], *, damaged: list[Damaged] | None = None) -> Iterator[Row]:
    """:func:`load_files` one row at a time: what :func:`~wattprint.report.summarise` reads, so that
    a report holds its sums, never the rows (a year of step rows does not fit in memory)."""
    for path in paths:
        yield from iter_file(path, damaged=damaged)


def iter_figures(paths: Iterable[str | os.PathLike[str]], *, damaged: list[Damaged] | None = None) -> Iterator[Figures]:
    """:func:`iter_files` as :class:`~wattprint.report.figures.Figures`, what the report sums:
    a plain row is read straight into them, any other decoded in full (the same figures either
    way), at about half the cost of a :class:`Row` per row."""
    for path in paths:
        yield from _iter_file(path, damaged, figures=True)


def iter_file(path: str | os.PathLike[str], *, damaged: list[Damaged] | None = None) -> Iterator[Row]:
    """:func:`load_file` one row at a time, read as the file is read (a few kB in memory at once)."""
    return _iter_file(path, damaged, figures=False)


def _iter_file(path: str | os.PathLike[str], damaged: list[Damaged] | None, *, figures: bool) -> Iterator[Any]:
    name = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):  # /dev/zero would be read without end
            raise ReportError(f"{name}: is a device, not a CSV file")
        if stat.S_ISFIFO(mode):  # would wait for a writer
            raise ReportError(f"{name}: is a FIFO, not a CSV file")
        # newline="\n": lines end at LF only, endings kept as written (a quoted cell may hold a CR);
        # -sig: spreadsheets often add a byte-order mark.
        f = open(path, encoding="utf-8-sig", newline="\n")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        raise ReportError(f"{name}: no such file; pass the CSV written by wattprint or ECO2AI") from None
    except IsADirectoryError:
        raise ReportError(f"{name}: is a directory; pass a CSV file such as {os.path.join(name, 'wattprint.csv')}") from None
    except OSError as exc:
        raise ReportError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    with f:
        try:
            first = f.readline()
            if codecarbon_header(first):
                from wattprint.report import codecarbon  # deferred: it imports this module

                rows = codecarbon.parse(name, first + f.read(), damaged)
                yield from map(Figures.of_row, rows) if figures else rows
                return
            f.seek(0)
            yield from _parse(name, f, damaged, figures)
        except UnicodeDecodeError:
            raise ReportError(f"{name}: not UTF-8 text (byte {_first_bad_byte(path)}); is it really a CSV?") from None
        except csv.Error as exc:
            raise ReportError(f"{name}: not a readable CSV ({exc})") from None
        except OSError as exc:
            raise ReportError(f"{name}: cannot be read ({exc.strerror or exc})") from None


def codecarbon_header(line: str) -> bool:
    """Whether ``line`` (a file's first line) is CodeCarbon's header."""
    from wattprint.report import codecarbon  # deferred: it imports this module

    return codecarbon.recognises(line)


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


def _parse(name: str, lines: Iterable[str], damaged: list[Damaged] | None, figures: bool = False) -> Iterator[Any]:
    """The rows of a file, or with ``figures`` their :class:`Figures` (plain rows read straight into them)."""
    header: list[str] | None = None
    layout: str | None = None
    plain: PlainReader | None = None  # for a wattprint header, when figures are asked for

    def skip(line: int, reason: str) -> None:
        if damaged is None:
            raise ReportError(f"{name}, line {line}: {reason}")
        damaged.append(Damaged(name, line, reason))

    def width() -> int | None:  # wattprint writes every row in its file's columns
        return len(header) if header is not None and layout == csvformat.WATTPRINT else None

    for number, cells in csvformat.split_records(lines, width):
        if cells is None:
            skip(number, "not a readable CSV row (a quote never closed, or a cell too long); the row is damaged")
            continue
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        # (cells[0] first: the full test on every row would cost a tenth of the reading)
        if header is None or (cells[0].strip() == csvformat.ECO2AI_COLUMNS[0] and csvformat.layout_of(cells) is not None):
            # A second header appears where files were concatenated (``cat a.csv b.csv``).
            header = _check_header(name, cells)
            layout = csvformat.layout_of(header) or csvformat.ECO2AI
            plain = PlainReader(name, header) if figures and layout == csvformat.WATTPRINT else None
            continue
        # wattprint writes every row in its file's columns, so a short row was cut off (a full
        # disk, a power loss) and its last cell cannot be trusted. ECO2AI rows may be shorter.
        if len(cells) != len(header):
            if len(cells) > len(header) or layout == csvformat.WATTPRINT:
                skip(number, f"{len(cells)} fields but the header has {len(header)}; the row is damaged")
                continue
            present = set(header[: len(cells)])
            missing = [c for c in REQUIRED_COLUMNS if c not in present]
            if missing:
                skip(number, f"only {len(cells)} fields (no {missing[0]}); the row is damaged")
                continue
        if plain is not None and (read := plain.read(number, cells)) is not None:
            yield read
            continue
        try:
            row = decode(name, number, header, cells, layout)
        except csvformat.RowError as exc:
            skip(number, str(exc))
            continue
        if not figures:
            yield row
            continue
        yield Figures.of_row(row)
    # An empty file is like a header-only one: a run killed before its first row.


def decode(name: str, number: int, header: Sequence[str], cells: Sequence[str], layout: str) -> Row:
    """Line ``number`` of file ``name`` decoded in full; raises :class:`~wattprint.core.csvformat.RowError`."""
    decoded = csvformat.decode_row(header, cells, run_id=f"{name}:{number}", layout=layout)
    # (made: a frozen dataclass per row, without its __init__'s per-field __setattr__)
    return made(Row, record=decoded.record, source=name, line=number, format=decoded.layout, label=decoded.label,
                parameters=decoded.parameters)


def _check_header(name: str, cells: list[str]) -> list[str]:
    header = [c.strip().lstrip("\ufeff") for c in cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        start = ", ".join(header[:3])
        raise ReportError(
            f"{name}: not a wattprint, ECO2AI or CodeCarbon CSV (no {', '.join(missing)} column; the header starts {start!r})"
        )
    return header
