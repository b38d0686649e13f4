"""``wattprint report [FILES...]``: epochs and totals per project, experiment and run; chart; what-if."""

from __future__ import annotations

import argparse
import gc
import os
import sys

DEFAULT_FILE = "emissions.csv"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="summarise wattprint or ECO2AI CSVs: epochs, totals, chart, what-if",
        description=(
            "Read wattprint and ECO2AI emission CSVs, group the rows by project, experiment and run, "
            "and print each run's epochs and total (counted once), then what the same energy would "
            "emit on other grids."
        ),
    )
    p.add_argument("files", nargs="*", metavar="FILE", help=f"CSV files to read (default: {DEFAULT_FILE})")
    p.add_argument(
        "--png",
        metavar="FILE",
        help="write the chart (energy per epoch by domain, cumulative CO2e) as PNG; needs wattprint[plot]",
    )
    p.add_argument("--html", metavar="FILE", help="write one self-contained HTML page with the tables and the chart")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def _error(message: str) -> None:
    print(f"wattprint report: error: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from wattprint.core.errors import MissingExtraError
    from wattprint.report import ReportError, summarise
    from wattprint.report.load import iter_files
    from wattprint.report.whatif import what_if

    files = list(args.files) or [DEFAULT_FILE]
    # The report makes millions of short-lived objects and no reference cycles: collecting every
    # 700 allocations would cost a sixth of its time (this is the CLI's own process).
    gc.set_threshold(100_000, 50, 50)
    try:
        # Summed as the files are read: the rows themselves are never all in memory.
        report = summarise(iter_files(files), files)
    except ReportError as exc:
        _error(str(exc))
        return 2
    if not report.rows:
        print(f"wattprint report: no records in {', '.join(files)}", file=sys.stderr)
    alternatives = what_if(report.total.facility_kwh, report.total.co2_kg) if report.rows else []

    try:
        if args.json:
            from wattprint.report.jsonout import write_json

            write_json(report, alternatives, sys.stdout.write)
        else:
            from wattprint.report.text import iter_text

            sys.stdout.writelines(line + "\n" for line in iter_text(report, alternatives))
        sys.stdout.flush()
    except BrokenPipeError:  # `wattprint report | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1

    png: bytes | None = None
    chart_note: str | None = None
    if args.png or args.html:
        from wattprint.report.chart import render_png

        try:
            png = render_png(report)
        except MissingExtraError as exc:
            if args.png:
                _error(str(exc))
                return 1
            chart_note = f"No chart: {exc}"
    outputs: list[tuple[str, bytes]] = []
    if args.png and png is not None:
        outputs.append((args.png, png))
    if args.html:
        from wattprint.report.html import render_html

        outputs.append((args.html, render_html(report, alternatives, png, chart_note).encode("utf-8")))
    for path, data in outputs:
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as exc:
            _error(f"cannot write {path}: {exc.strerror or exc}")
            return 1
        print(f"wattprint report: wrote {path}", file=sys.stderr)
    return 0
