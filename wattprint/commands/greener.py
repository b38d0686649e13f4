"""``wattprint run --wait-until-greener --deadline D -- CMD``: wait for the planned start, then run.

The plan (:func:`wattprint.planner.plan`) is for the command's expected duration: given with
``--expected-duration``, else the profile of its last run in the output CSV (same command
line), else one hour. While waiting, a terminal shows one status line counting down; a pipe gets
one line saying until when. Ctrl-C while waiting ends wattprint (status 130) before the command
runs, so no row is written. Without a forecast (none for the location, offline, the service
down) the command runs at once and the reason is printed.

``CLOCK`` and ``SLEEP`` are the time sources (tests replace them: no real waiting).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from wattprint.core.clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from wattprint.planner import Plan

_PROG = "wattprint run"
DEFAULT_DURATION_S = 3600.0
CLOCK: Clock = SYSTEM_CLOCK
SLEEP: Callable[[float], None] = time.sleep
PIPE_PERIOD_S = 60.0  # no display to refresh: wake rarely


def add_options(p: argparse.ArgumentParser) -> None:
    from wattprint.commands.plan import add_location_options

    g = p.add_argument_group("waiting for greener electricity")
    g.add_argument("--wait-until-greener", action="store_true",
                   help="start COMMAND at the time with the lowest expected CO2e before --deadline, "
                        "from a forecast for the location (GB and DK-DK1/DK-DK2 need no token)")
    g.add_argument("--deadline", metavar="D|TIME",
                   help="when COMMAND must have finished: a duration from now (12h) or a local time (2026-12-07T06:00)")
    g.add_argument("--expected-duration", metavar="D",
                   help="how long COMMAND runs (default: its last run in --output-file, else 1h)")
    add_location_options(g, location=False)


def check_options(args: argparse.Namespace) -> str | None:
    """The usage error of the waiting options, if any."""
    waiting = getattr(args, "wait_until_greener", False)
    if waiting and not args.deadline:
        return "--wait-until-greener needs --deadline (a duration such as 12h, or a time)"
    if not waiting and (args.deadline or args.expected_duration or args.forecast):
        return "--deadline, --expected-duration and --forecast apply only with --wait-until-greener"
    return None


def wait(args: argparse.Namespace, description: str, err: TextIO) -> int | None:
    """Wait for the planned start. Returns None to run the command now, else wattprint's exit
    status (2 for a bad option, 130 for Ctrl-C while planning or waiting)."""
    try:
        return _plan_and_wait(args, description, err)
    except KeyboardInterrupt:
        clear = "\r\x1b[K" if err.isatty() else ""
        print(f"{clear}{_PROG}: interrupted while waiting; the command was not run and no row was written",
              file=err)
        return 130


def _plan_and_wait(args: argparse.Namespace, description: str, err: TextIO) -> int | None:
    from wattprint.commands.plan import render_text
    from wattprint.core.errors import WattprintError
    from wattprint.core.naming import CLI
    from wattprint.planner import plan

    naming = CLI.aliased({"duration": "expected_duration"})
    job: dict[str, object] = {"duration": args.expected_duration}
    note = ""
    if args.expected_duration is None:
        from_csv = _previous_run(args.output_file, description)
        if from_csv is not None:
            job = {"from_csv": args.output_file, "run": from_csv}
            note = f"the duration of its last run in {args.output_file}"
        else:
            job = {"duration": DEFAULT_DURATION_S}
            note = f"1 h (no earlier run of this command in {args.output_file}; pass --expected-duration)"
    try:
        chosen = plan(**job, deadline=args.deadline, country=args.country, region=args.region, cloud=args.cloud,
                      forecast=args.forecast, pue=args.pue, now=CLOCK.time(), naming=naming)
    except WattprintError as exc:
        print(f"{_PROG}: error: {exc}", file=err)
        return 2
    if not chosen.planned:
        print(f"{_PROG}: running now: no forecast ({chosen.reason})", file=err)
        return None
    if note:
        print(f"{_PROG}: planning for {note}", file=err)
    if chosen.wait_s <= 0:
        print(f"{_PROG}: now is the greenest start before the deadline "
              f"({chosen.g_per_kwh_now:.4g} gCO2e/kWh over the job, {chosen.source})", file=err)
        return None
    for line in render_text(chosen, _PROG):
        if "SLURM:" not in line and "at:" not in line:
            print(line, file=err)
    _count_down(chosen, err)
    return None


def _count_down(chosen: Plan, err: TextIO) -> None:
    from wattprint.planner import _clock

    tty = err.isatty()
    if not tty:
        print(f"{_PROG}: waiting until {_clock(chosen.start)} to start", file=err, flush=True)
    while True:
        remaining = chosen.start - CLOCK.time()
        if remaining <= 0:
            break
        if tty:
            err.write(f"\r{_PROG}: starting in {_hms(remaining)} at {_clock(chosen.start)} "
                      f"({chosen.g_per_kwh_start:.4g} gCO2e/kWh then, {chosen.g_per_kwh_now:.4g} now); "
                      "Ctrl-C cancels\x1b[K")
            err.flush()
        SLEEP(min(1.0 if tty else PIPE_PERIOD_S, remaining))
    if tty:
        err.write("\r\x1b[K")
        err.flush()
    print(f"{_PROG}: starting now, the greenest time before the deadline", file=err)


def _hms(seconds: float) -> str:
    s = int(seconds + 0.999)  # never show 0:00:00 while there is time left
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _previous_run(path: str | None, description: str) -> str | None:
    """The id of the last run of the same command line in ``path``, if it has one."""
    if not path:
        return None
    from wattprint.report.load import ReportError, load_file

    try:
        rows = load_file(path)
    except ReportError:
        return None
    runs = [r.record for r in rows if r.record.labels.window == "run"
            and r.record.labels.experiment_description == description and r.record.measurement.duration_s > 0]
    return runs[-1].labels.run_id if runs else None


