"""The report's chart: every run's total on one shared axis, then each run's epochs.

Needs matplotlib (``pip install 'wattprint[plot]'``), imported on first use; drawn with the Agg
canvas directly, so no GUI backend and no ``pyplot`` global state are touched.

The first panel compares runs: one horizontal bar per run (its total energy, stacked by
domain), all on one axis in one unit, each labelled with its project, experiment (a
``wattprint run`` command line, shortened) and run id, scope and exit status, and with its
energy and CO2e written at the bar's end, so a run too small to see beside a large one still
reads. Every run is drawn (the figure grows with them, up to :data:`MAX_COMPARED`).

Then one panel per run with epochs, titled like its table, each with its own y scale and units:
within a run, epochs are compared with each other. Runs in one report can differ by a factor of
a million (a smoke test next to a full training); on one shared axis the small runs' epoch bars
would be invisible, and a log scale would misdraw stacked bars (a segment's height would no
longer be its share). In a panel: one bar per epoch, and the CO2e line is the running total over
the bars. At most :data:`MAX_PANELS` such panels are drawn, in report order; the figure says how
many were left out (the first panel and the tables list them all). Axis ticks are plain decimals
in the named unit, never with a ``1e-5`` multiplier.

A run of more than :data:`MAX_BARS` epochs is drawn as :data:`MAX_BARS` bars or fewer, each the
mean energy per epoch of consecutive epochs (so the axis still reads "energy per epoch"), and
its x-axis says so: a panel a few hundred pixels wide cannot show ten thousand bars, and
drawing them took minutes. The CO2e line is exact at every bar's last epoch.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wattprint.core.errors import MissingExtraError
from wattprint.core.merge import combine
from wattprint.report.scale import CO2_UNITS, ENERGY_UNITS, Unit, amount, pick
from wattprint.report.summary import Report, RunSummary, Totals
from wattprint.report.tables import domains_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MAX_BARS", "MAX_COMPARED", "MAX_PANELS", "figure", "render_png"]

_COLOURS = {"cpu": "#4c72b0", "gpu": "#dd8452", "ram": "#55a868"}
_OTHER_COLOURS = ("#8172b3", "#937860", "#da8bc3", "#8c8c8c")
_UNSPLIT = "#7f7f7f"  # energy with no per-domain figures (ECO2AI files without device columns)
_UNSPLIT_LABEL = "not split by domain"
_CO2 = "#c44e52"
_MAX_TICKS = 30  # across the figure's width
_COLUMNS = 3  # panels side by side
MAX_PANELS = 12  # epoch panels: beyond this the figure would grow past what a page or a screen can show
MAX_COMPARED = 200  # bars of the comparison panel (0.3 inch each)
_TITLE_CHARS = 40
_LABEL_WIDTH = 36  # characters per line of a run's label in the comparison panel
MAX_BARS = 100  # per panel: about 5 pixels a bar at the default size


@dataclass(frozen=True)
class _Bar:
    label: str
    totals: Totals  # summed over the bar's epochs
    epochs: int = 1  # how many: the bar is drawn at their mean
    first: str = ""  # the first epoch's label, for a bar of several


def _epoch_label(index: int | None) -> str:
    return "?" if index is None else str(index)


def _bars(run: RunSummary) -> list[_Bar]:
    epochs = run.epochs
    if epochs:
        if len(epochs) <= MAX_BARS:
            return [_Bar(_epoch_label(e.index), e.totals) for e in epochs]
        size = -(-len(epochs) // MAX_BARS)
        bars = []
        for start in range(0, len(epochs), size):
            part = epochs[start : start + size]
            first, last = _epoch_label(part[0].index), _epoch_label(part[-1].index)
            label = first if len(part) == 1 else f"{first}-{last}"
            bars.append(_Bar(label, combine(e.totals for e in part), len(part), first))
        return bars
    if run.counted_from != "none":
        return [_Bar("run", run.total)]
    return []


def _plain(text: str) -> str:
    """Names come from files: keep matplotlib from reading ``$...$`` in them as mathtext."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    if len(text) > _TITLE_CHARS:
        text = text[: _TITLE_CHARS - 3] + "..."
    return text.replace("$", r"\$")


def _title(run: RunSummary) -> str:
    names = " / ".join(_plain(n) for n in (run.project, run.experiment) if n) or "(no project)"
    return f"{names}\nrun {_plain(run.run_id[:8])}"


