"""The report as plain text: per project and experiment, each run's epochs and total, then "what if"."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from wattprint.report.scale import printable, seconds
from wattprint.report.summary import Report
from wattprint.report.tables import (
    Table,
    domains_of,
    group_scope_note,
    run_details,
    run_heading,
    run_table,
    totals_line,
    what_if_heading,
    what_if_note,
    what_if_table,
)
from wattprint.report.whatif import Alternative

__all__ = ["iter_text", "render_text"]


def _table(table: Table, indent: str) -> list[str]:
    body = [*table.rows, *([table.total] if table.total else [])]
    widths = [max(map(len, column)) for column in zip(table.headers, *body)]
    # One format for every line (a table may have a million): text columns left, numbers right.
    pattern = indent + "  ".join(
        f"{{:{'<' if i in table.text_columns else '>'}{w}}}" for i, w in enumerate(widths)
    )

    def line(cells: list[str]) -> str:
        return pattern.format(*cells).rstrip()

    out = [line(table.headers)]
    if table.flags:
        for cells, flag in zip(table.rows, table.flags):
            out.append(line(cells) + ("  (interrupted)" if flag else ""))
    else:
        out.extend(map(line, table.rows))
    if table.total:
        out.append(line(table.total))
    return out


def render_text(report: Report, alternatives: Sequence[Alternative] = ()) -> str:
    return "\n".join(iter_text(report, alternatives)) + "\n"


def iter_text(report: Report, alternatives: Sequence[Alternative] = ()) -> Iterator[str]:
    """:func:`render_text` line by line (without line ends), one run's table in memory at a time."""
    domains = domains_of(report)
    runs = report.runs
    files = ", ".join(printable(f) for f in report.files)
    yield f"wattprint report: {len(runs)} run(s) in {len(report.groups)} project/experiment group(s) from {files}"
    for group in report.groups:
        yield ""
        yield f"Project: {printable(group.project) or '(none)'}   Experiment: {printable(group.experiment) or '(none)'}"
        for run in group.runs:
            yield f"  {printable(run_heading(run))}"
            table = run_table(run, domains)
            if table.rows or table.total:
                yield from _table(table, "    ")
            yield from (f"    {printable(d)}" for d in run_details(run))
        if len(group.runs) > 1:
            t = group.total
            yield f"  {len(group.runs)} runs: {totals_line(t)}, {seconds(t.duration_s)} s{group_scope_note(group.runs)}"
    t = report.total
    yield ""
    yield f"Total: {totals_line(t)} over {len(runs)} run(s), {seconds(t.duration_s)} s"
    for note in report.notes:
        yield f"Note: {printable(note)}"
    if alternatives:
        yield ""
        yield what_if_heading(t)
        yield from _table(what_if_table(alternatives), "  ")
        yield f"  {what_if_note(alternatives)}"
