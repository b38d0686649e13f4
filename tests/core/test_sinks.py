from __future__ import annotations

import csv
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from wattprint import ConfigError
from wattprint.core.csvformat import COLUMNS, ECO2AI_COLUMNS
from wattprint.core.record import EnergyRecord
from wattprint.core.sinks import CsvSink, JsonlSink, check_output_path

from ..rows import read_rows


def make_record(**over) -> EnergyRecord:
    base = dict(
        window="epoch",
        index=2,
        start_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        duration_s=12.5,
        energy_kwh_by_domain={"cpu": 0.001, "gpu": 0.01},
        method_by_domain={"cpu": "estimated", "gpu": "counter"},
        co2_kg=0.0005,
        intensity_g_per_kwh=45.45,
        pue=1.1,
        project_name="p",
        experiment_description="d",
        run_id="r1",
        intensity_key="FR",
        intensity_name="France",
        electricity_price=0.2,
        currency="EUR",
    )
    base.update(over)
    return EnergyRecord(**base)


def test_first_13_columns_are_eco2ai_in_order(tmp_path):
    path = tmp_path / "e.csv"
    CsvSink(path).write(make_record())
    header = path.read_text().splitlines()[0].split(",")
    assert tuple(header[:13]) == (
        "id", "project_name", "experiment_description", "epoch", "start_time", "duration(s)",
        "power_consumption(kWh)", "CO2_emissions(kg)", "CPU_name", "GPU_name", "OS", "region/country", "cost",
    )
    assert tuple(header) == COLUMNS


def test_row_values_round_trip(tmp_path):
    path = tmp_path / "e.csv"
    sink = CsvSink(path)
    sink.write(make_record())
    sink.write(make_record(index=3, parameters={"lr": 0.1}))
    rows = read_rows(path)
    assert len(rows) == 2
    row = rows[0]
    assert row["epoch"] == "2"
    assert float(row["power_consumption(kWh)"]) == pytest.approx(0.011)
    assert float(row["cost"]) == pytest.approx(0.011 * 1.1 * 0.2)
    assert row["region/country"] == "France"
    assert row["method_gpu"] == "counter" and row["energy_kwh_ram"] == ""
    assert row["start_time"] == "2026-01-02 03:04:05"
    assert rows[1]["parameters"] == '{"lr": 0.1}'


@pytest.mark.parametrize("content", ["a,b,c\n1,2,3\n", "\n   \nname,value\nx,1\n"], ids=["foreign", "blank-led foreign"])
def test_foreign_csv_is_never_written(tmp_path, content):
    path = tmp_path / "e.csv"
    path.write_text(content)
    with pytest.raises(ConfigError, match="not a wattprint or ECO2AI CSV"):
        CsvSink(path)
    assert path.read_text() == content


def test_eco2ai_file_is_appended_in_its_own_columns(tmp_path):
    path = tmp_path / "eco2ai.csv"
    path.write_text(",".join(ECO2AI_COLUMNS) + "\n")
    CsvSink(path).write(make_record())
    rows = read_rows(path)
    assert list(rows[0]) == list(ECO2AI_COLUMNS)
    assert rows[0]["project_name"] == "p"


def _consistent_record(pue: float) -> EnergyRecord:
    # 0.011 kWh IT x PUE x 45.45 g/kWh: the CO2 a tracker would compute for these figures.
    return make_record(pue=pue, co2_kg=0.011 * pue * 45.45 / 1000)


def test_eco2ai_file_gets_facility_energy_and_reports_back_the_same_co2_and_intensity(tmp_path):
    from wattprint.report.load import load_file

    path = tmp_path / "eco2ai.csv"
    path.write_text(",".join(ECO2AI_COLUMNS) + "\n")
    record = _consistent_record(pue=1.5)
    CsvSink(path).write(record)
    (read,) = load_file(path)
    assert read.format == "eco2ai"
    row = read.record
    # ECO2AI's power_consumption(kWh) is facility energy: IT x PUE.
    assert row.facility_kwh == pytest.approx(record.energy_kwh * 1.5)
    assert row.energy_kwh == pytest.approx(record.energy_kwh * 1.5)
    assert row.co2_kg == pytest.approx(record.co2_kg)
    assert row.intensity_g_per_kwh == pytest.approx(record.intensity_g_per_kwh)


def test_eco2ai_per_domain_columns_hold_facility_energy(tmp_path):
    from wattprint.report.load import load_file

    path = tmp_path / "eco2ai.csv"
    columns = (*ECO2AI_COLUMNS, "CPU_consumption(kWh)", "GPU_consumption(kWh)", "RAM_consumption(kWh)")
    path.write_text(",".join(columns) + "\n")
    CsvSink(path).write(_consistent_record(pue=1.5))
    cells = read_rows(path)[0]
    assert float(cells["CPU_consumption(kWh)"]) == pytest.approx(0.001 * 1.5)
    assert float(cells["GPU_consumption(kWh)"]) == pytest.approx(0.01 * 1.5)
    assert cells["RAM_consumption(kWh)"] == ""  # no RAM measured: left empty, not 0
    (row,) = (r.record for r in load_file(path))
    assert sum(row.energy_kwh_by_domain.values()) == pytest.approx(row.energy_kwh)


