"""Work counts on windows: energy and CO2e per unit, the stage, work and work_unit columns, older files."""

from __future__ import annotations

import csv
import io
import json

import pytest

from wattprint import ConfigError, Tracker
from wattprint.core.carbon import StaticIntensity, custom_intensity
from wattprint.core.csvformat import COLUMNS, ECO2AI_COLUMNS, decode_row
from wattprint.testing import FakeClock, FakeSensor, MemorySink

from ..cli.helpers import wattprint


def tracker(tmp_path, **kwargs):
    clock = FakeClock()
    sink = MemorySink()
    t = Tracker("work", sensors=[FakeSensor("gpu", power_w=300.0, clock=clock)], clock=clock,
                intensity=StaticIntensity(custom_intensity(100.0)), output_file=tmp_path / "wattprint.csv", sinks=[sink], **kwargs)
    return t, clock, sink


def test_a_window_with_a_work_count_carries_energy_and_co2_per_unit(tmp_path):
    t, clock, _ = tracker(tmp_path)
    t.start()
    with t.window("generate", unit="token", stage="predict") as w:
        clock.advance(10)
        w.work = 1500
    record = w.record
    assert record.work == 1500 and record.work_unit == "token" and record.stage == "predict"
    assert record.energy_j_per_unit == pytest.approx(3000 / 1500)
    assert record.co2_kg_per_unit == pytest.approx(record.co2_kg / 1500)
    window = t.begin_window("serve")
    clock.advance(1)
    served = t.end_window(window, work=3, unit="request")
    assert served.energy_j_per_unit == pytest.approx(100.0)
    assert served.as_dict()["energy_j_per_unit"] == pytest.approx(100.0)
    run = t.stop()
    assert run.work is None and run.energy_j_per_unit is None


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "12", True])
def test_a_work_count_must_be_a_finite_number(tmp_path, bad):
    t, _, _ = tracker(tmp_path)
    t.start()
    with pytest.raises(ConfigError, match="work="):
        t.begin_window("x", work=bad)
    t.stop()


def test_stage_and_work_columns_read_back(tmp_path):
    t, clock, _ = tracker(tmp_path)
    t.start()
    w = t.begin_window("predict", stage="predict", unit="sample")
    clock.advance(2)
    t.end_window(w, work=64)
    t.stop()
    with open(tmp_path / "wattprint.csv", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert tuple(header) == COLUMNS and tuple(header[-4:-1]) == ("stage", "work", "work_unit")
    back = decode_row(header, rows[0]).record
    assert (back.stage, back.work, back.work_unit) == ("predict", 64.0, "sample")
    assert back.energy_j_per_unit == pytest.approx(600 / 64)
    run = decode_row(header, rows[1]).record
    assert (run.stage, run.work, run.work_unit) == ("", None, "")


def test_files_written_before_the_new_columns_are_read_and_appended_to_in_their_own_columns(tmp_path):
    old_columns = COLUMNS[: COLUMNS.index("stage")]
    t, clock, _ = tracker(tmp_path)
    t.start()
    clock.advance(60)
    t.stop()
    path = tmp_path / "wattprint.csv"
    with open(path, newline="") as f:
        _, *rows = list(csv.reader(f))
    old = io.StringIO()
    writer = csv.writer(old, lineterminator="\n")
    writer.writerow(old_columns)
    writer.writerows(row[: len(old_columns)] for row in rows)
    path.write_text(old.getvalue())

    t2, clock2, _ = tracker(tmp_path)
    t2.start()
    w = t2.begin_window("predict", stage="predict")
    clock2.advance(1)
    t2.end_window(w, work=10, unit="sample")
    t2.stop()
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    assert tuple(lines[0]) == old_columns and all(len(r) == len(old_columns) for r in lines)  # still the old layout
    assert decode_row(lines[0], lines[1]).record.stage == ""

    result = wattprint("report", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Two runs: the 60 s one and the 1 s one (its window row is not summed).
    assert report["total"]["energy_kwh"] == pytest.approx(300 * 61 / 3_600_000)
    assert ECO2AI_COLUMNS == COLUMNS[: len(ECO2AI_COLUMNS)]
