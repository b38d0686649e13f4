"""The report as plain text: per project and experiment, each run's epochs and total, then "what if"."""

from __future__ import annotations

from collections.abc import Sequence

from wattprint.report.scale import seconds
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

__all__ = ["render_text"]


def _printable(text: str) -> str:
    """Names come from files: keep control characters (terminal escapes) out of the output."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _table(table: Table, indent: str) -> list[str]:
    body = [*table.rows, *([table.total] if table.total else [])]
    widths = [max(len(r[i]) for r in [table.headers, *body]) for i in range(len(table.headers))]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i in table.text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths))
        ]
        return (indent + "  ".join(padded)).rstrip()

    out = [line(table.headers)]
    for cells, flag in zip(table.rows, table.flags or [False] * len(table.rows)):
        out.append(line(cells) + ("  (interrupted)" if flag else ""))
    if table.total:
        out.append(line(table.total))
    return out


def render_text(report: Report, alternatives: Sequence[Alternative] = ()) -> str:
    domains = domains_of(report)
    runs = report.runs
    files = ", ".join(_printable(f) for f in report.files)
    out = [f"wattprint report: {len(runs)} run(s) in {len(report.groups)} project/experiment group(s) from {files}"]
    for group in report.groups:
        out.append("")
        out.append(f"Project: {_printable(group.project) or '(none)'}   Experiment: {_printable(group.experiment) or '(none)'}")
        for run in group.runs:
            out.append(f"  {_printable(run_heading(run))}")
            table = run_table(run, domains)
            if table.rows or table.total:
                out.extend(_table(table, "    "))
            out.extend(f"    {_printable(d)}" for d in run_details(run))
        if len(group.runs) > 1:
            t = group.total
            out.append(
                f"  {len(group.runs)} runs: {totals_line(t)}, {seconds(t.duration_s)} s{group_scope_note(group.runs)}"
            )
    t = report.total
    out.append("")
    out.append(
        f"Total: {totals_line(t)} over {len(runs)} run(s), {seconds(t.duration_s)} s"
    )
    for note in report.notes:
        out.append(f"Note: {_printable(note)}")
    if alternatives:
        out.append("")
        out.append(what_if_heading(t))
        out.extend(_table(what_if_table(alternatives), "  "))
        out.append(f"  {what_if_note(alternatives)}")
    return "\n".join(out) + "\n"
