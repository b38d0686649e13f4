"""``wattprint run [options] -- COMMAND [ARGS...]``: run any command and measure its energy and CO2e.

The command runs as a child process (no shell) with this terminal's stdin, stdout and stderr.
A :class:`~wattprint.Tracker` measures from just before it starts until it ends (the machine
by default; with ``--scope process``, this process tree, which includes the child and its
descendants), appends the run's row to the CSV and prints a summary on stderr. wattprint
measures the host itself even when rank variables (``LOCAL_RANK``, ``SLURM_LOCALID``) are set:
it is one process measuring one command. A script without a ``#!`` line runs under
``/bin/sh``, as a shell would run it.

Exit status: the command's own; ``128 + N`` if it died of signal N (as a shell reports it);
127 if it cannot be found, 126 if it cannot be executed; 2 for bad options.

Process group and signals: outside a terminal's foreground (a batch job, a scheduler, a
background job, ``nohup``) the command starts in a process group of its own, and SIGTERM,
SIGHUP and SIGINT sent to wattprint are passed to that whole group, so a script's own children
stop with it rather than run on, orphaned. In the foreground of a terminal the command stays
in wattprint's group, where the terminal delivers Ctrl-C (and job control) to both directly;
SIGTERM and SIGHUP are passed to the command, and so is SIGINT except the first, which the
terminal has already delivered (a second copy would interrupt the command's own clean-up).
Either way wattprint waits for the command and writes the row, marked interrupted.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from wattprint._log import getLogger
from wattprint.commands import _measure_options
from wattprint.core.validate import MAX_NAME_CHARS

if TYPE_CHECKING:
    from wattprint.core.record import EnergyRecord
    from wattprint.core.tracker import Tracker

log = getLogger(__name__)

_PROG = "wattprint run"
_FORWARDED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
LIVE_PERIOD_S = 1.0
PLAIN_PERIOD_S = 10.0  # --live with stderr not a terminal: a log line this often (s)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="run a command, measure its energy and CO2e, append a row to the CSV",
        usage="wattprint run [options] -- COMMAND [ARGS...]",
        description=(
            "Run COMMAND, measure the energy (kWh) and CO2e (kg) it takes, append one row to the CSV "
            "and print a summary on stderr. The exit status is COMMAND's."
        ),
    )
    p.add_argument("--project-name", default="wattprint", metavar="NAME", help="label of the row (default: wattprint)")
    p.add_argument("--experiment-description", metavar="TEXT", help="label of the row (default: the command line)")
    _measure_options.add_arguments(p)
    p.add_argument(
        "--scope",
        choices=("machine", "process"),
        default="machine",
        help="host energy of the whole machine (default) or of this process tree (the command and its children)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="show power, energy and CO2e so far on stderr: on a terminal every second, rewritten in place "
        "(when COMMAND prints to the same terminal, its lines and the status line mix); "
        "elsewhere (a log file, a pipe) as a plain line every 10 s",
    )
    from wattprint.commands import _exports, greener

    greener.add_options(p)
    _exports.add_arguments(p)
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARGS...]", help="the command to run, after --")
    p.set_defaults(func=run, _parser=p)


def _describe(command: Sequence[str]) -> str:
    """The command line as a row label: one line, at most the length a label may have."""
    text = "".join(c if c.isprintable() or c == "\t" else " " for c in shlex.join(command))
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 3] + "..."


@contextmanager
def _plain_warnings(stream: TextIO):
    """Show warnings (world-average location, a sink failing) as one line, not a source excerpt."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message).removeprefix("wattprint: ")
        print(f"{_PROG}: warning: {text}", file=stream)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def _in_terminal_foreground() -> bool:
    """True when this process group owns a terminal, so Ctrl-C went to the child too."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except (OSError, AttributeError):
            continue
    return False


class _Forwarder:
    """Catches SIGINT/SIGTERM/SIGHUP, remembers them, and passes them on to the child (to its
    whole process group when it has one of its own)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._pending: list[int] = []
        self._proc: subprocess.Popen | None = None
        self._previous: dict[int, object] = {}
        self._sigints = 0
        #: Whether the child gets a process group of its own (not in a terminal's foreground).
        self.own_group = hasattr(os, "killpg") and not _in_terminal_foreground()

    def install(self) -> None:
        for sig in _FORWARDED:
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except (OSError, ValueError):  # not the main thread, or a signal the OS lacks
                pass

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def attach(self, proc: subprocess.Popen) -> None:
        self._proc = proc
        pending, self._pending = self._pending, []
        for sig in pending:
            self._forward(sig)

    def _handle(self, signum: int, frame) -> None:
        self.received.append(signum)
        if self._proc is None:
            self._pending.append(signum)
        else:
            self._forward(signum)

    def _forward(self, signum: int) -> None:
        if signum == getattr(signal, "SIGINT", None) and not self.own_group:
            self._sigints += 1
            if self._sigints == 1 and _in_terminal_foreground():
                return
        try:
            if self.own_group:
                os.killpg(self._proc.pid, signum)  # type: ignore[union-attr]
            else:
                self._proc.send_signal(signum)  # type: ignore[union-attr]
        except (OSError, ValueError):  # it has just exited, or a signal this OS cannot send
            pass


