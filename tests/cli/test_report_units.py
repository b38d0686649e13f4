"""Readable figures in ``wattprint report`` when runs differ by orders of magnitude.

A 1 mWh smoke test (an ECO2AI file) next to a 1 kWh training (a Tracker file): each run's table
is in its own unit, every figure has 4 significant figures, and the chart gives each run a
panel of its own scale, so nothing reads or draws as zero.
"""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

import pytest

from wattprint import Tracker
from wattprint.report import load_files, summarise
from wattprint.report.scale import CO2_UNITS, ENERGY_UNITS, amount, fmt
from wattprint.report.tables import what_if_table
from wattprint.report.whatif import Alternative
from wattprint.testing import FakeClock, FakeSensor

from .helpers import ECO2AI_HEADER, wattprint

SMALL_ID, BIG_ID = "a1a1a1a1", "b2b2b2b2"
SMALL_KWH, BIG_KWH = 1e-6, 1.0  # 1 mWh and 1 kWh
G_PER_KWH = 400.0
UNIT_SIZE = {"kWh": 1.0, "Wh": 1e-3, "mWh": 1e-6, "kg": 1.0, "g": 1e-3, "mg": 1e-6}

#: Two epochs of 0.5 mWh each, no run row (ECO2AI's training mode).
SMALL_CSV = ECO2AI_HEADER + "".join(
    f'{SMALL_ID}-0000-4000-8000-000000000001,smoke,tiny,"epoch: {i}, ",2024-05-01 10:00:0{i},0.5,'
    f"{SMALL_KWH / 2},{SMALL_KWH / 2 * G_PER_KWH / 1000},cpu,gpu,Linux,Germany/,0\n"
    for i in (1, 2)
)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "small.csv").write_text(SMALL_CSV)
    # 1 kWh over two epochs of 30 min at 1 kW: 0.9 kW of GPU, 0.1 kW of CPU.
    clock = FakeClock()
    sensors = [FakeSensor("gpu", power_w=900.0, clock=clock), FakeSensor("cpu", power_w=100.0, clock=clock)]
    tracker = Tracker("train", "full", sensors=sensors, clock=clock, carbon_intensity=G_PER_KWH,
                      output_file=tmp_path / "big.csv")
    tracker.start()
    for i in range(2):
        with tracker.window("epoch", index=i):
            clock.advance(1800.0)
    tracker.stop()
    return tmp_path


def _check(headers: list[str], rows: list[list[str]], total_kwh: float) -> None:
    """Every energy and CO2e figure is non-zero, and the total reads back to ``total_kwh``."""
    units = {i: re.fullmatch(r".*\((kWh|Wh|mWh|kg|g|mg)\)", h) for i, h in enumerate(headers)}
    columns = {i: m.group(1) for i, m in units.items() if m}
    assert headers[2].startswith("energy (") and any(h.startswith("CO2e (") for h in headers)
    for row in rows:
        for i in columns:
            if row[i] != "-":
                assert float(row[i].replace(",", "")) > 0, (headers[i], row)
    energy = float(rows[-1][2].replace(",", "")) * UNIT_SIZE[columns[2]]
    assert energy == pytest.approx(total_kwh, rel=1e-3)
    co2_col = next(i for i, h in enumerate(headers) if h.startswith("CO2e ("))
    co2 = float(rows[-1][co2_col].replace(",", "")) * UNIT_SIZE[columns[co2_col]]
    assert co2 == pytest.approx(total_kwh * G_PER_KWH / 1000, rel=1e-3)


