"""The ``wattprint`` command line: ``info``, ``intensity``, ``run``, ``report``, ``plan``, ``monitor``.

Exit status 2 with a one-line message on bad usage, as argparse does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from wattprint import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wattprint",
        description="Energy (kWh) and CO2e (kg) of machine-learning training.",
    )
    parser.add_argument("--version", action="version", version=f"wattprint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each subcommand module imports only what building its parser needs; what it runs is
    # imported when it runs, so `wattprint report` never loads the Tracker or the sensors.
    from wattprint.commands import info, intensity, monitor, plan, report, run

    for command in (info, intensity, run, report, plan, monitor):
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (`wattprint intensity --list | head`): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