class _LiveLine:
    """Power (W), energy and CO2e so far: on a terminal a status line rewritten in place every
    second; elsewhere (a log file, a pipe) a plain line every :data:`PLAIN_PERIOD_S`."""

    def __init__(self, tracker: Tracker, stream: TextIO, *, terminal: bool = True) -> None:
        self._tracker = tracker
        self._stream = stream
        self._terminal = terminal
        self._window = tracker.begin_window("live")
        self._last_s = 0.0
        self._last_kwh = 0.0
        self._shown = False
        if not terminal:
            print(f"{_PROG}: --live: stderr is not a terminal, so a plain line every "
                  f"{PLAIN_PERIOD_S:g} s instead of a status line", file=stream, flush=True)

    def update(self) -> None:
        from wattprint.report.scale import CO2_UNITS, ENERGY_UNITS, pick

        record = self._tracker.read_window(self._window)  # energy since start; the window stays open
        dt = record.duration_s - self._last_s
        if not self._terminal and dt < PLAIN_PERIOD_S:
            return
        power_w = (record.energy_kwh - self._last_kwh) * 3_600_000.0 / dt if dt > 0 else 0.0
        self._last_s, self._last_kwh = record.duration_s, record.energy_kwh
        energy, co2 = pick([record.energy_kwh], ENERGY_UNITS), pick([record.co2_kg], CO2_UNITS)
        text = (f"{_PROG}: {power_w:8.1f} W  {record.energy_kwh / energy[1]:8.4g} {energy[0]}  "
                f"{record.co2_kg / co2[1]:8.4g} {co2[0]} CO2e  {record.duration_s:6.0f} s")
        self._stream.write(f"\r{text}\x1b[K" if self._terminal else " ".join(text.split()) + "\n")
        self._stream.flush()
        self._shown = self._terminal

    def clear(self) -> None:
        self._tracker.discard_window(self._window)  # a display aid, not a row of the CSV
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def run(args: argparse.Namespace) -> int:
    from wattprint.commands import _exports
    from wattprint.core.errors import WattprintError
    from wattprint.core.naming import CLI
    from wattprint.core.settings import Settings
    from wattprint.core.tracker import Tracker

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        args._parser.error("no COMMAND given; usage: wattprint run [options] -- COMMAND [ARGS...]")
    from wattprint.commands import greener

    problem = greener.check_options(args)
    if problem:
        args._parser.error(problem)
    err = sys.stderr
    with _plain_warnings(err):
        options = {
            "project_name": args.project_name,
            "experiment_description": (
                _describe(command) if args.experiment_description is None else args.experiment_description
            ),
            **_measure_options.options(args),
            "scope": args.scope,
            "measure_host": True,
            **_exports.options(args),
        }
        try:
            tracker = Tracker(settings=Settings.build(options, naming=CLI))
        except WattprintError as exc:
            print(f"{_PROG}: error: {exc}", file=err)
            return 2
        if args.wait_until_greener:  # after the options are checked, before anything runs
            status = greener.wait(args, options["experiment_description"], err)
            if status is not None:
                return status
        forwarder = _Forwarder()
        forwarder.install()
        try:
            return _measure(tracker, command, forwarder, err, live=args.live)
        finally:
            forwarder.restore()


def _start(command: list[str], own_group: bool = False) -> subprocess.Popen:
    group: dict = {}
    if own_group:  # process_group= is Python 3.11's; a new session also makes a new group
        group = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}
    try:
        return subprocess.Popen(command, **group)
    except OSError as exc:
        # execve has no fallback for a script without "#!"; shells and execvp run a text file
        # with sh (found on PATH as the shell would find it), and report anything else as not
        # executable (a binary for another CPU stays "Exec format error", status 126).
        path = shutil.which(command[0]) if exc.errno == errno.ENOEXEC else None
        if path is None or not _is_text(path) or not os.path.exists("/bin/sh"):
            raise
        return subprocess.Popen(["/bin/sh", path, *command[1:]], **group)