def _label(run: RunSummary) -> str:
    """A run's label in the comparison: project / experiment on up to two lines, then run, scope, status."""
    names = " / ".join(n for n in (run.project, run.experiment) if n) or "(no project)"
    names = "".join(c if c.isprintable() else "?" for c in names)
    if len(names) > 2 * _LABEL_WIDTH:  # keep both ends: command lines differ in their last arguments
        names = names[: _LABEL_WIDTH - 4] + " ... " + names[-(_LABEL_WIDTH - 1):]
    lines = textwrap.wrap(names, _LABEL_WIDTH, max_lines=2, placeholder="...") or ["(no project)"]
    facts = [f"run {run.run_id[:8]}"]
    if run.scopes and run.scopes != ["machine"]:
        facts.append(" and ".join(run.scopes) + " scope")
    facts.extend(f"exit {s}" for s in run.exit_statuses if s)
    return "\n".join([*lines, ", ".join(facts)]).replace("$", r"\$")


def _plain_ticks(ax, axis: str) -> None:
    """Ticks as plain decimals in the axis' unit: no offset, no ``1e-5`` multiplier."""
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda v, _pos: f"{v:,.6f}".rstrip("0").rstrip(".") or "0")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(formatter)


def _stack(draw, at: list[int], totals: list[Totals], energy: Unit, colours: dict[str, str], **style) -> None:
    """Bars of ``totals``' energy in ``energy`` units, stacked by domain, then any energy not split
    by domain; ``draw(at, sizes, left=starts, color=, label=, **style)`` draws one layer."""
    start = [0.0] * len(totals)
    for d, colour in colours.items():
        sizes = [t.energy_kwh_by_domain.get(d, 0.0) / energy[1] for t in totals]
        if any(sizes):
            draw(at, sizes, left=start, color=colour, label=d, **style)
            start = [a + h for a, h in zip(start, sizes)]
    unsplit = [max(0.0, t.energy_kwh / energy[1] - s) for t, s in zip(totals, start)]
    # Rounding leaves crumbs when the domains do add up; draw only a real remainder.
    if any(u > 1e-9 * max(1.0, s) for u, s in zip(unsplit, start)):
        draw(at, unsplit, left=start, color=_UNSPLIT, label=_UNSPLIT_LABEL, **style)


def _compare(fig, runs: list[RunSummary], colours: dict[str, str]) -> None:
    """Every run's total energy, stacked by domain, on one shared axis, largest unit that fits."""
    ax = fig.subplots()
    ax.set_gid("runs compared")
    energy = pick((r.total.energy_kwh for r in runs), ENERGY_UNITS)
    y = list(range(len(runs)))
    _stack(ax.barh, y, [r.total for r in runs], energy, colours, height=0.7)
    top = max((r.total.energy_kwh / energy[1] for r in runs), default=0.0) or 1.0
    for i, r in enumerate(runs):
        text = f"{amount(r.total.energy_kwh, ENERGY_UNITS)}, {amount(r.total.co2_kg, CO2_UNITS)} CO2e"
        ax.annotate(text, (r.total.energy_kwh / energy[1], i), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize="small")
    ax.set_xlim(0, top * 1.45)  # room for the figures written after the longest bar
    ax.set_yticks(y, [_label(r) for r in runs], fontsize="small")
    ax.invert_yaxis()  # report order, top down
    ax.set_xlabel(f"energy ({energy[0]}), every run on this one axis")
    ax.set_title("Runs compared: total energy by domain", fontsize="medium")
    _plain_ticks(ax, "x")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def _import():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError("matplotlib", "plot") from None
    return Figure, FigureCanvasAgg