def _text_tables(out: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Each run's table from the text report, by run id prefix: headers, then rows (total last)."""
    tables: dict[str, tuple[list[str], list[list[str]]]] = {}
    run = None
    for line in out.splitlines():
        heading = re.match(r"  run (\w+),", line)
        if heading:
            run = heading.group(1)
        elif run and line.startswith("    epoch "):
            tables[run] = (re.split(r"\s{2,}", line.strip()), [])
        elif run in tables and re.match(r"    \S", line) and len(re.split(r"\s{2,}", line.strip())) > 3:
            tables[run][1].append(re.split(r"\s{2,}", line.strip()))
    return tables


def test_text_report_shows_a_mwh_run_and_a_kwh_run_each_in_its_own_unit(files):
    result = wattprint("report", "small.csv", "big.csv", cwd=files)
    assert result.returncode == 0, result.stderr
    tables = _text_tables(result.stdout)
    big_id = next(k for k in tables if k != SMALL_ID)
    small_headers, small_rows = tables[SMALL_ID]
    assert small_headers[2] == "energy (mWh)" and "CO2e (mg)" in small_headers
    assert [r[2] for r in small_rows] == ["0.5000", "0.5000", "1.000"]  # 4 significant figures
    _check(small_headers, small_rows, SMALL_KWH)
    big_headers, big_rows = tables[big_id]
    assert big_headers[2] == "energy (kWh)"
    _check(big_headers, big_rows, BIG_KWH)
    assert re.search(r"^Total: 1\.000 kWh, 0\.4000 kg CO2e", result.stdout, re.MULTILINE)
    assert not re.search(r"(?<![\d.])0\.000(?!\d)", result.stdout)  # no figure rounded away


class _Page(HTMLParser):
    """Run headings (h3) and the epoch tables under them, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._text: list[str] | None = None
        self._in_epochs = False

    def handle_starttag(self, tag, attrs):
        if tag == "h3" or tag in ("td", "th") and self._in_epochs:
            self._text = []
        elif tag == "table":
            self._in_epochs = dict(attrs).get("class") == "epochs"
            if self._in_epochs:
                self.tables.append([])
        elif tag == "tr" and self._in_epochs:
            self.tables[-1].append([])

    def handle_endtag(self, tag):
        if tag == "h3" and self._text is not None:
            self.headings.append("".join(self._text))
        elif tag in ("td", "th") and self._text is not None:
            self.tables[-1][-1].append("".join(self._text))
        elif tag == "table":
            self._in_epochs = False
        if tag in ("h3", "td", "th"):
            self._text = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def test_html_report_shows_a_mwh_run_and_a_kwh_run_each_in_its_own_unit(files):
    result = wattprint("report", "--html", "r.html", "small.csv", "big.csv", cwd=files)
    assert result.returncode == 0, result.stderr
    page = _Page()
    page.feed((files / "r.html").read_text())
    assert len(page.headings) == len(page.tables) == 2
    by_run = {h.split(",")[0].removeprefix("run "): t for h, t in zip(page.headings, page.tables)}
    small = by_run.pop(SMALL_ID)
    assert small[0][2] == "energy (mWh)"
    _check(small[0], small[1:], SMALL_KWH)
    (big,) = by_run.values()
    assert big[0][2] == "energy (kWh)"
    _check(big[0], big[1:], BIG_KWH)
    assert "Total: <strong>1.000 kWh</strong>, <strong>0.4000 kg CO2e</strong>" in (files / "r.html").read_text()


@pytest.mark.parametrize(
    "value, unit, text",
    [
        (5.416_666e-3, ("Wh", 1e-3), "5.417"),
        (17.152_777e-3, ("Wh", 1e-3), "17.15"),
        (0.4, ("kg", 1.0), "0.4000"),
        (0.002_730, ("kg", 1.0), "0.002730"),
        (12_345.6, ("kWh", 1.0), "12,346"),  # no exponent, every integer digit
        (0.0, ("kWh", 1.0), "0"),
        (1e-12, ("kWh", 1.0), "<0.000001"),  # too small to show, but not shown as zero
    ],
)
def test_fmt_shows_four_significant_figures(value, unit, text):
    assert fmt(value, unit) == text


def test_amount_picks_the_unit_for_the_figure():
    assert amount(1e-6, ENERGY_UNITS) == "1.000 mWh"
    assert amount(0.017_152_777, ENERGY_UNITS) == "17.15 Wh"
    assert amount(1.0, ENERGY_UNITS) == "1.000 kWh"
    assert amount(4e-7, CO2_UNITS) == "0.4000 mg"


def test_what_if_table_of_a_tiny_run_is_in_milligrams():
    def alt(key: str, g: float) -> Alternative:
        return Alternative("grid", key, key, g, "lifecycle", 2024, "test", SMALL_KWH * g / 1000, None)

    table = what_if_table([alt("world", 473.0), alt("FR", 44.2), alt("gcp:x", 2.7)])
    assert table.headers[3] == "CO2e (mg)"
    assert [r[3] for r in table.rows] == ["0.4730", "0.04420", "0.002700"]


def test_what_if_compares_only_figures_of_the_reported_basis():
    from wattprint.report.tables import what_if_note
    from wattprint.report.whatif import what_if

    alternatives = what_if(1.0, 0.04418, basis="lifecycle")  # 1 kWh in France
    comparable = [a for a in alternatives if a.comparable]
    other = [a for a in alternatives if not a.comparable]
    assert {a.basis for a in comparable} == {"lifecycle"} and {a.basis for a in other} == {"direct"}
    assert alternatives == comparable + other  # the reported basis first
    assert all(a.change is None for a in other) and all(a.change is not None for a in comparable)
    gcp = next(a for a in other if a.key.startswith("gcp:"))
    table = what_if_table(alternatives)
    assert table.headers[1] == "basis"
    row = table.rows[alternatives.index(gcp)]
    assert row[1] == "direct" and row[4] == "other basis"
    france = table.rows[next(i for i, a in enumerate(alternatives) if a.key == "FR")]
    assert france[4] == "same"  # not "-0%" or "+0%"
    assert "not compared with the reported lifecycle figure" in what_if_note(alternatives)
    # A direct-basis report (a US state, a GCP region) compares the other way round.
    direct = what_if(1.0, 0.3, basis="direct")
    assert {a.basis for a in direct if a.comparable} == {"direct"}
    # Unknown basis (a fixed intensity, ECO2AI rows): every line is compared, as before.
    assert all(a.comparable for a in what_if(1.0, 0.3, basis=None))


def test_short_durations_never_read_zero():
    from wattprint.report.scale import seconds

    assert [seconds(v) for v in (0.0, 0.034, 0.5, 1.0, 12.345, 12_345.6)] == ["0", "0.034", "0.50", "1.0", "12.3", "12,345.6"]


# -- chart ----------------------------------------------------------------------------------------


def _epoch_panels(fig) -> list:
    """The (energy, CO2e) axes pairs of the per-run epoch panels."""
    return [ax for ax in fig.axes if ax.get_gid() != "runs compared"]


def _compared(fig):
    (ax,) = [ax for ax in fig.axes if ax.get_gid() == "runs compared"]
    return ax


def test_chart_compares_runs_on_one_axis_and_gives_each_run_its_epochs_on_its_own_scale(files):
    pytest.importorskip("matplotlib")
    from wattprint.report.chart import figure

    fig = figure(summarise(load_files([files / "small.csv", files / "big.csv"])))
    fig.canvas.draw()
    ax = _compared(fig)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 2 and labels[0].startswith("smoke / tiny") and labels[1].startswith("train / full")
    assert ax.get_xlabel() == "energy (kWh), every run on this one axis"
    # The small run's bar is invisible beside the big one; its figures are written beside it.
    written = [t.get_text() for t in ax.texts]
    assert "mWh" in written[0] and written[1].startswith("1.000 kWh")
    seen = {}
    panels = _epoch_panels(fig)
    for energy_ax, co2_ax in zip(panels[::2], panels[1::2]):
        run = re.search(r"run (\w+)", energy_ax.get_title()).group(1)
        tops = [p.get_y() + p.get_height() for p in energy_ax.patches]
        # The tallest bar fills most of its panel, however small the run.
        assert max(tops) / energy_ax.get_ylim()[1] > 0.8, energy_ax.get_title()
        seen[run] = (energy_ax.get_ylabel(), energy_ax.get_title().splitlines()[0], co2_ax.get_ylabel())
    assert seen.pop(SMALL_ID) == ("energy (mWh)", "smoke / tiny", "cumulative CO2e (mg)")
    assert list(seen.values()) == [("energy (kWh)", "train / full", "cumulative CO2e (kg)")]


def test_chart_of_many_command_runs_draws_them_all_with_plain_ticks(tmp_path):
    pytest.importorskip("matplotlib")
    from wattprint.report.chart import figure

    # 40 runs of a long command line, 10 to 40 microwatt-hours: the sizes that drew "1e-5".
    command = "python train.py --config configs/a-rather-long-experiment-name.yaml --seed "
    rows = "".join(
        f"{i:08x}-0000-4000-8000-000000000000,p,{command}{i},N/A,2024-05-01 10:00:00,1.0,{(10 + i) * 1e-9},"
        f"{(10 + i) * 1e-10},c,g,Linux,DE,0\n"
        for i in range(40)
    )
    (tmp_path / "e.csv").write_text(ECO2AI_HEADER + rows)
    fig = figure(summarise(load_files([tmp_path / "e.csv"])))
    fig.canvas.draw()
    ax = _compared(fig)
    assert len(ax.patches) == 40 and len(ax.get_yticklabels()) == 40
    assert "first" not in fig.get_suptitle()
    assert ax.xaxis.get_offset_text().get_text() == ""
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks and not any("e" in t.lower() for t in ticks)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(label.count("\n") <= 2 for label in labels)  # at most two lines of name, then the run
    assert labels[7].splitlines()[1].endswith("--seed 7")  # a long command keeps its distinguishing end
    # The labels do not overlap one another.
    boxes = [t.get_window_extent() for t in ax.get_yticklabels()]
    assert all(a.y0 >= b.y1 - 0.5 or b.y0 >= a.y1 - 0.5 for a, b in itertools.pairwise(boxes))


def test_chart_keeps_dollar_signs_in_names_as_text(tmp_path):
    pytest.importorskip("matplotlib")
    from wattprint.report.chart import render_png

    # Unescaped, matplotlib would read "$...$" as a formula and fail on this one.
    (tmp_path / "e.csv").write_text(SMALL_CSV.replace("smoke,tiny", r"p$\frac{1}{$x,e^_{"))
    data = render_png(summarise(load_files([tmp_path / "e.csv"])))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_beyond_its_panel_limit_says_how_many_runs_it_drew(tmp_path):
    pytest.importorskip("matplotlib")
    from wattprint.report.chart import MAX_PANELS, figure

    rows = "".join(
        f'{i:08x}-0000-4000-8000-000000000000,p,e,"epoch: {e}, ",2024-05-01 10:00:00,1.0,0.001,0.0004,c,g,Linux,DE,0\n'
        for i in range(MAX_PANELS + 1) for e in (1, 2)
    )
    (tmp_path / "e.csv").write_text(ECO2AI_HEADER + rows)
    fig = figure(summarise(load_files([tmp_path / "e.csv"])))
    assert len(_epoch_panels(fig)) == 2 * MAX_PANELS
    assert len(_compared(fig).patches) == MAX_PANELS + 1  # every run is still compared
    assert f"epochs of the first {MAX_PANELS} of {MAX_PANELS + 1} runs with epochs" in fig.get_suptitle()

def _fmt_by_the_rule(value: float, unit, significant: int) -> str:
    """fmt as its docstring states it, step by step: the decimals for ``significant`` figures, at most
    MAX_DECIMALS, and ``<0.000001`` for what rounds to zero there."""
    import math

    from wattprint.report.scale import MAX_DECIMALS

    scaled = value / unit[1]
    if not scaled or not math.isfinite(scaled):
        return "0" if scaled == 0 else str(scaled)
    places = max(0, min(MAX_DECIMALS, significant - 1 - math.floor(math.log10(abs(scaled)))))
    if round(abs(scaled), places) == 0:
        return f"<{10.0 ** -places:.{places}f}"
    return format(scaled, f",.{places}f")


def test_fmt_follows_its_rule_at_every_magnitude_and_at_the_powers_of_ten():
    import math
    import random

    values = [0.0, -0.0, math.inf, -math.inf, math.nan]
    for k in range(-12, 14):
        for x in (10.0**k, 0.5 * 10.0**k, 0.99995 * 10.0**k, 0.999949 * 10.0**k):
            values += [x, -x, math.nextafter(x, 0.0), math.nextafter(x, math.inf)]
    r = random.Random(0)
    values += [10 ** r.uniform(-13, 13) for _ in range(5000)]
    for value in values:
        for unit in ENERGY_UNITS:
            for significant in (1, 2, 4):
                assert fmt(value, unit, significant) == _fmt_by_the_rule(value, unit, significant), (value, unit)


def test_the_epoch_lines_of_a_table_are_those_of_the_epochs_totals(files):
    from wattprint.report.tables import _cells, domains_of, run_table, run_units

    report = summarise(load_files([files / "small.csv", files / "big.csv"]))
    domains = domains_of(report)
    for run in report.runs:
        table = run_table(run, domains)
        energy, co2 = run_units([run.total, *(e.totals for e in run.epochs)])
        assert table.headers[2] == f"energy ({energy[0]})" and f"CO2e ({co2[0]})" in table.headers
        expected = [_cells("?" if e.index is None else str(e.index), e.totals, energy, co2, domains) for e in run.epochs]
        assert [row[: len(expected[0])] for row in table.rows[: len(expected)]] == expected
        assert table.flags[: len(expected)] == [e.totals.interrupted for e in run.epochs]
