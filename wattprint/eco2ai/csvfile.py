"""The file ECO2AI's Tracker writes, cell by cell, from wattprint's records.

ECO2AI 0.3.12 writes its 13 columns with these cells:

* ``epoch``: ``N/A`` for a ``start()``/``stop()`` run; in training, ``epoch: 1, loss: 0.5, ``
  (the epoch's number, then each parameter given to ``new_epoch`` as ``name: value, ``);
* ``start_time``: local time, ``YYYY-MM-DD HH:MM:SS``; numbers as Python prints them;
* ``power_consumption(kWh)``: facility energy (IT x PUE), which the CO2e is computed from;
* ``CPU_name``: ``<model>/<sockets> device(s), TDP:<watts>``; ``GPU_name``: ``<model> <count> device(s)``;
* ``region/country``: the country code as given, ``/`` the region when one was (``US/California``);
  in parentheses when ``emission_level`` fixed the intensity;
* ``cost``: the electricity price of the row, ``0`` without ``electricity_pricing``.

Each row is appended once, when its window closes (ECO2AI rewrote the whole file at every
measurement); an existing ECO2AI file is appended to in its own columns, an existing
wattprint file in wattprint's (with the run row around training epochs, as wattprint writes it). ``encode_file`` gets the same rows with every cell put
through ECO2AI's letter shift (:func:`shift`): an obfuscation anyone can undo, not encryption.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable, Mapping

from wattprint.core import csvformat
from wattprint.core.record import EnergyRecord
from wattprint.core.sinks import CsvSink, read_header

#: Cells of one record by column, or None for a record the file does not take.
Cells = Callable[[EnergyRecord], "Mapping[str, str] | None"]

# ECO2AI's alphabet: printable ASCII and Cyrillic without , " ', its two halves interleaved.
_SYMBOLS = (string.printable[:95] + "йцукенгшщзхъфывапролджэячсмитьбюёЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ").translate(
    {ord(","): None, ord('"'): None, ord("'"): None}
)
_HALF = len(_SYMBOLS) // 2
_ALPHABET = "".join(_SYMBOLS[i] + _SYMBOLS[i + _HALF] for i in range(_HALF))
_SHIFT = 5


def shift(text: str) -> str:
    """ECO2AI's ``encode``: each letter of its alphabet replaced by the one 5 places on (the
    last 5, and letters outside it, kept). It hides nothing from anyone who knows it."""
    out = []
    for ch in text:
        i = _ALPHABET.find(ch)
        out.append(_ALPHABET[i + _SHIFT] if 0 <= i < len(_ALPHABET) - _SHIFT else ch)
    return "".join(out)


class Eco2aiCsv(CsvSink):
    """Appends ECO2AI's rows to ``path``; ``cells`` formats them (and skips records ECO2AI does not write)."""

    new_columns = csvformat.ECO2AI_COLUMNS

    def __init__(self, path: str | os.PathLike[str], cells: Cells, *, encoded: bool = False,
                 what: str = "file_name=") -> None:
        super().__init__(path, what=what)
        self._cells = cells
        self.encoded = encoded

    def write(self, record: EnergyRecord) -> None:
        if record.labels.window not in ("run", "epoch"):
            return  # the tracker's own bookkeeping windows
        if self._cells(record) is None and not self._wattprint_file():
            return  # ECO2AI writes no run row around training epochs; a wattprint file keeps its run rows
        super().write(record)

    def _wattprint_file(self) -> bool:
        header = read_header(self.name)
        return header is not None and csvformat.layout_of(header) == csvformat.WATTPRINT

    def encode(self, record: EnergyRecord, columns: tuple[str, ...]) -> str:
        if csvformat.layout_of(columns) == csvformat.WATTPRINT:
            return super().encode(record, columns)  # a wattprint file keeps wattprint's meaning
        cells = self._cells(record) or {}
        values = [cells.get(c, "") for c in columns]
        values = [shift(v) for v in values] if self.encoded else [csvformat.guard(v) for v in values]
        return csvformat.line(values)

    def __repr__(self) -> str:
        return f"Eco2aiCsv({self.name!r})"
