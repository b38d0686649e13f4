"""``wattprint report [FILES...]``: epochs and totals per project, experiment and run; chart; what-if;
suggestions; the model card block (``--model-card``)."""

from __future__ import annotations

import argparse
import gc
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
            "emit on other grids. A damaged line (a row cut off mid-write) is skipped with a warning "
            f"naming it, the rest is reported, and the exit status is {DAMAGED_STATUS}."
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
    _add_carbon_aware_options(p)
    p.set_defaults(func=run)


#: Exit status when the report was made but damaged lines were skipped.
DAMAGED_STATUS = 3


def _add_carbon_aware_options(p: argparse.ArgumentParser) -> None:
    from wattprint.report.modelcard import TRAINING_TYPES

    g = p.add_argument_group("suggestions and the model card")
    g.add_argument("--model-card", action="store_true",
                   help="print only the Hugging Face model card's co2_eq_emissions block (YAML) for the runs")
    g.add_argument("--training-type", choices=TRAINING_TYPES, help="training_type of the model card block")
    g.add_argument("--run", metavar="ID", help="--model-card and the suggestions for this run only (its id or first characters)")
    g.add_argument("--forecast", metavar="PROVIDER",
                   help="suggest the best start time from this grid forecast (uk, energidataservice, "
                        "electricitymaps, watttime); without it the report uses no network")
    g.add_argument("--deadline", default="24h", metavar="D",
                   help="how far ahead the suggested start may be (default 24h)")


def _error(message: str) -> None:
    print(f"wattprint report: error: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from wattprint.core.errors import MissingExtraError
    from wattprint.core.safefile import write_atomic
    from wattprint.report import Damaged, ReportError, load_files, summarise
    from wattprint.report.load import iter_figures
    from wattprint.report.runrecords import RowsKept
    from wattprint.report.whatif import reported_basis, what_if

    files = list(args.files) or [DEFAULT_FILE]
    damaged: list[Damaged] = []
    if args.model_card:  # one run's block: its rows are read whole
        try:
            rows = load_files(files, damaged=damaged)
        except ReportError as exc:
            _error(str(exc))
            return 2
        _warn_damaged(damaged)
        return _model_card(rows, files, args)
    # The report makes millions of short-lived objects and no reference cycles: collecting every
    # 700 allocations would cost a sixth of its time (this is the CLI's own process).
    gc.set_threshold(100_000, 50, 50)
    kept = RowsKept(keep_epochs=args.forecast is not None)
    bases: set[str] = set()
    try:
        # Summed as the files are read: the rows themselves are never all in memory.
        report = summarise(kept.tee(iter_figures(files, damaged=damaged), bases), files)
    except ReportError as exc:
        _error(str(exc))
        return 2
    _warn_damaged(damaged)
    if damaged:  # said in the report itself too (text, HTML, JSON notes), not only on stderr
        where = "; ".join(f"{d.source} line {d.line}" for d in damaged[:5]) + ("; ..." if len(damaged) > 5 else "")
        report.notes.append(f"{len(damaged)} damaged line(s) skipped and left out of the totals ({where})")
    if not report.rows:
        print(f"wattprint report: no records in {', '.join(files)}", file=sys.stderr)
    basis = reported_basis(bases)
    alternatives = what_if(report.total.facility_kwh, report.total.co2_kg, basis=basis) if report.rows else []
    suggestions = _suggestions(kept.rows(), files, args)
    if suggestions is None:
        return 2

    try:
        if args.json:
            from wattprint.report.jsonout import write_json

            extra = {
                "skipped_lines": [{"file": d.source, "line": d.line, "reason": d.reason} for d in damaged],
                "suggestions": [x.as_dict() for x in suggestions],
            }
            if write_json(report, alternatives, sys.stdout.write, extra):
                print("wattprint report: warning: a figure is not finite (too large to add up); it is null in the JSON",
                      file=sys.stderr)
        else:
            from wattprint.report.suggest import render_text as render_suggestions
            from wattprint.report.text import iter_text

            sys.stdout.writelines(line + "\n" for line in iter_text(report, alternatives))
            sys.stdout.write(render_suggestions(suggestions, args.forecast is not None))
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
            write_atomic(path, data)  # readers never see half a page; a link's target is not written in place
        except OSError as exc:
            _error(f"cannot write {path}: {exc.strerror or exc}")
            return 1
        print(f"wattprint report: wrote {path}", file=sys.stderr)
    if damaged:
        print(f"wattprint report: {len(damaged)} damaged line(s) skipped; the totals leave them out", file=sys.stderr)
        return DAMAGED_STATUS
    return 0


def _warn_damaged(damaged: list) -> None:
    for line in damaged:  # the rest is reported; the exit status says something was left out
        print(f"wattprint report: warning: {line}; skipped", file=sys.stderr)


def _model_card(rows: list, files: list[str], args: argparse.Namespace) -> int:
    from wattprint.core.errors import WattprintError
    from wattprint.report.modelcard import card_for_rows

    try:
        sys.stdout.write(card_for_rows(rows, ", ".join(files), run=args.run, training_type=args.training_type))
    except WattprintError as exc:
        _error(str(exc))
        return 2
    return 0


def _suggestions(rows: list, files: list[str], args: argparse.Namespace) -> list | None:
    """Each run's suggestions (:mod:`wattprint.report.suggest`); None after printing a usage error."""
    from wattprint.core.errors import WattprintError
    from wattprint.planner import parse_duration
    from wattprint.report.runrecords import choose_run
    from wattprint.report.suggest import suggest_rows

    try:
        deadline_s = parse_duration(args.deadline, "--deadline")
        if args.run is not None:
            keep = choose_run(rows, args.run, ", ".join(files))
            rows = [r for r in rows if r.record.labels.run_id == keep]
        return suggest_rows(rows, forecast=args.forecast, deadline_s=deadline_s) if rows else []
    except WattprintError as exc:
        _error(str(exc))
        return None
