"""Files records go to: an append-only CSV (ECO2AI-compatible, see :mod:`wattprint.core.csvformat`) and JSON Lines.

What the files promise:

* **One record, one line.** Appends take an exclusive ``flock`` on the file and write each
  batch of rows with one ``write`` call, so concurrent writers (ranks, processes) never
  interleave rows. Every append starts on a fresh line: after a cut-off last line (a full disk,
  a killed writer) a newline is written first, so the damaged line stays alone and the new row
  is whole (``wattprint report`` skips the damaged line with a warning).
* **Nothing but our own files.** Only a regular file is written (or ``os.devnull``); a CSV whose
  header is not one of ours (or ECO2AI's) is never written to, even where blank lines lead it.
  A byte-order mark before the header is accepted. Only a bounded head of an existing file is
  read. Links are handled as :mod:`wattprint.core.safefile` says.
* **Written at once, on disk soon after.** A row is in the file (handed to the operating
  system, so it survives a crash of the process) when ``write`` returns. The ``fsync`` that
  makes it survive a crash of the machine runs on a background thread
  (:mod:`wattprint.core.durable`), and ``close()`` waits for it, at most
  :data:`~wattprint.core.durable.WAIT_S` (a disk that does not answer then gets a warning, never
  a hung training); so do interpreter exit and SIGTERM. A row written after ``close()`` (a
  callback's run row, after its tracker stopped) is waited for before ``write`` returns.
* **A bounded wait for the lock.** Another process holding the file's lock is waited for at
  most :data:`LOCK_WAIT_S`; then the row is kept in memory, :class:`~wattprint.core.outputs.OutputBusy`
  is raised (one warning, from the Tracker's outputs) and the row is written with the next one
  or when the sink closes. A row still unwritten at close raises there, naming the count.
  While a signal asks the process to stop, the wait is cut to :data:`ENDING_WAIT_S`.

A sink raises when it cannot write; the Tracker's :class:`~wattprint.core.outputs.Outputs`
turns that into one warning and reports it.
"""

from __future__ import annotations

import errno
import os
import threading
import time

from wattprint.core import csvformat, durable, exits, safefile
from wattprint.core.errors import ConfigError
from wattprint.core.outputs import OutputBusy, OutputNotOnDisk
from wattprint.core.record import EnergyRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    # A sink works on str paths; pathlib is loaded when a Path is asked for (CsvSink.path).
    from pathlib import Path

#: Longest wait for another process's lock on an output file, in seconds.
LOCK_WAIT_S = 5.0
#: The same while a signal asks the process to end (the rows must not hold up its exit).
ENDING_WAIT_S = 0.2
#: How much of an existing CSV is read to find its header, in bytes.
HEAD_BYTES = 64 * 1024
_POLL_S = 0.02
# What a non-blocking lock attempt reports when another process holds the lock.
_HELD = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}


class _Busy(Exception):
    """The lock was not obtained in time."""


def _lock(fd: int, wait_s: float) -> None:
    """Take the file's exclusive lock, waiting at most ``wait_s``, and less if a signal asks the
    process to stop. Raises :class:`_Busy` when the lock stays held."""
    try:
        import fcntl
    except ImportError:  # Windows: msvcrt locks a byte range of the open file; poll for it
        _poll_lock(fd, wait_s)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except OSError as exc:
        if exc.errno not in _HELD:
            raise
    if wait_s <= 0:
        raise _Busy
    _wait_for_flock(fd, wait_s)


