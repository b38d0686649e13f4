"""``wattprint report`` reads CodeCarbon's CSVs: files written by the real CodeCarbon 3.3.2,
offline (``tests/data/peers``, made by ``make_codecarbon.py`` there), with the totals it printed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wattprint.report import ReportError, load_file, summarise

from .helpers import wattprint, write_tracker_csv

PEERS = Path(__file__).resolve().parent.parent / "data" / "peers"
TWO_RUNS = PEERS / "codecarbon-3.3.2-emissions.csv"
ONE_RUN = PEERS / "codecarbon-3.3.2-one-run.csv"
# What CodeCarbon's tracker.stop() and final_emissions_data.energy_consumed returned (README.md there).
KG = (5.2814339372253e-07, 5.175805028074922e-07)
KWH = (9.424568491988258e-06, 9.236076710995774e-06)


def test_two_runs_of_one_file_with_codecarbons_totals():
    rows = load_file(TWO_RUNS)
    assert [r.format for r in rows] == ["codecarbon", "codecarbon"]
    assert [r.record.co2_kg for r in rows] == list(KG)
    assert [r.record.facility_kwh for r in rows] == pytest.approx(KWH, rel=1e-12)
    first = rows[0].record
    assert (first.project_name, first.experiment_description, first.window) == ("cc-fixture", "exp-0", "run")
    assert sum(first.energy_kwh_by_domain.values()) == pytest.approx(first.energy_kwh)
    assert first.pue == 1.0 and first.intensity_key == "FRA"
    report = summarise(rows)
    assert report.total.footprint.co2_kg == pytest.approx(sum(KG))
    assert report.total.footprint.facility_kwh == pytest.approx(sum(KWH))
    assert [run.format for run in report.runs] == ["codecarbon", "codecarbon"]


def test_one_run_file_its_region_and_codecarbons_default_experiment():
    (row,) = load_file(ONE_RUN)
    record = row.record
    assert record.co2_kg == 1.2865530517459872e-06
    assert record.facility_kwh == pytest.approx(7.184870043209527e-06)
    assert record.experiment_description == ""  # CodeCarbon's built-in experiment id is no experiment
    assert record.intensity_key == "USA/california" and record.intensity_name == "United States/california"
    assert record.start_time is not None and record.end_time.isoformat().startswith("2026-12-06T08:24:25")


def test_pue_flushes_and_damaged_rows(tmp_path):
    header, run = TWO_RUNS.read_text().splitlines()[:2]
    cells = run.split(",")
    columns = header.split(",")
    at = {c: i for i, c in enumerate(columns)}

    def row(**changes: str) -> str:
        out = list(cells)
        for column, value in changes.items():
            out[at[column]] = value
        return ",".join(out)

    path = tmp_path / "cc.csv"
    # A flush (the totals so far), then the run's final row; and a PUE of 1.5 in another run.
    path.write_text("\n".join([header, row(duration="0.5", emissions="1e-7", energy_consumed="2e-6"),
                               row(duration="2.0", emissions="3e-7", energy_consumed="6e-6"),
                               row(run_id="other", pue="1.5", energy_consumed="3e-6", cpu_energy="1.5e-6",
                                   ram_energy="1.5e-6")]) + "\n")
    flushed, with_pue = load_file(path)
    assert (flushed.record.duration_s, flushed.record.co2_kg) == (2.0, 3e-7)
    assert with_pue.record.pue == 1.5
    assert with_pue.record.energy_kwh == pytest.approx(2e-6) and with_pue.record.facility_kwh == pytest.approx(3e-6)
    assert with_pue.record.energy_kwh_by_domain == pytest.approx({"cpu": 1e-6, "ram": 1e-6})
    path.write_text("\n".join([header, row(emissions="lots")]) + "\n")
    with pytest.raises(ReportError, match=r"cc.csv, line 2: emissions is 'lots', not a number"):
        load_file(path)
    path.write_text("\n".join([header, ",".join(cells[:5])]) + "\n")
    with pytest.raises(ReportError, match=r"line 2: 5 fields but the header has 38"):
        load_file(path)


def test_report_command_shows_each_run_with_the_tool_that_measured_it(tmp_path):
    shutil.copy(TWO_RUNS, tmp_path / "emissions.csv")
    shutil.copy(PEERS / "eco2ai-0.3.12-emission.csv", tmp_path / "emission.csv")
    write_tracker_csv(tmp_path / "wattprint.csv", epochs=2)
    result = wattprint("report", "--json", "wattprint.csv", "emissions.csv", "emission.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    formats = [run["format"] for group in report["groups"] for run in group["runs"]]
    assert sorted(formats) == ["codecarbon", "codecarbon", "eco2ai", "eco2ai", "wattprint"]
    codecarbon = [run for group in report["groups"] for run in group["runs"] if run["format"] == "codecarbon"]
    assert [run["total"]["co2_kg"] for run in codecarbon] == list(KG)
    text = wattprint("report", "emissions.csv", cwd=tmp_path)
    assert text.returncode == 0 and "codecarbon" in text.stdout and "mWh" in text.stdout


def test_a_damaged_codecarbon_row_is_skipped_like_any_other_and_the_rest_reported(tmp_path):
    header, first, second = TWO_RUNS.read_text().splitlines()[:3]
    cells = first.split(",")
    cells[header.split(",").index("emissions")] = "lots"
    (tmp_path / "cc.csv").write_text("\n".join([header, ",".join(cells), second]) + "\n")
    result = wattprint("report", "cc.csv", "--json", cwd=tmp_path)
    assert result.returncode == 3, result.stderr  # the damaged-lines status, not an error
    (skipped,) = json.loads(result.stdout)["skipped_lines"]
    assert (skipped["file"], skipped["line"]) == ("cc.csv", 2) and "emissions is 'lots'" in skipped["reason"]
    runs = [run for group in json.loads(result.stdout)["groups"] for run in group["runs"]]
    assert len(runs) == 1 and runs[0]["total"]["co2_kg"] == pytest.approx(KG[1])
    assert "cc.csv, line 2: emissions is 'lots', not a number; skipped" in result.stderr