def test_wattprint_file_keeps_it_energy_and_its_pue(tmp_path):
    from wattprint.report.load import load_file

    path = tmp_path / "e.csv"
    record = _consistent_record(pue=1.5)
    CsvSink(path).write(record)
    (read,) = load_file(path)
    assert read.format == "wattprint"
    row = read.record
    assert (row.energy_kwh, row.pue) == (pytest.approx(record.energy_kwh), 1.5)
    assert row.energy_kwh_by_domain == pytest.approx(record.energy_kwh_by_domain)
    assert row.facility_kwh == pytest.approx(record.energy_kwh * 1.5)
    assert row.co2_kg == pytest.approx(record.co2_kg)
    assert row.intensity_g_per_kwh == pytest.approx(record.intensity_g_per_kwh)


def test_non_utf8_csv_is_refused(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="not a UTF-8 CSV"):
        CsvSink(path)


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx"])
def test_formula_cells_are_neutralised(tmp_path, name):
    path = tmp_path / "e.csv"
    CsvSink(path).write(make_record(project_name=name))
    assert read_rows(path)[0]["project_name"] == "'" + name


def test_commas_quotes_in_names_survive(tmp_path):
    path = tmp_path / "e.csv"
    CsvSink(path).write(make_record(experiment_description='a, "b"'))
    assert read_rows(path)[0]["experiment_description"] == 'a, "b"'


def test_jsonl_sink_writes_one_object_per_record(tmp_path):
    import json

    path = tmp_path / "e.jsonl"
    sink = JsonlSink(path)
    sink.write(make_record())
    sink.write(make_record(index=3))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [d["index"] for d in lines] == [2, 3]
    assert lines[0]["energy_kwh"] == pytest.approx(0.011)
    assert lines[0]["start_time"] == "2026-01-02T03:04:05+00:00"


def test_read_only_directory_is_refused():
    # pytest's tmp_path is private to root, so the directory lives in a traversable temp dir.
    base = Path(tempfile.mkdtemp())
    base.chmod(0o755)
    ro = base / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    target = ro / "e.csv"
    try:
        _check_as_unprivileged(target)
    finally:
        shutil.rmtree(base)


def _check_as_unprivileged(target):
    if os.geteuid() != 0:
        with pytest.raises(ConfigError, match="is not writable"):
            check_output_path(target)
        return
    # Root may write anywhere, so the check runs in a forked child that drops to an
    # unprivileged uid (fork, not exec: the interpreter may not be executable by that user).
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            check_output_path(target)
        except ConfigError as exc:
            code = 3 if "is not writable" in str(exc) else 4
        except BaseException:
            code = 5
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 3


def test_unwritable_file_mid_run_warns_once_and_carries_on(tmp_path, monkeypatch):
    import warnings

    from wattprint.core.outputs import Outputs

    path = tmp_path / "e.csv"
    sink = CsvSink(path)
    other = []

    class Memory:
        def write(self, record):
            other.append(record)

        def close(self):
            pass

    outputs = Outputs([sink, Memory()])
    real_open = os.open

    def full(file, flags, *a, **k):
        if str(file) == str(path) and flags & os.O_APPEND:
            raise OSError(28, "No space left on device")
        return real_open(file, flags, *a, **k)

    monkeypatch.setattr("os.open", full)
    with pytest.warns(RuntimeWarning, match="No space left"):
        delivery = outputs.deliver(make_record())
    assert not delivery.ok and not delivery.wrote(sink) and len(other) == 1  # the other output still got it
    assert "No space left" in delivery.failed[0][1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs.deliver(make_record())  # second failure: silent


def test_rows_are_valid_for_csv_module(tmp_path):
    path = tmp_path / "e.csv"
    sink = CsvSink(path)
    for i in range(20):
        sink.write(make_record(index=i, experiment_description="line\twith tab"))
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 21 and all(len(r) == len(COLUMNS) for r in rows)


def test_a_file_replaced_by_another_tools_csv_after_construction_is_not_written(tmp_path):
    # A file given to wattprint that CodeCarbon (default emissions.csv) or another tool creates
    # after the sink was built. The row must not go into its columns, and the caller is told.
    from wattprint.core.outputs import Outputs

    path = tmp_path / "emissions.csv"
    sink = CsvSink(path)
    path.write_text("timestamp,project_name,run_id\n2026-01-01,cc,abc\n")
    with pytest.warns(RuntimeWarning, match="no longer a wattprint or ECO2AI CSV"):
        delivery = Outputs([sink]).deliver(make_record())
    assert not delivery.wrote(sink) and not delivery.ok
    assert path.read_text() == "timestamp,project_name,run_id\n2026-01-01,cc,abc\n"


@pytest.mark.parametrize("spelling", ["e.csv", "./e.csv", "sub//e.csv", "sub/./e.csv", "sub/../e.csv", "~/e.csv"])
def test_a_sink_names_its_file_as_pathlib_spells_it(tmp_path, monkeypatch, spelling):
    # The sink keeps a str path (pathlib is not loaded to start a tracker); its `path` is still a
    # Path, and its name the text of that Path, however the user spelled the file.
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = Path(spelling).expanduser()
    sink = CsvSink(spelling)
    assert sink.path == expected and isinstance(sink.path, Path)
    assert sink.name == str(expected)
    assert check_output_path(spelling) == expected
    sink.write(make_record())
    assert [row["epoch"] for row in read_rows(expected)] == ["2"]