def _wait_for_flock(fd: int, wait_s: float) -> None:
    """A blocking ``flock`` (served in turn by the kernel, unlike polling) with a time limit.

    A helper thread blocks on a duplicate of ``fd`` (the same open file, so the same lock). If
    the wait is given up, the helper releases the lock as soon as it gets it.
    """
    import fcntl

    waiter = os.dup(fd)
    got = threading.Event()
    state = threading.Lock()
    abandoned = False

    def block() -> None:
        try:
            fcntl.flock(waiter, fcntl.LOCK_EX)
        except OSError:
            os.close(waiter)
            return
        with state:
            if abandoned:
                fcntl.flock(waiter, fcntl.LOCK_UN)
            else:
                got.set()
        os.close(waiter)  # the lock stays with the open file while ``fd`` is open

    threading.Thread(target=block, name="wattprint-lock-wait", daemon=True).start()
    deadline = time.monotonic() + wait_s
    while not got.wait(min(_POLL_S, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline or exits.stopping():
            with state:
                if got.is_set():
                    return
                abandoned = True
            raise _Busy


def _poll_lock(fd: int, wait_s: float) -> None:
    import msvcrt

    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return
        except OSError as exc:
            if exc.errno not in _HELD:
                raise
        if time.monotonic() >= deadline or exits.stopping():
            raise _Busy
        time.sleep(_POLL_S)


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _read_header(fd: int, path: str, what: str) -> list[str] | None:
    """The header of the CSV open at ``fd``, reading no more of it than needed (at most :data:`HEAD_BYTES`)."""
    size = 4096  # a header of ours is under 1 KiB
    while True:
        head = safefile.read_head(fd, size)
        if len(head) < size or size >= HEAD_BYTES or b"\n" in head.lstrip():
            return _header(head, path, what, truncated=len(head) >= size)
        size *= 4


def _header(head: bytes, path: str, what: str, *, truncated: bool) -> list[str] | None:
    """The header in the first bytes of a CSV: its first non-blank line, BOM removed; None if blank.

    Raises ConfigError for a file that is not UTF-8 text or whose first line is longer than
    :data:`HEAD_BYTES` (no CSV of ours has one).
    """
    lines = head.split(b"\n")
    if truncated:
        lines.pop()  # perhaps cut by the read limit
    for raw in lines:
        try:
            text = raw.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path} exists but is not a UTF-8 CSV ({exc.reason}); pass another {what}, or move that file away."
            ) from None
        if text.strip():
            # The csv module itself only for a header that needs its rules (no header of ours does).
            from wattprint.core.datafiles import csv_rows

            return csv_rows(text)[0]
    if truncated:  # only blank lines, then one longer than the limit
        raise ConfigError(f"{path} exists and does not start with a CSV header; pass another {what}, or move that file away.")
    return None


def read_header(path: str | os.PathLike[str], what: str = "output_file=") -> list[str] | None:
    """The header of the CSV at ``path``; None when it is missing, empty or only blank lines.

    Reads a bounded start of a regular file only; raises :class:`ConfigError` for anything else
    (a device, a FIFO, a link planted by another user).
    """
    try:
        fd = safefile.open_regular(str(path), os.O_RDONLY)
    except FileNotFoundError:
        return None
    except safefile.UnsafeFileError as exc:  # replaced since the check
        raise ConfigError(f"{what} {exc}; give the path of a regular file, or None for no file.") from None
    try:
        return _read_header(fd, str(path), what)
    finally:
        os.close(fd)


def check_output_path(path: str | os.PathLike[str], what: str = "output_file=") -> Path:
    """Validate an output file path at construction time; ConfigError naming ``what`` with a fix."""
    from pathlib import Path

    return Path(checked_path(path, what))


