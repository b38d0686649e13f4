"""The report's chart: per run, energy per epoch by domain (stacked bars) over cumulative CO2e (line).

Needs matplotlib (``pip install 'wattprint[plot]'``), imported on first use; drawn with the Agg
canvas directly, so no GUI backend and no ``pyplot`` global state are touched.

One panel per run, titled with its project, experiment and run id, each with its own y scale
and units (as its table in the text report). Runs in one report can differ by a factor of a
million (a smoke test next to a full training); on one shared axis the small runs' bars are
invisible, and a log scale would misdraw stacked bars (a segment's height would no longer be
its share). Within a panel: one bar per epoch (a run without epoch rows is one bar), and the
CO2e line is the running total over that run's bars. At most :data:`MAX_PANELS` runs are
drawn, in report order; the figure says how many were left out (the tables list them all).

A run of more than :data:`MAX_BARS` epochs is drawn as :data:`MAX_BARS` bars or fewer, each the
mean energy per epoch of consecutive epochs (so the axis still reads "energy per epoch"), and
its x-axis says so: a panel a few hundred pixels wide cannot show ten thousand bars, and
drawing them took minutes. The CO2e line is exact at every bar's last epoch.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wattprint.core.errors import MissingExtraError
from wattprint.core.merge import combine
from wattprint.report.scale import CO2_UNITS, ENERGY_UNITS, pick
from wattprint.report.summary import Report, RunSummary, Totals
from wattprint.report.tables import domains_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MAX_BARS", "MAX_PANELS", "figure", "render_png"]

_COLOURS = {"cpu": "#4c72b0", "gpu": "#dd8452", "ram": "#55a868"}
_OTHER_COLOURS = ("#8172b3", "#937860", "#da8bc3", "#8c8c8c")
_UNSPLIT = "#7f7f7f"  # energy with no per-domain figures (ECO2AI files without device columns)
_UNSPLIT_LABEL = "not split by domain"
_CO2 = "#c44e52"
_MAX_TICKS = 30  # across the figure's width
_COLUMNS = 3  # panels side by side
MAX_PANELS = 12  # beyond this the figure would grow past what a page or a screen can show
_TITLE_CHARS = 40
MAX_BARS = 100  # per panel: about 5 pixels a bar at the default size


@dataclass(frozen=True)
class _Bar:
    label: str
    totals: Totals  # summed over the bar's epochs
    epochs: int = 1  # how many: the bar is drawn at their mean
    first: str = ""  # the first epoch's label, for a bar of several


def _label(index: int | None) -> str:
    return "?" if index is None else str(index)


def _bars(run: RunSummary) -> list[_Bar]:
    epochs = run.epochs
    if epochs:
        if len(epochs) <= MAX_BARS:
            return [_Bar(_label(e.index), e.totals) for e in epochs]
        size = -(-len(epochs) // MAX_BARS)
        bars = []
        for start in range(0, len(epochs), size):
            part = epochs[start : start + size]
            first, last = _label(part[0].index), _label(part[-1].index)
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
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)


def figure(report: Report, *, dpi: int = 110) -> Figure:
    """The chart as a matplotlib ``Figure`` (on an Agg canvas), to adjust or save in another format.

    Raises:
        MissingExtraError: matplotlib is not installed (extra ``plot``).
    """
    figure_class, canvas_class = _import()
    drawable = [(run, bars) for run in report.runs if (bars := _bars(run))]
    shown = drawable[:MAX_PANELS]
    columns = max(1, min(_COLUMNS, len(shown)))
    rows = max(1, math.ceil(len(shown) / columns))
    most_bars = max((len(bars) for _, bars in shown), default=1)
    width = min(16.0, max(7.0, columns * (0.35 * most_bars + 3.0)))
    fig = figure_class(figsize=(width, 1.5 + 5.0 * rows), dpi=dpi, layout="constrained")
    canvas_class(fig)

    # One colour per domain for the whole figure, so one legend serves every panel.
    others = iter(_OTHER_COLOURS * 4)
    colours = {d: _COLOURS.get(d) or next(others, _UNSPLIT) for d in domains_of(report)}
    title = "Energy per epoch by domain (bars) and cumulative CO2e (line)"
    if len(shown) > 1:
        title += ": one panel per run, each on its own scale"
    if len(drawable) > len(shown):
        title += f"\nthe first {len(shown)} of {len(drawable)} runs; the tables list every run"
    fig.suptitle(title)
    if not shown:
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no epochs or runs to draw", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        panels = fig.subfigures(rows, columns, squeeze=False).ravel()
        for sub, (run, bars) in zip(panels, shown):
            _panel(sub, run, bars, colours, max(5, _MAX_TICKS // columns))
        found = {}
        for sub in panels:
            for ax in sub.axes:
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
