"""``wattprint report [FILES...]``: epochs and totals per project, experiment and run; chart; what-if."""

from __future__ import annotations

import argparse
import json
import os
import sys

from wattprint.core.settings import DEFAULT_OUTPUT_FILE as DEFAULT_FILE


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="summarise wattprint, ECO2AI or CodeCarbon CSVs: epochs, totals, chart, what-if",
        description=(
            "Read wattprint, ECO2AI and CodeCarbon emission CSVs, group the rows by project, experiment and run "
            "(each labelled with the tool that measured it), "
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
    from wattprint.report import ReportError, load_files, summarise
    from wattprint.report.whatif import reported_basis, what_if

    files = list(args.files) or [DEFAULT_FILE]
    try:
        rows = load_files(files)
    except ReportError as exc:
        _error(str(exc))
        return 2
    report = summarise(rows, files)
    if not rows:
        print(f"wattprint report: no records in {', '.join(files)}", file=sys.stderr)
    basis = reported_basis(r.record.carbon.intensity_basis for r in rows)
    alternatives = what_if(report.total.facility_kwh, report.total.co2_kg, basis=basis) if rows else []

    if args.json:
        data = report.as_dict()
        data["what_if"] = [a.as_dict() for a in alternatives]
        out = json.dumps(data, indent=2, default=str) + "\n"
    else:
        from wattprint.report.text import render_text

        out = render_text(report, alternatives)
    try:
        sys.stdout.write(out)
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
