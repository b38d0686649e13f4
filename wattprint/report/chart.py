"""The report's chart: energy per epoch by domain (stacked bars) over cumulative CO2e (line).

Needs matplotlib (``pip install 'wattprint[plot]'``), imported on first use; drawn with the Agg
canvas directly, so no GUI backend and no ``pyplot`` global state are touched. One bar per
epoch, runs one after another in report order (a run without epoch rows is one bar); the
CO2e line is the running total over the bars.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

from wattprint.core.errors import MissingExtraError
from wattprint.report.summary import Report, Totals
from wattprint.report.tables import domains_of, units_for

__all__ = ["render_png"]

_COLOURS = {"cpu": "#4c72b0", "gpu": "#dd8452", "ram": "#55a868"}
_OTHER_COLOURS = ("#8172b3", "#937860", "#da8bc3", "#8c8c8c")
_UNSPLIT = "#7f7f7f"  # energy with no per-domain figures (ECO2AI files without device columns)
_MAX_TICKS = 30


@dataclass(frozen=True)
class _Bar:
    label: str
    run: int  # position of its run in the report
    totals: Totals


def _bars(report: Report) -> list[_Bar]:
    bars = []
    for i, run in enumerate(report.runs):
        if run.epochs:
            bars.extend(_Bar("?" if e.index is None else str(e.index), i, e.totals) for e in run.epochs)
        elif run.counted_from != "none":
            bars.append(_Bar("run", i, run.total))
    return bars


def _import():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError("matplotlib", "plot") from None
    return Figure, FigureCanvasAgg


def render_png(report: Report, path: str | os.PathLike[str] | None = None, *, dpi: int = 110) -> bytes:
    """Draw the chart and return it as PNG bytes; also write them to ``path`` if given.

    Raises:
        MissingExtraError: matplotlib is not installed (extra ``plot``).
    """
    Figure, FigureCanvasAgg = _import()
    bars = _bars(report)
    energy, co2 = units_for(report)
    domains = domains_of(report)
    width = min(16.0, max(7.0, 0.35 * len(bars) + 3.0))
    fig = Figure(figsize=(width, 6.5), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax_e, ax_c = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    x = list(range(len(bars)))
    if not bars:
        ax_e.text(0.5, 0.5, "no epochs or runs to draw", ha="center", va="center", transform=ax_e.transAxes)
    bottom = [0.0] * len(bars)
    others = iter(_OTHER_COLOURS * 4)
    for d in domains:
        heights = [b.totals.energy_kwh_by_domain.get(d, 0.0) / energy[1] for b in bars]
        if any(heights):
            ax_e.bar(x, heights, bottom=bottom, color=_COLOURS.get(d) or next(others), label=d, width=0.8)
            bottom = [a + h for a, h in zip(bottom, heights)]
    unsplit = [max(0.0, b.totals.energy_kwh / energy[1] - s) for b, s in zip(bars, bottom)]
    # Rounding leaves crumbs when the domains do add up; draw only a real remainder.
    if any(u > 1e-9 * max(1.0, s) for u, s in zip(unsplit, bottom)):
        ax_e.bar(x, unsplit, bottom=bottom, color=_UNSPLIT, label="not split by domain", width=0.8)
    ax_e.set_ylabel(f"energy ({energy[0]})")
    ax_e.set_title("Energy per epoch by domain")
    if bars:
        ax_e.legend(loc="upper left", fontsize="small")

    running = 0.0
    cumulative = []
    for b in bars:
        running += b.totals.co2_kg / co2[1]
        cumulative.append(running)
    ax_c.plot(x, cumulative, color="#c44e52", marker="o" if len(bars) <= 60 else None, linewidth=1.8)
    ax_c.fill_between(x, cumulative, color="#c44e52", alpha=0.12)
    ax_c.set_ylabel(f"cumulative CO2e ({co2[0]})")
    ax_c.set_title("Cumulative CO2e")
    ax_c.set_ylim(bottom=0)
    ax_c.set_xlabel("epoch" if len(report.runs) <= 1 else "epoch (runs one after another)")

    for i in range(1, len(bars)):
        if bars[i].run != bars[i - 1].run:
            for ax in (ax_e, ax_c):
                ax.axvline(i - 0.5, color="#999999", linestyle="--", linewidth=0.8)
    stride = max(1, -(-len(bars) // _MAX_TICKS))
    ticks = x[::stride]
    ax_c.set_xticks(ticks, [bars[i].label for i in ticks])
    for ax in (ax_e, ax_c):
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)

    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": "wattprint"})
    data = buf.getvalue()
    if path is not None:
        with open(path, "wb") as f:
            f.write(data)
    return data
