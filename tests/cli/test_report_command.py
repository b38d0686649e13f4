"""``wattprint report`` driven as a user would: text, JSON, PNG and HTML from real CSVs."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest

from .helpers import ECO2AI_CSV, EPOCH_S, G_PER_KWH, TAIL_S, TOTAL_W, wattprint, write_tracker_csv

J_PER_KWH = 3_600_000.0
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def csvs(tmp_path):
    """wattprint.csv written by the Tracker (3 epochs + run row) and an ECO2AI file."""
    write_tracker_csv(tmp_path / "wattprint.csv", epochs=3)
    (tmp_path / "eco2ai.csv").write_text(ECO2AI_CSV)
    return tmp_path


def test_text_report_of_a_tracker_csv_counts_the_run_once(csvs):
    result = wattprint("report", cwd=csvs)  # default file: wattprint.csv
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Project: resnet   Experiment: baseline" in out
    assert "total from the run row" in out
    assert "method: cpu estimated, gpu counter, ram estimated" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.strip().startswith("epoch"))
    assert "energy (Wh)" in header and "cpu (Wh)" in header and "CO2e (g)" in header
    epoch_lines = [line.split() for line in lines if re.match(r"\s+[0-2]\s", line)]
    assert [cells[0] for cells in epoch_lines] == ["0", "1", "2"]
    epoch_wh = TOTAL_W * EPOCH_S / 3600
    assert {cells[2] for cells in epoch_lines} == {f"{epoch_wh:.3f}"}  # 5.417: 4 significant figures
    run_wh = TOTAL_W * (3 * EPOCH_S + TAIL_S) / 3600
    total = next(line.split() for line in lines if line.strip().startswith("total"))
    assert total[1:3] == [f"{3 * EPOCH_S + TAIL_S:,.1f}", f"{run_wh:.2f}"]  # 17.15, not run + epochs
    assert f"Total: {run_wh:.2f} Wh" in out
    assert "What if the same" in out and "World average (world)" in out


def test_json_report_totals_and_what_if(csvs):
    result = wattprint("report", "--json", "wattprint.csv", cwd=csvs)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    run_kwh = TOTAL_W * (3 * EPOCH_S + TAIL_S) / J_PER_KWH
    assert data["total"]["energy_kwh"] == pytest.approx(run_kwh)
    assert data["total"]["co2_kg"] == pytest.approx(run_kwh * G_PER_KWH / 1000)
    (group,) = data["groups"]
    (run,) = group["runs"]
    assert [e["index"] for e in run["epochs"]] == [0, 1, 2]
    assert run["epochs"][1]["parameters"] == '{"loss": 0.5}'
    world = next(a for a in data["what_if"] if a["key"] == "world")
    assert world["co2_kg"] == pytest.approx(run_kwh * world["g_per_kwh"] / 1000)
    assert world["change"] == pytest.approx(world["g_per_kwh"] / G_PER_KWH - 1)
    providers = [a["key"].split(":")[0] for a in data["what_if"] if a["kind"] == "cloud"]
    assert sorted(providers) == ["aws", "azure", "gcp"]


def test_eco2ai_csv_and_both_formats_together(csvs):
    result = wattprint("report", "eco2ai.csv", cwd=csvs)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Project: eco_project   Experiment: fine-tune" in out
    assert "total = sum of the epoch rows (no run row)" in out
    assert "loss: 0.52, accuracy: 0.81" in out
    assert "Total: 5.500 Wh, 2.200 g CO2e over 2 run(s)" in out
    assert "ECO2AI rows: energy includes the PUE" in out

    both = wattprint("report", "--json", "wattprint.csv", "eco2ai.csv", cwd=csvs)
    data = json.loads(both.stdout)
    assert [(g["project"], g["experiment"]) for g in data["groups"]] == [
        ("resnet", "baseline"), ("eco_project", "fine-tune"), ("eco_project", "inference"),
    ]
    run_kwh = TOTAL_W * (3 * EPOCH_S + TAIL_S) / J_PER_KWH
    assert data["total"]["energy_kwh"] == pytest.approx(run_kwh + 0.0055)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8"),
        (b"name,value\nx,1\n", "not a wattprint, ECO2AI or CodeCarbon CSV"),
    ],
)
def test_bad_files_give_one_line_and_exit_2(tmp_path, content, message):
    if content is not None:
        (tmp_path / "bad.csv").write_bytes(content)
    result = wattprint("report", "bad.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("wattprint report: error: bad.csv") and message in line


def test_bad_option_is_a_usage_error(tmp_path):
    result = wattprint("report", "--nope", cwd=tmp_path)
    assert result.returncode == 2 and "usage:" in result.stderr


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_is_a_valid_image_of_some_size(csvs):
    pytest.importorskip("matplotlib")
    result = wattprint("report", "--png", "chart.png", "wattprint.csv", "eco2ai.csv", cwd=csvs)
    assert result.returncode == 0, result.stderr
    assert "wrote chart.png" in result.stderr
    data = (csvs / "chart.png").read_bytes()
    width, height = _png_size(data)
    assert width >= 600 and height >= 400
    assert len(data) > 15_000  # bars, a line, axes and text; an empty canvas is a few kB
    assert data.rstrip().endswith(b"IEND\xaeB`\x82")


def _block_matplotlib(tmp_path) -> dict:
    """An environment in which ``import matplotlib`` fails, as without the ``plot`` extra."""
    fake = tmp_path / "no-plot" / "matplotlib"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text("raise ImportError('matplotlib is not installed here')\n")
    return {**os.environ, "PYTHONPATH": str(fake.parent)}


def test_png_without_matplotlib_names_the_extra(csvs):
    result = wattprint("report", "--png", "chart.png", cwd=csvs, env=_block_matplotlib(csvs))
    assert result.returncode == 1
    assert "pip install 'wattprint[plot]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (csvs / "chart.png").exists()
    # HTML still works, saying why there is no chart.
    page = wattprint("report", "--html", "r.html", cwd=csvs, env=_block_matplotlib(csvs))
    assert page.returncode == 0, page.stderr
    html = (csvs / "r.html").read_text()
    assert "No chart:" in html and "wattprint[plot]" in html and "<img" not in html


def _evil_csv(tmp_path):
    write_tracker_csv(tmp_path / "wattprint.csv", project=EVIL, experiment='"quoted" & <b>bold</b>', epochs=2)


def test_html_is_self_contained_and_escapes_names(tmp_path):
    pytest.importorskip("matplotlib")
    _evil_csv(tmp_path)
    result = wattprint("report", "--html", "report.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "report.html").read_text()
    assert EVIL not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script" not in html  # no script of ours either
    assert re.search(r'<img class="chart" [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', html)
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere
    assert '<table class="epochs">' in html and '<table class="what-if">' in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


needs_chromium = pytest.mark.skipif(
    _chromium() is None, reason="headless Chromium not installed (Debian: apt-get install chromium)"
)


def _open_in_chromium(tmp_path, page) -> tuple[str, list[str]]:
    """Load ``page`` headless; return the DOM and the console lines Chromium logged."""
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", "--dump-dom", page.resolve().as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [
        line for line in result.stderr.splitlines()
        if re.search(r"CONSOLE[:(]", line) or "Uncaught" in line
    ]
    return result.stdout, console


class _TableReader(HTMLParser):
    """The text of every table cell, as {table class: [table: [row: [cell]]]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[list[str]]]] = {}
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.setdefault(dict(attrs).get("class", ""), []).append([])
            self._current = self.tables[dict(attrs).get("class", "")][-1]
        elif tag == "tr":
            self._current.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._current[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _tables(dom: str) -> dict[str, list[list[list[str]]]]:
    reader = _TableReader()
    reader.feed(dom)
    return reader.tables


@needs_chromium
def test_console_check_catches_a_page_error(tmp_path):
    # The check below is only worth something if it sees errors when there are some.
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>")
    _, console = _open_in_chromium(tmp_path, page)
    assert any("Uncaught ReferenceError" in line for line in console)


@needs_chromium
def test_html_opens_in_headless_chromium_without_console_errors(tmp_path):
    pytest.importorskip("matplotlib")
    _evil_csv(tmp_path)
    result = wattprint("report", "--html", "report.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dom, console = _open_in_chromium(tmp_path, tmp_path / "report.html")
    assert console == []
    tables = _tables(dom)
    (epochs,) = tables["epochs"]
    assert epochs[0][:3] == ["epoch", "duration (s)", "energy (Wh)"]
    run_wh = TOTAL_W * (2 * EPOCH_S + TAIL_S) / 3600
    assert [row[0] for row in epochs[1:]] == ["0", "1", "outside epochs", "total"]
    assert epochs[-1][1:3] == [f"{2 * EPOCH_S + TAIL_S:,.1f}", f"{run_wh:.2f}"]  # 4 significant figures
    assert epochs[-2][1:3] == [f"{TAIL_S:,.1f}", f"{TOTAL_W * TAIL_S / 3600:.4f}"]  # the tail after the last epoch
    (what_if,) = tables["what-if"]
    assert what_if[1][0] == "World average (world)"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script" not in dom  # the name stayed text, no element was made of it
    assert re.search(r'<img class="chart"[^>]*src="data:image/png;base64,', dom)

