"""Reading the data files shipped inside the package, and CSV lines without the csv module.

A plain file read next to the module: ``importlib.resources`` would cost ~9 ms of imports at the
first lookup, which lands in ``Tracker.start()``; wattprint is always installed unzipped.
:func:`csv_rows` reads the bundled tables and the header of an existing output file (both read
by a tracker's start) as the csv module would, importing it only for text that needs it.
"""

from __future__ import annotations

import io
import os


def read_data(module_file: str, name: str) -> str:
    """UTF-8 text of ``data/<name>`` in the directory of ``module_file`` (pass ``__file__``)."""
    path = os.path.join(os.path.dirname(os.path.abspath(module_file)), "data", name)
    with open(path, encoding="utf-8") as f:
        return f.read()


def csv_rows(text: str) -> list[list[str]]:
    """The rows of CSV ``text`` as ``csv.reader`` reads them, blank lines left out.

    The package's tables are plain: a line is split at its commas, and a quoted cell (a name
    with a comma in it) is read here too. Only text that needs the rest of the csv module's
    rules (a quote inside an unquoted cell, a cell over several lines) is handed to it, so a
    tracker's start, which reads the carbon table, does not import ``csv``.
    """
    rows = []
    for line in text.split("\n"):
        if not line:
            continue
        cells = _cells(line)
        if cells is None:
            import csv  # deferred: no bundled table needs it

            return [row for row in csv.reader(io.StringIO(text)) if row]
        rows.append(cells)
    return rows


def _cells(line: str) -> list[str] | None:
    """The cells of one line (quoted cells with ``""`` for a quote); None where csv must read it."""
    if "\r" in line:
        return None  # csv's own line ends
    if '"' not in line:
        return line.split(",")
    cells: list[str] = []
    i = 0
    while True:
        if line.startswith('"', i):  # a quoted cell, up to the quote not followed by another
            parts = []
            start = i + 1
            while True:
                end = line.find('"', start)
                if end < 0:
                    return None  # continues on the next line
                parts.append(line[start:end])
                if not line.startswith('"', end + 1):
                    break
                parts.append('"')
                start = end + 2
            cells.append("".join(parts))
            i = end + 1
            if i == len(line):
                return cells
            if line[i] != ",":
                return None  # text after the closing quote
            i += 1
        else:
            comma = line.find(",", i)
            cell = line[i:] if comma < 0 else line[i:comma]
            if '"' in cell:
                return None  # a quote inside an unquoted cell
            cells.append(cell)
            if comma < 0:
                return cells
            i = comma + 1