def _is_text(path: str) -> bool:
    """True for a file a shell would run as a script: no NUL byte in its first 512 bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return b"\0" not in head


def _measure(tracker: Tracker, command: list[str], forwarder: _Forwarder, err: TextIO, *, live: bool = False) -> int:
    measuring = True
    try:
        tracker.start()
    except Exception as exc:  # measuring must never stop the command itself
        print(f"{_PROG}: warning: measurement could not start ({exc}); running the command unmeasured", file=err)
        measuring = False
    if forwarder.received:  # told to stop before the command even started
        if measuring:
            _stop(tracker, command, None, True, err)
        return 128 + forwarder.received[0]
    try:
        proc = _start(command, forwarder.own_group)
    except OSError as exc:
        if measuring:
            try:
                tracker.stop(write=False)  # nothing ran: no row
            except Exception as stop_exc:
                log.debug("stopping the unused tracker failed: %s", stop_exc)
        status = 127 if isinstance(exc, FileNotFoundError) else 126
        reason = "command not found" if status == 127 else (exc.strerror or str(exc))
        print(f"{_PROG}: {command[0]}: {reason}", file=err)
        return status
    forwarder.attach(proc)
    line = None
    if measuring and live:
        try:
            line = _LiveLine(tracker, err, terminal=err.isatty())
        except Exception:  # the live line is a nicety
            line = None
    while True:
        try:
            returncode = proc.wait(timeout=LIVE_PERIOD_S if line else None)
            break
        except subprocess.TimeoutExpired:
            try:
                line.update()  # type: ignore[union-attr]
            except Exception:
                line = None
    if line is not None:
        line.clear()
    status = _exit_status(returncode)
    if measuring:
        _stop(tracker, command, status, returncode < 0 or bool(forwarder.received), err)
    return status


def _stop(tracker: Tracker, command: list[str], status: int | None, interrupted: bool, err: TextIO) -> None:
    try:
        record = tracker.stop(interrupted=interrupted, exit_status=status)
    except Exception as exc:
        print(f"{_PROG}: warning: could not finish the measurement ({exc})", file=err)
        return
    print(summary(record, command, status, written_csv(tracker)), file=err)


def written_csv(tracker: Tracker) -> str | None:
    """The CSV the tracker's last row went to, or None where it is not there (an output that
    fails warns rather than raises: a command says the row is there only if it is)."""
    from wattprint.core.sinks import CsvSink

    delivery = tracker.last_delivery
    # A row a held lock kept back was written when stop() closed the file, if nothing is left held.
    delivered = (*delivery.written, *(o for o in delivery.held if not getattr(o, "held", 1))) if delivery else ()
    return next((o.name for o in delivered if isinstance(o, CsvSink)), None)


def summary(record: EnergyRecord, command: Sequence[str], status: int | None, output_file: str | os.PathLike[str] | None) -> str:
    """The lines printed after the command: duration, energy per domain and method, CO2e, intensity.

    ``output_file`` is the CSV the row went to, or None if none was written.
    """
    from wattprint.commands.intensity import located_by_words
    from wattprint.report.scale import CO2_UNITS, ENERGY_UNITS, pick

    def energy(kwh: float) -> str:
        unit = pick([kwh], ENERGY_UNITS)
        return f"{kwh / unit[1]:.4g} {unit[0]}"

    co2_unit = pick([record.co2_kg], CO2_UNITS)
    how = "was stopped before it started" if status is None else f"exited with status {status}"
    head = f"{_PROG}: `{_describe(command)}` {how} after {record.duration_s:.2f} s"
    if record.interrupted:
        head += " (interrupted)"
    domains = ", ".join(
        f"{d} {energy(kwh)} {record.method_by_domain.get(d, '')}".rstrip()
        + (" (failed during the run)" if d in record.failed_domains else "")
        for d, kwh in sorted(record.energy_kwh_by_domain.items())
    )
    year = f", {record.intensity_year}" if record.intensity_year else ""
    where = record.intensity_name or record.intensity_key
    if record.intensity_key and record.intensity_key != where:
        where += f" ({record.intensity_key})"
    lines = [
        head,
        f"  energy:    {energy(record.energy_kwh)}" + (f" ({domains})" if domains else ""),
        f"  CO2e:      {record.co2_kg / co2_unit[1]:.4g} {co2_unit[0]} (PUE {record.pue:g})",
        f"  intensity: {record.intensity_g_per_kwh:.4g} gCO2e/kWh, {where}; {record.intensity_source}"
        f"{year}, {record.intensity_basis}; location: {located_by_words(record.located_by)}",
    ]
    if output_file is not None:
        lines.append(f"  row appended to {os.fspath(output_file)} (run {record.run_id[:8]})")
    else:
        lines.append(f"  no row was written (run {record.run_id[:8]})")
    return "\n".join(lines)
