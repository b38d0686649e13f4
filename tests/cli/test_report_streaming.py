"""``wattprint report`` on long files: rows summed as they are read, JSON written as encoded, long charts reduced.

The figures must be the ones a report that kept every row would give: the same sums (checked
against :func:`~wattprint.core.merge.combine` over the rows), the same duplicate rule, the same
JSON object.
"""

from __future__ import annotations

import gc
import json
import weakref

import pytest

from wattprint.core.merge import combine
from wattprint.report import load_file, summarise
from wattprint.report.jsonout import iter_json
from wattprint.report.load import iter_file, iter_files
from wattprint.report.whatif import what_if

from .helpers import ECO2AI_CSV, wattprint, write_tracker_csv


def _epochs_csv(path, epochs: int, *, ranks: int = 1, run_row: bool = True, run: str = "r1") -> None:
    """A wattprint CSV of ``epochs`` epochs measured by ``ranks`` processes, rows of the ranks interleaved."""
    from datetime import datetime, timedelta, timezone

    from wattprint.core import csvformat
    from wattprint.core.record import EnergyRecord

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    lines = [csvformat.line(csvformat.COLUMNS)]
    for e in range(epochs):
        for rank in range(ranks):
            record = EnergyRecord(
                project_name="p", experiment_description="x", run_id=run, window="epoch", index=e, rank=rank,
                start_time=t0 + timedelta(seconds=10 * e), duration_s=10.0 + rank,
                energy_kwh_by_domain={"cpu": 1e-4 * (e + 1), "gpu": 1e-3 * (rank + 1)},
                method_by_domain={"cpu": "estimated", "gpu": "counter" if e % 7 else "sampled"},
                pue=1.2, intensity_g_per_kwh=44.0, intensity_key="FR",
            )
            lines.append(csvformat.encode_row(record))
    if run_row:
        for rank in range(ranks):
            record = EnergyRecord(
                project_name="p", experiment_description="x", run_id=run, window="run", rank=rank, start_time=t0,
                duration_s=10.0 * epochs + 5, energy_kwh_by_domain={"cpu": 1.0, "gpu": 2.0},
                method_by_domain={"cpu": "estimated", "gpu": "counter"}, pue=1.2, intensity_g_per_kwh=44.0,
            )
            lines.append(csvformat.encode_row(record))
    path.write_text("".join(lines))


def test_rows_are_not_kept_once_summed(tmp_path):
    path = tmp_path / "e.csv"
    _epochs_csv(path, 50, ranks=2)
    alive: list[weakref.ref] = []

    def rows():
        for row in iter_file(path):
            alive.append(weakref.ref(row.record))
            yield row

    report = summarise(rows(), [str(path)])
    gc.collect()
    assert len(alive) == 102 and not any(ref() is not None for ref in alive)
    assert report.rows == 102 and len(report.runs[0].epochs) == 50


def test_sums_equal_those_over_the_rows_for_interleaved_ranks(tmp_path):
    path = tmp_path / "e.csv"
    _epochs_csv(path, 30, ranks=3, run_row=False)
    rows = load_file(path)
    (run,) = summarise(iter_file(path)).runs
    assert run.processes == 3 and run.counted_from == "epochs"
    for line in run.epochs:
        mine = [r.record for r in rows if r.record.labels.index == line.index]
        assert line.totals == combine(mine, parallel=True)
        assert line.totals.method_by_domain["gpu"] == ("counter" if line.index % 7 else "sampled")
        assert line.totals.duration_s == 12.0  # the longest rank, not the sum
    by_rank = [combine([r.record for r in rows if r.record.labels.rank == k]) for k in range(3)]
    assert run.total == combine(by_rank, parallel=True)


def test_a_file_read_twice_counts_once_step_rows_included(tmp_path):
    path = tmp_path / "e.csv"
    _epochs_csv(path, 5)
    with path.open("a") as f:  # step rows: only counted, and told apart by their hash
        for line in path.read_text().splitlines()[1:3]:
            f.write(line.replace(",epoch,", ",step,") + "\n")
    once = summarise(iter_files([path]))
    twice = summarise(iter_files([path, path]))
    assert twice.total == once.total and twice.rows == 2 * once.rows
    assert twice.runs[0].other_windows == once.runs[0].other_windows == 2
    assert twice.notes[0].startswith(f"{once.rows} duplicate row(s)")