def checked_path(path: str | os.PathLike[str], what: str = "output_file=") -> str:
    """:func:`check_output_path`, giving the path as a ``str`` (what the sinks keep)."""
    p = _spelled(os.path.expanduser(os.fspath(path)))
    try:
        if os.path.isdir(p):
            raise ConfigError(f"{what} {p!r} is a directory; give a file path such as {os.path.join(p, 'wattprint.csv')!r}.")
        parent = os.path.dirname(p) or "."
        if not os.path.isdir(parent):
            raise ConfigError(f"the directory of {what} {p!r} does not exist; create it first or choose another path.")
        why = safefile.untrusted_link(p)
        if why:
            raise ConfigError(f"{what} {why}; choose a path of your own.")
        exists = os.path.exists(p)
        if exists:
            safefile.check_regular(os.stat(p), p)  # stat only: opening a FIFO could block
        writable = os.access(parent, os.W_OK | os.X_OK) and (not exists or os.access(p, os.W_OK))
    except safefile.UnsafeFileError as exc:
        raise ConfigError(f"{what} {exc}; give the path of a regular file, or None for no file.") from None
    except OSError as exc:  # e.g. a parent directory we may not enter
        raise ConfigError(f"{what} {p!r} cannot be checked ({exc.strerror}); choose a path you can write.") from None
    if not writable:
        raise ConfigError(f"{what} {p!r} is not writable; choose a writable path, or no file.")
    return p


def _spelled(path: str) -> str:
    """``path`` as ``str(pathlib.Path(path))`` spells it, without loading pathlib: ``"."`` for ``""``,
    no ``.`` parts, no doubled or trailing separator. ``..`` stays: after a link it is not the
    lexical parent."""
    if os.altsep:
        path = path.replace(os.altsep, os.sep)
    drive, rest = os.path.splitdrive(path)
    root = rest[: len(rest) - len(rest.lstrip(os.sep))]
    root = root if root == "//" and os.sep == "/" else root[:1]  # POSIX keeps exactly two leading slashes
    parts = [part for part in rest.split(os.sep) if part and part != "."]
    return drive + root + os.sep.join(parts) or "."


