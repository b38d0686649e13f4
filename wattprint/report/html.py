"""The report as one self-contained HTML page: the tables, the chart as an embedded PNG.

No script, no external resource (a Content-Security-Policy forbids both), so the file can be
mailed or attached to an experiment as it is. Every text that comes from a CSV is escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from wattprint import __version__
from wattprint.report.scale import CO2_UNITS, ENERGY_UNITS, amount, seconds
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

__all__ = ["render_html"]

_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 70rem;
       padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.meta, .details, .note { color: #555; font-size: .9rem; }
.details { margin: .3rem 0 1rem; padding-left: 1.2rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: .3rem 0; }
th, td { padding: .25rem .7rem; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th { background: #f5f5f7; font-weight: 600; }
td.text, th.text { text-align: left; white-space: normal; }
tfoot td { font-weight: 600; border-top: 2px solid #ccc; }
tr.interrupted td { color: #a33; }
img.chart { max-width: 100%; height: auto; border: 1px solid #eee; }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _table(table: Table, css_class: str) -> str:
    def cells(values: Sequence[str], tag: str) -> str:
        return "".join(
            f'<{tag} class="text">{escape(v)}</{tag}>' if i in table.text_columns else f"<{tag}>{escape(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    flags = table.flags or [False] * len(table.rows)
    body = "\n".join(
        f'<tr class="interrupted" title="interrupted">{cells(r, "td")}</tr>' if flag else f"<tr>{cells(r, 'td')}</tr>"
        for r, flag in zip(table.rows, flags)
    )
    foot = f"<tfoot><tr>{cells(table.total, 'td')}</tr></tfoot>" if table.total else ""
    return (
        f'<table class="{css_class}">\n<thead><tr>{cells(table.headers, "th")}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>{foot}\n</table>"
    )


def render_html(
    report: Report,
    alternatives: Sequence[Alternative] = (),
    png: bytes | None = None,
    chart_note: str | None = None,
) -> str:
    """The page as text. ``png``: the chart to embed; ``chart_note``: why there is none."""
    domains = domains_of(report)
    runs = report.runs
    t = report.total
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        "<title>wattprint report</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<h1>wattprint report</h1>",
        f'<p class="meta">{len(runs)} run(s) from {escape(", ".join(report.files))}; '
        f"wattprint {escape(__version__)}</p>",
        f'<p class="total" id="total">Total: <strong>{amount(t.energy_kwh, ENERGY_UNITS)}</strong>, '
        f"<strong>{amount(t.co2_kg, CO2_UNITS)} CO2e</strong> over {seconds(t.duration_s)} s</p>",
    ]
    if png:
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<img class="chart" alt="Energy per epoch by domain and cumulative CO2e" '
            f'src="data:image/png;base64,{data}">'
        )
    elif chart_note:
        parts.append(f'<p class="note">{escape(chart_note)}</p>')
    for group in report.groups:
        parts.append('<section class="group">')
        parts.append(
            f"<h2>Project: {escape(group.project or '(none)')} &middot; "
            f"Experiment: {escape(group.experiment or '(none)')}</h2>"
        )
        for run in group.runs:
            parts.append(f"<h3>{escape(run_heading(run))}</h3>")
            table = run_table(run, domains)
            if table.rows or table.total:
                parts.append(_table(table, "epochs"))
            details = "".join(f"<li>{escape(d)}</li>" for d in run_details(run))
            parts.append(f'<ul class="details">{details}</ul>')
        if len(group.runs) > 1:
            g = group.total
            parts.append(
                f'<p class="meta">{len(group.runs)} runs: {escape(totals_line(g))}, {seconds(g.duration_s)} s{escape(group_scope_note(group.runs))}</p>'
            )
        parts.append("</section>")
    if report.notes:
        parts.append('<ul class="note">' + "".join(f"<li>{escape(n)}</li>" for n in report.notes) + "</ul>")
    if alternatives:
        parts.append('<h2 id="what-if">What if</h2>')
        parts.append(f"<p>{escape(what_if_heading(t))}</p>")
        parts.append(_table(what_if_table(alternatives), "what-if"))
        parts.append(f'<p class="note">{escape(what_if_note(alternatives))}</p>')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