def _panel(fig, run: RunSummary, bars: list[_Bar], colours: dict[str, str], max_ticks: int) -> None:
    """One run: energy bars by domain over its cumulative CO2e, in units chosen for this run."""
    ax_e, ax_c = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    energy = pick((b.totals.energy_kwh / b.epochs for b in bars), ENERGY_UNITS)
    co2 = pick((sum(b.totals.co2_kg for b in bars),), CO2_UNITS)
    x = list(range(len(bars)))
    bottom = [0.0] * len(bars)
    for d, colour in colours.items():
        heights = [b.totals.energy_kwh_by_domain.get(d, 0.0) / energy[1] / b.epochs for b in bars]
        if any(heights):
            ax_e.bar(x, heights, bottom=bottom, color=colour, label=d, width=0.8)
            bottom = [a + h for a, h in zip(bottom, heights)]
    unsplit = [max(0.0, b.totals.energy_kwh / energy[1] / b.epochs - s) for b, s in zip(bars, bottom)]
    # Rounding leaves crumbs when the domains do add up; draw only a real remainder.
    if any(u > 1e-9 * max(1.0, s) for u, s in zip(unsplit, bottom)):
        ax_e.bar(x, unsplit, bottom=bottom, color=_UNSPLIT, label=_UNSPLIT_LABEL, width=0.8)
    reduced = max(b.epochs for b in bars) > 1
    ax_e.set_ylabel(f"energy per epoch ({energy[0]})" if reduced else f"energy ({energy[0]})")
    ax_e.set_title(_title(run), fontsize="medium")

    running = 0.0
    cumulative = []
    for b in bars:
        running += b.totals.co2_kg / co2[1]
        cumulative.append(running)
    ax_c.plot(x, cumulative, color=_CO2, marker="o" if len(bars) <= 60 else None, linewidth=1.8)
    ax_c.fill_between(x, cumulative, color=_CO2, alpha=0.12)
    ax_c.set_ylabel(f"cumulative CO2e ({co2[0]})")
    ax_c.set_ylim(bottom=0)
    labels = [b.label for b in bars]
    if reduced:
        count = sum(b.epochs for b in bars)
        ax_c.set_xlabel(f"epoch ({count:,} drawn as {len(bars)} bars,\neach the mean of up to {max(b.epochs for b in bars)} epochs)")
        labels = [b.first or b.label for b in bars]  # "100-199" is too wide for a tick: "100"
        max_ticks = max(2, max_ticks // 2)  # epoch numbers grow wide
    else:
        ax_c.set_xlabel("epoch" if run.epochs else "whole run (no epoch rows)")
    stride = max(1, -(-len(bars) // max_ticks))
    ticks = x[::stride]
    ax_c.set_xticks(ticks, [labels[i] for i in ticks])
    for ax in (ax_e, ax_c):
        _plain_ticks(ax, "y")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)


def figure(report: Report, *, dpi: int = 110) -> Figure:
    """The chart as a matplotlib ``Figure`` (on an Agg canvas), to adjust or save in another format.

    Raises:
        MissingExtraError: matplotlib is not installed (extra ``plot``).
    """
    figure_class, canvas_class = _import()
    totalled = [run for run in report.runs if run.counted_from != "none"]
    compared = totalled[:MAX_COMPARED] if len(totalled) > 1 else []
    with_epochs = [(run, _bars(run)) for run in report.runs if run.epochs]
    if not compared and not with_epochs:  # one run without epochs: its one bar is the comparison
        with_epochs = [(run, bars) for run in totalled if (bars := _bars(run))]
    shown = with_epochs[:MAX_PANELS]
    columns = max(1, min(_COLUMNS, len(shown)))
    rows = math.ceil(len(shown) / columns)
    most_bars = max((len(bars) for _, bars in shown), default=1)
    width = min(16.0, max(8.0, columns * (0.35 * most_bars + 3.0)))
    compare_h = 1.4 + 0.5 * len(compared) if compared else 0.0
    panels_h = 5.0 * rows
    fig = figure_class(figsize=(width, 1.0 + compare_h + panels_h), dpi=dpi, layout="constrained")
    canvas_class(fig)

    # One colour per domain for the whole figure, so one legend serves every panel.
    others = iter(_OTHER_COLOURS * 4)
    colours = {d: _COLOURS.get(d) or next(others, _UNSPLIT) for d in domains_of(report)}
    title = "Energy by domain (bars) and cumulative CO2e (line)"
    if len(shown) > 1:
        title += "; each run's epochs on that run's own scale"
    notes = []
    if len(totalled) > len(compared) > 0:
        notes.append(f"the first {len(compared)} of {len(totalled)} runs compared")
    if len(with_epochs) > len(shown):
        notes.append(f"epochs of the first {len(shown)} of {len(with_epochs)} runs with epochs")
    if notes:
        title += "\n" + "; ".join(notes) + "; the tables list every run"
    fig.suptitle(title)
    if not compared and not shown:
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no epochs or runs to draw", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    parts = [h for h in (compare_h, panels_h) if h]
    subs = list(fig.subfigures(len(parts), 1, height_ratios=parts, squeeze=False).ravel())
    if compared:
        _compare(subs.pop(0), compared, colours)
    if shown:
        panels = subs[0].subfigures(rows, columns, squeeze=False).ravel()
        for sub, (run, bars) in zip(panels, shown):
            _panel(sub, run, bars, colours, max(5, _MAX_TICKS // columns))
    found = {}
    for ax in fig.axes:  # the subfigures' axes too
        found.update((label, handle) for handle, label in zip(*ax.get_legend_handles_labels()))
    order = [*colours, _UNSPLIT_LABEL]
    labels = [label for label in order if label in found]
    if labels:
        # Below the panels: above them it would collide with the title.
        fig.legend([found[label] for label in labels], labels, loc="outside lower center",
                   ncols=len(labels), fontsize="small", frameon=False)
    return fig


def render_png(report: Report, path: str | os.PathLike[str] | None = None, *, dpi: int = 110) -> bytes:
    """Draw the chart and return it as PNG bytes; also write them to ``path`` if given.

    Raises:
        MissingExtraError: matplotlib is not installed (extra ``plot``).
    """
    fig = figure(report, dpi=dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": "wattprint"})
    data = buf.getvalue()
    if path is not None:
        with open(path, "wb") as f:
            f.write(data)
    return data