def test_streamed_json_is_the_report_object(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_tracker_csv(a, epochs=3)
    b.write_text(ECO2AI_CSV)
    report = summarise(iter_files([a, b]), [str(a), str(b)])
    alternatives = what_if(report.total.facility_kwh, report.total.co2_kg)
    text = "".join(iter_json(report, alternatives))
    expected = report.as_dict()
    expected["what_if"] = [x.as_dict() for x in alternatives]
    assert json.loads(text) == json.loads(json.dumps(expected, default=str))
    # Each epoch on a line of its own, the rest indented as json.dumps(indent=2) lays it out.
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith('{"index": ')) == 3 + 2
    assert text.startswith('{\n  "files": [\n')


def test_cli_json_on_a_long_file(tmp_path):
    _epochs_csv(tmp_path / "e.csv", 400, ranks=2)
    result = wattprint("report", "--json", "e.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (group,) = data["groups"]
    (run,) = group["runs"]
    assert len(run["epochs"]) == 400 and run["processes"] == 2 and run["counted_from"] == "run"
    assert run["total"]["energy_kwh"] == pytest.approx(6.0)


def test_not_utf8_late_in_a_file_names_the_byte(tmp_path):
    path = tmp_path / "e.csv"
    _epochs_csv(path, 300)
    good = path.read_bytes()
    path.write_bytes(good + b"\xff\n")
    from wattprint.report import ReportError

    with pytest.raises(ReportError, match=f"not UTF-8 text \\(byte {len(good)}\\)"):
        load_file(path)


def test_a_long_run_is_drawn_as_at_most_max_bars_and_the_chart_says_so(tmp_path):
    pytest.importorskip("matplotlib")
    from wattprint.report.chart import MAX_BARS, figure

    path = tmp_path / "e.csv"
    _epochs_csv(path, 1000)
    report = summarise(iter_files([path]))
    fig = figure(report)
    energy_ax, co2_ax = fig.axes  # one run: no comparison panel, its epochs panel only
    assert len(energy_ax.patches) <= 2 * MAX_BARS  # two domains
    assert "1,000 drawn as 100 bars" in co2_ax.get_xlabel() and "mean of up to 10 epochs" in co2_ax.get_xlabel()
    units = {"kWh": 1.0, "Wh": 1e-3, "kg": 1.0, "g": 1e-3, "mg": 1e-6}
    assert energy_ax.get_ylabel().startswith("energy per epoch (")
    # The CO2e line ends at the run's epochs' total: the reduction loses no emission.
    (line,) = co2_ax.get_lines()
    epochs_co2 = report.runs[0].epochs_total.co2_kg
    co2_unit = units[co2_ax.get_ylabel().split("(")[1].rstrip(")")]
    assert line.get_ydata()[-1] * co2_unit == pytest.approx(epochs_co2)
    # The height of a bar of ten epochs is their mean energy per epoch.
    energy_unit = units[energy_ax.get_ylabel().split("(")[1].rstrip(")")]
    rows = load_file(path)
    for bar in (0, 57):
        mean = sum(r.record.energy_kwh for r in rows[10 * bar : 10 * bar + 10]) / 10
        top = max(p.get_y() + p.get_height() for p in energy_ax.patches if abs(p.get_x() + p.get_width() / 2 - bar) < 0.1)
        assert top * energy_unit == pytest.approx(mean)


def test_epoch_lines_are_cut_right_whatever_their_text_holds(tmp_path):
    from datetime import datetime, timezone

    from wattprint.core import csvformat
    from wattprint.core.record import EnergyRecord
    from wattprint.report.jsonout import _dumps

    tricky = ['}, {"index": 1', '"}, {"index": ', "}, {", "\\"]
    lines = [csvformat.line(csvformat.COLUMNS)]
    for e in range(300):  # more than a batch of lines
        record = EnergyRecord(project_name="p", run_id="r", window="epoch", index=e, duration_s=1.0,
                              start_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
                              parameters={"note": tricky[e % len(tricky)]}, energy_kwh_by_domain={"cpu": 1e-3},
                              intensity_g_per_kwh=10.0)
        lines.append(csvformat.encode_row(record))
    (tmp_path / "e.csv").write_text("".join(lines))
    report = summarise(iter_files([tmp_path / "e.csv"]))
    text = "".join(iter_json(report))
    (run,) = report.runs
    epochs = [line.strip().rstrip(",") for line in text.splitlines() if line.lstrip().startswith('{"index": ')]
    assert epochs == [_dumps(e, []) for e in run.as_dict()["epochs"]]
    assert json.loads(text)["groups"][0]["runs"][0]["epochs"] == json.loads(json.dumps(run.as_dict()["epochs"]))