class _AppendSink:
    """Appends batches of lines to one file under its lock, keeping rows the lock held back."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        self._file = checked_path(path, what)
        self.what = what
        self.lock_wait_s = LOCK_WAIT_S
        self._held: list[EnergyRecord] = []
        self._mutex = threading.Lock()  # threads closing windows share the rows held back
        self._syncer = durable.Syncer(self.name)
        self._closed = False

    @property
    def name(self) -> str:
        return self._file

    @property
    def path(self) -> Path:
        """The file, as a :class:`pathlib.Path` (made when asked for: the sink itself uses :attr:`name`)."""
        from pathlib import Path

        return Path(self._file)

    @property
    def held(self) -> int:
        """How many records wait for the file's lock."""
        return len(self._held)

    def _text(self, fd: int, records: list[EnergyRecord]) -> str:
        """The text to append for ``records``, read under the lock (header and layout may change)."""
        raise NotImplementedError

    def write(self, record: EnergyRecord) -> None:
        with self._mutex:
            # Already behind: try the lock without waiting, so a held lock stalls training once only.
            self._flush([*self._held, record], 0.0 if self._held else self.lock_wait_s)
        if self._closed:  # no later close() waits for this row's fsync: wait now
            self._settle()

    def close(self) -> None:
        """Write the rows the lock held back (one more bounded wait), and wait for the pending
        ``fsync`` calls; raise if some rows remain unwritten, or not flushed to disk."""
        self._closed = True
        problems = []
        with self._mutex:
            if self._held:
                try:
                    self._flush(list(self._held), self.lock_wait_s)
                except OutputBusy:
                    n, self._held = len(self._held), []
                    problems.append(f"{n} record(s) were never written to {self.path}: another process held "
                                    f"its lock for over {self.lock_wait_s:g} s")
        try:
            self._settle()
        except OSError as exc:
            problems.append(str(exc))
        if problems:
            raise OSError("; ".join(problems))

    def _settle(self) -> None:
        """Wait (bounded) for this file's pending ``fsync`` calls; raise OSError saying what is not on disk."""
        wait_s = durable.ENDING_WAIT_S if exits.stopping() else durable.WAIT_S
        if not self._syncer.wait(wait_s):
            raise OutputNotOnDisk(f"rows written to {self.name} were not flushed to disk within {wait_s:g} s (the disk "
                          "does not answer); they are in the file, and on disk once it does")
        error = self._syncer.take_error()
        if error:
            raise OSError(error)

    def _flush(self, records: list[EnergyRecord], wait_s: float) -> None:
        if exits.stopping():
            wait_s = min(wait_s, ENDING_WAIT_S)
        fd = safefile.open_regular(self.name, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            if safefile.is_devnull(os.fstat(fd)):  # the user's way of saying "no file"
                self._held = []
                return
            try:
                _lock(fd, wait_s)
            except _Busy:
                self._held = records
                raise OutputBusy(f"{self.path} is locked by another process; {len(records)} record(s) "
                                 "kept and written once it is free") from None
            try:
                text = self._text(fd, records)
                # A cut-off last line (full disk, killed writer) must not swallow this row.
                if safefile.last_byte(fd) not in (b"", b"\n"):
                    text = "\n" + text
                safefile.write_all(fd, text.encode("utf-8"))  # one write: no half rows between writers
                # The row is the OS's now (it survives a crash of this process); the fsync for a
                # crash of the machine waits on the disk, off this thread, on a descriptor of its own.
                self._syncer.submit(os.dup(fd))
            finally:
                _unlock(fd)
        finally:
            os.close(fd)
        self._held = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class CsvSink(_AppendSink):
    """Appends one row per record to a CSV file, header written once.

    Raises :class:`ConfigError` at construction if the file exists with a header that is
    neither wattprint's nor ECO2AI's (it is never overwritten), or is not a regular file. An
    existing ECO2AI file (its 13 columns, perhaps with ``CPU_/GPU_/RAM_consumption(kWh)``) is
    appended to in its own columns, with facility energy (IT x PUE, kWh) in its energy cells as
    ECO2AI means them. A new file gets wattprint's columns: IT energy plus a ``pue`` column.
    ``write`` raises ``OSError`` when the file cannot be written (disk full, read-only), and
    :class:`~wattprint.core.outputs.OutputBusy` when it keeps the row for later.

    Subclasses writing another tool's rows (:mod:`wattprint.eco2ai`) override
    :attr:`new_columns` and :meth:`encode`, and keep the locking and the header checks.
    """

    #: The header of a file this sink creates.
    new_columns: tuple[str, ...] = csvformat.COLUMNS

    def __init__(self, path: str | os.PathLike[str], *, what: str = "output_file=") -> None:
        super().__init__(path, what)
        header = read_header(self.name, what)
        if header is not None and csvformat.layout_of(header) is None:
            raise ConfigError(
                f"{self.path} exists and is not a wattprint or ECO2AI CSV (its header starts "
                f"{header[:3]}); it will not be written to. Pass another {what}"
            )

    def encode(self, record: EnergyRecord, columns: tuple[str, ...]) -> str:
        """The line for ``record`` in a file whose header is ``columns``."""
        return csvformat.encode_row(record, columns)

    def _text(self, fd: int, records: list[EnergyRecord]) -> str:
        header = _read_header(fd, self.name, self.what)
        if header is None:  # empty, or only blank lines: start the file's records here
            columns = self.new_columns
            text = csvformat.line(columns)
        else:
            columns = tuple(header)
            if csvformat.layout_of(columns) is None:  # replaced since construction (another tool's file)
                raise ConfigError(f"{self.path} is no longer a wattprint or ECO2AI CSV (its header starts "
                                  f"{list(columns[:3])}); the row was not written to it")
            text = ""
        return text + "".join(self.encode(r, columns) for r in records)


class JsonlSink(_AppendSink):
    """Appends one JSON object per record (``EnergyRecord.as_dict()``) to a ``.jsonl`` file."""

    def __init__(self, path: str | os.PathLike[str], *, what: str = "jsonl_file=") -> None:
        super().__init__(path, what)

    def _text(self, fd: int, records: list[EnergyRecord]) -> str:
        import json  # deferred: JSON Lines is the less common output

        return "".join(json.dumps(r.as_dict(), default=str, sort_keys=True) + "\n" for r in records)
