"""Files records go to: an append-only CSV (ECO2AI-compatible, see :mod:`wattprint.core.csvformat`) and JSON Lines.

Appends take an exclusive ``flock`` on the file and write each row with a single ``write``
call, so concurrent writers (ranks, processes) never interleave rows. A CSV whose header is
not one of ours (or ECO2AI's) is never written to. A sink raises when it cannot write; the
Tracker's :class:`~wattprint.core.outputs.Outputs` turns that into one warning and reports it.
"""

from __future__ import annotations

import os
from pathlib import Path

from wattprint.core import csvformat
from wattprint.core.errors import ConfigError
from wattprint.core.record import EnergyRecord


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


def read_header(path: Path, what: str = "output_file=") -> list[str] | None:
    """The header row of an existing non-empty CSV, or None if absent or empty."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            first = f.readline()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} exists but is not a UTF-8 CSV ({exc.reason}); pass another {what}, or move that file away."
        ) from None
    if not first.strip():
        return None
    import csv  # deferred, as the sinks' other imports: not on the path of a tracker without a file

    return next(csv.reader([first]))


def check_output_path(path: str | os.PathLike[str], what: str = "output_file=") -> Path:
    """Validate an output file path at construction time; ConfigError naming ``what`` with a fix."""
    p = Path(path).expanduser()
    try:
        if p.is_dir():
            raise ConfigError(f"{what} {str(p)!r} is a directory; give a file path such as {str(p / 'emissions.csv')!r}.")
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError(f"the directory of {what} {str(p)!r} does not exist; create it first or choose another path.")
        writable = os.access(parent, os.W_OK | os.X_OK) and (not p.exists() or os.access(p, os.W_OK))
    except OSError as exc:  # e.g. a parent directory we may not enter
        raise ConfigError(f"{what} {str(p)!r} cannot be checked ({exc.strerror}); choose a path you can write.") from None
    if not writable:
        raise ConfigError(f"{what} {str(p)!r} is not writable; choose a writable path, or no file.")
    return p


class CsvSink:
    """Appends one row per record to a CSV file, header written once.

    Raises :class:`ConfigError` at construction if the file exists with a header that is
    neither wattprint's nor ECO2AI's (it is never overwritten). An existing ECO2AI file (its 13
    columns, perhaps with ``CPU_/GPU_/RAM_consumption(kWh)``) is appended to in its own
    columns, with facility energy (IT x PUE, kWh) in its energy cells as ECO2AI means them.
    A new file gets wattprint's columns: IT energy plus a ``pue`` column. ``write`` raises
    ``OSError`` when the file cannot be written (disk full, read-only).
    """

    def __init__(self, path: str | os.PathLike[str], *, what: str = "output_file=") -> None:
        self.path = check_output_path(path, what)
        header = read_header(self.path, what)
        if header is not None and csvformat.layout_of(header) is None:
            raise ConfigError(
                f"{self.path} exists and is not a wattprint or ECO2AI CSV (its header starts "
                f"{header[:3]}); it will not be written to. Pass another {what}"
            )

    @property
    def name(self) -> str:
        return str(self.path)

    def write(self, record: EnergyRecord) -> None:
        # "a+" so the header check and the append happen under one lock on one handle.
        with open(self.path, "a+", newline="", encoding="utf-8") as f:
            _lock(f)
            try:
                f.seek(0, os.SEEK_END)
                if f.tell() == 0:
                    columns = csvformat.COLUMNS
                    text = csvformat.line(columns) + csvformat.encode_row(record, columns)
                else:
                    # The layout is read under the lock: another writer may have just created the file.
                    f.seek(0)
                    import csv

                    columns = tuple(next(csv.reader([f.readline()])))
                    if csvformat.layout_of(columns) is None:  # replaced since construction (another tool's file)
                        raise ConfigError(f"{self.path} is no longer a wattprint or ECO2AI CSV (its header starts "
                                          f"{list(columns[:3])}); the row was not written to it")
                    f.seek(0, os.SEEK_END)
                    text = csvformat.encode_row(record, columns)
                f.write(text)  # one write per row: no half rows between writers
                f.flush()
                os.fsync(f.fileno())
            finally:
                _unlock(f)

    def close(self) -> None:
        """Nothing stays open between writes."""

    def __repr__(self) -> str:
        return f"CsvSink({self.name!r})"


class JsonlSink:
    """Appends one JSON object per record (``EnergyRecord.as_dict()``) to a ``.jsonl`` file."""

    def __init__(self, path: str | os.PathLike[str], *, what: str = "jsonl_file=") -> None:
        self.path = check_output_path(path, what)

    @property
    def name(self) -> str:
        return str(self.path)

    def write(self, record: EnergyRecord) -> None:
        import json  # deferred: JSON Lines is the less common output

        line = json.dumps(record.as_dict(), default=str, sort_keys=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            _lock(f)
            try:
                f.write(line)
                f.flush()
            finally:
                _unlock(f)

    def close(self) -> None:
        """Nothing stays open between writes."""

    def __repr__(self) -> str:
        return f"JsonlSink({self.name!r})"
