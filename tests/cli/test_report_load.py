"""Reading emission CSVs (wattprint's and ECO2AI's) and counting each run once."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wattprint.core.csvformat import COLUMNS, ECO2AI_COLUMNS
from wattprint.core.record import EnergyRecord
from wattprint.core.sinks import CsvSink
from wattprint.report import ReportError, load_file, load_files, summarise
from wattprint.report.load import parse_epoch

from .helpers import (
    CPU_W,
    ECO2AI_CSV,
    ECO2AI_HEADER,
    EPOCH_S,
    G_PER_KWH,
    GPU_W,
    RAM_W,
    TAIL_S,
    TOTAL_W,
    write_tracker_csv,
)

J_PER_KWH = 3_600_000.0


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("N/A", ("run", None, "")),
        ("", ("run", None, "")),
        ("3", ("epoch", 3, "")),
        ("epoch: 1, loss: 0.5, acc: 0.9, ", ("epoch", 1, "loss: 0.5, acc: 0.9")),
        ("epoch: 12", ("epoch", 12, "")),
        ("step 7", ("step", 7, "")),
        ("validation phase N/A", ("validation phase", None, "")),
        ("whatever", ("whatever", None, "")),
    ],
)
def test_parse_epoch_cells_of_both_writers(cell, expected):
    assert parse_epoch(cell) == expected


def test_tracker_csv_reads_back_with_domains_methods_and_provenance(tmp_path):
    path = tmp_path / "e.csv"
    write_tracker_csv(path, epochs=2, pue=1.5)
    rows = load_file(path)
    assert [(r.record.window, r.record.index) for r in rows] == [("epoch", 0), ("epoch", 1), ("run", None)]
    assert rows[0].format == "wattprint" and rows[0].parameters == '{"loss": 1.0}'
    epoch = rows[0].record
    assert epoch.duration_s == EPOCH_S
    assert epoch.energy_kwh_by_domain == pytest.approx(
        {"cpu": CPU_W * EPOCH_S / J_PER_KWH, "gpu": GPU_W * EPOCH_S / J_PER_KWH, "ram": RAM_W * EPOCH_S / J_PER_KWH}
    )
    assert epoch.method_by_domain == {"cpu": "estimated", "gpu": "counter", "ram": "estimated"}
    assert epoch.pue == 1.5
    assert epoch.facility_kwh == pytest.approx(epoch.energy_kwh * 1.5)
    assert epoch.co2_kg == pytest.approx(epoch.facility_kwh * G_PER_KWH / 1000)
    assert epoch.intensity_g_per_kwh == pytest.approx(G_PER_KWH)
    assert epoch.intensity_key == "custom"
    assert epoch.parameters == {"loss": 1.0}
    assert rows[2].record.duration_s == 2 * EPOCH_S + TAIL_S


def test_eco2ai_csv_rows_epochs_parameters_and_intensity(tmp_path):
    path = tmp_path / "eco.csv"
    path.write_text(ECO2AI_CSV)
    rows = load_file(path)
    assert [(r.format, r.record.window, r.record.index) for r in rows] == [
        ("eco2ai", "epoch", 1), ("eco2ai", "epoch", 2), ("eco2ai", "run", None),
    ]
    assert rows[0].parameters == "loss: 0.52, accuracy: 0.81"
    first = rows[0].record
    assert first.parameters == {"loss": "0.52", "accuracy": "0.81"}
    assert first.cpu_name == "Intel(R) Xeon(R) CPU @ 2.20GHz/1 device(s), TDP:120.0"
    assert first.pue is None and first.facility_kwh == 0.002
    assert first.intensity_g_per_kwh == pytest.approx(400.0)
    assert first.intensity_name == "Germany/"
    assert first.energy_kwh_by_domain == {}


def test_eco2ai_device_columns_and_na_cells(tmp_path):
    path = tmp_path / "eco.csv"
    header = ECO2AI_HEADER.strip() + ",CPU_consumption(kWh),GPU_consumption(kWh),RAM_consumption(kWh)\n"
    path.write_text(
        header
        + "a,p,d,N/A,2024-01-01 00:00:00,10,0.006,0.003,cpu,gpu,Linux,France/,N/A,0.001,0.004,0.001\n"
        + "b,p,d,N/A,2024-01-01 00:00:00,10,0.001,0.0005,cpu,gpu,Linux,France/,0,N/A,N/A,N/A\n"
    )
    a, b = (row.record for row in load_file(path))
    assert a.energy_kwh_by_domain == {"cpu": 0.001, "gpu": 0.004, "ram": 0.001}
    assert a.cost is None
    assert b.energy_kwh_by_domain == {}
    assert b.cost == 0.0


def test_formula_guard_is_undone_for_wattprint_files(tmp_path):
    path = tmp_path / "e.csv"
    write_tracker_csv(path, project="=SUM(A1)", experiment="-lr 0.1", epochs=1)
    assert {(r.record.project_name, r.record.experiment_description) for r in load_file(path)} == {("=SUM(A1)", "-lr 0.1")}


def test_concatenated_files_bom_and_blank_lines(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_tracker_csv(a, project="one", epochs=1)
    b.write_text(ECO2AI_CSV)
    both = tmp_path / "both.csv"
    both.write_bytes(b"\xef\xbb\xbf" + a.read_bytes() + b"\n\n" + b.read_bytes())
    rows = load_file(both)
    assert [r.format for r in rows] == ["wattprint", "wattprint", "eco2ai", "eco2ai", "eco2ai"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe\x00binary", "not UTF-8"),
        (b"name,value\nx,1\n", "not a wattprint, ECO2AI or CodeCarbon CSV"),
        (ECO2AI_HEADER.encode() + b"a,p,d,N/A,2024-01-01,10,lots,0.1,c,g,o,r,0\n", "not a number"),
        (ECO2AI_HEADER.encode() + b"a,p,d,N/A,2024-01-01,10,-1,0.1,c,g,o,r,0\n", ">= 0"),
        (ECO2AI_HEADER.encode() + b"a,p,d,N/A,2024-01-01,10,inf,0.1,c,g,o,r,0\n", ">= 0"),
        (ECO2AI_HEADER.encode() + b"a,p,d,N/A,2024-01-01,10,1,0.1,c,g,o,r,0,extra\n", "14 fields"),
        (ECO2AI_HEADER.encode() + b"a,p,d,N/A,2024-01-01\n", "damaged"),
    ],
)
def test_bad_files_raise_report_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ReportError, match=message) as info:
        load_file(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_an_empty_file_reads_as_no_rows_like_a_header_only_one(tmp_path):
    # What is left of a run killed before its first row: the other files are still reported.
    empty, good = tmp_path / "empty.csv", tmp_path / "good.csv"
    empty.write_bytes(b"")
    write_tracker_csv(good, project="one", epochs=1)
    assert load_file(empty) == []
    assert len(load_files([good, empty])) == len(load_file(good)) > 0


def test_a_cut_off_wattprint_row_is_damaged_not_read(tmp_path):
    # A wattprint row cut inside a cell (a full disk, a power loss) would otherwise be read
    # with a truncated number and its later columns missing.
    path = tmp_path / "cut.csv"
    write_tracker_csv(path, project="one", epochs=1)
    text = path.read_text().rstrip("\n")
    path.write_text(text[: text.rindex(",", 0, text.rindex(",")) - 3] + "\n")
    lines = len(path.read_text().splitlines())
    with pytest.raises(ReportError, match=f"line {lines}: .* fields but the header has .*damaged"):
        load_file(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ReportError, match="no such file"):
        load_files([tmp_path / "nope.csv"])
    with pytest.raises(ReportError, match="is a directory"):
        load_file(tmp_path)


# -- summary: each run counted once --------------------------------------------------------


def test_run_row_is_the_total_and_epochs_are_not_added_to_it(tmp_path):
    path = tmp_path / "e.csv"
    write_tracker_csv(path, epochs=3)
    report = summarise(load_file(path), [str(path)])
    (run,) = report.runs
    assert run.counted_from == "run"
    assert [e.index for e in run.epochs] == [0, 1, 2]
    run_s = 3 * EPOCH_S + TAIL_S
    assert run.total.duration_s == run_s
    assert run.total.energy_kwh == pytest.approx(TOTAL_W * run_s / J_PER_KWH)
    assert run.total.co2_kg == pytest.approx(TOTAL_W * run_s / J_PER_KWH * G_PER_KWH / 1000)
    assert run.epochs_total.energy_kwh == pytest.approx(TOTAL_W * 3 * EPOCH_S / J_PER_KWH)
    assert report.total.energy_kwh == pytest.approx(run.total.energy_kwh)
    assert run.total.method_by_domain == {"cpu": "estimated", "gpu": "counter", "ram": "estimated"}


def test_epoch_rows_are_summed_when_there_is_no_run_row(tmp_path):
    path = tmp_path / "eco.csv"
    path.write_text(ECO2AI_CSV)
    report = summarise(load_file(path))
    assert [(g.project, g.experiment) for g in report.groups] == [("eco_project", "fine-tune"), ("eco_project", "inference")]
    train = report.groups[0].runs[0]
    assert train.counted_from == "epochs"
    assert train.total.energy_kwh == pytest.approx(0.005)
    assert train.total.co2_kg == pytest.approx(0.002)
    assert train.total.duration_s == pytest.approx(240.0)
    assert train.total.intensity_g_per_kwh == pytest.approx(400.0)
    assert report.total.energy_kwh == pytest.approx(0.0055)
    assert any("ECO2AI" in n for n in report.notes)


def test_a_wattprint_run_without_its_run_row_is_flagged_incomplete(tmp_path):
    from wattprint.report.tables import run_heading

    path = tmp_path / "killed.csv"
    write_tracker_csv(path, epochs=2)
    complete = summarise(load_file(path)).runs[0]
    assert not complete.incomplete
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # the process died before stop() wrote the run row
    killed = summarise(load_file(path)).runs[0]
    assert killed.incomplete and killed.as_dict()["incomplete"] is True
    assert "INCOMPLETE" in run_heading(killed)
    eco2ai = tmp_path / "eco.csv"
    eco2ai.write_text(ECO2AI_CSV)  # ECO2AI writes no run row in training mode: not a sign of death
    assert not any(r.incomplete for r in summarise(load_file(eco2ai)).runs)


def test_the_same_file_twice_is_counted_once(tmp_path):
    path = tmp_path / "e.csv"
    write_tracker_csv(path, epochs=2)
    once = summarise(load_file(path))
    twice = summarise(load_files([path, path]))
    assert twice.total.energy_kwh == pytest.approx(once.total.energy_kwh)
    assert any("duplicate" in n for n in twice.notes)


def _record(**over) -> EnergyRecord:
    base = dict(
        window="run", start_time=datetime(2026, 1, 1, tzinfo=timezone.utc), duration_s=100.0,
        energy_kwh_by_domain={"gpu": 0.01}, method_by_domain={"gpu": "counter"}, co2_kg=0.001,
        intensity_g_per_kwh=100.0, pue=1.0, project_name="ddp", run_id="shared",
    )
    base.update(over)
    return EnergyRecord(**base)


def test_ranks_of_one_run_are_summed_and_overlap_in_time(tmp_path):
    path = tmp_path / "e.csv"
    sink = CsvSink(path)
    sink.write(_record(rank=0, host="n1", duration_s=100.0,
                       energy_kwh_by_domain={"gpu": 0.01, "cpu": 0.002}, method_by_domain={"gpu": "counter", "cpu": "estimated"}))
    sink.write(_record(rank=1, host="n1", duration_s=98.0))
    sink.write(_record(rank=1, host="n1", window="step", index=4, duration_s=1.0))
    (run,) = summarise(load_file(path)).runs
    assert run.processes == 2
    assert run.total.energy_kwh == pytest.approx(0.022)
    assert run.total.duration_s == 100.0
    assert run.total.method_by_domain == {"gpu": "counter", "cpu": "estimated"}
    assert run.other_windows == 1


def test_sub_windows_alone_are_not_totalled(tmp_path):
    path = tmp_path / "e.csv"
    sink = CsvSink(path)
    sink.write(_record(window="step", index=0, run_id="s"))
    sink.write(_record(window="step", index=1, run_id="s"))
    report = summarise(load_file(path))
    assert report.runs[0].counted_from == "none"
    assert report.total.energy_kwh == 0.0
    assert any("not totalled" in n for n in report.notes)


# -- fuzzing: any input gives rows or a ReportError, never another exception --------------

_cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["N/A", "", "nan", "-1", "1e308", "1e-9", "0", "epoch: 3, loss: 1, ", "'=1", "step 2", '"', "\n"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_headers = st.sampled_from([list(ECO2AI_COLUMNS), list(COLUMNS), list(ECO2AI_COLUMNS)[:8], ["a", "b"]])


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


_NUMERIC = {"duration(s)", "power_consumption(kWh)", "CO2_emissions(kg)", "pue", "intensity_g_per_kwh",
            "energy_kwh_cpu", "energy_kwh_gpu", "energy_kwh_ram", "cost", "rank"}
_numbers = st.one_of(st.floats(0, 1e9).map(repr), st.integers(0, 10**6).map(str))
_windows = st.sampled_from(["run", "epoch", "step", "", "x y"])


@st.composite
def _fuzz_rows(draw, header):
    """Rows that are mostly well-formed (so they load), one in eight damaged somewhere."""
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(_numbers if c in _NUMERIC else _windows if c == "window" else _cells) for c in header]
        damage = draw(st.integers(0, 7))
        if damage == 0:  # too short or too long
            row = (row + [draw(_cells)])[: draw(st.integers(0, len(row) + 1))]
        elif damage == 1 and row:  # any cell replaced by anything
            row[draw(st.integers(0, len(row) - 1))] = draw(_cells)
        rows.append(row)
    return rows


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), header=_headers)
def test_fuzz_structured_csv(tmp_path, data, header):
    rows = data.draw(_fuzz_rows(header))
    path = tmp_path / "fuzz.csv"
    path.write_text(_csv_text(header, rows), encoding="utf-8")
    try:
        loaded = load_file(path)
    except ReportError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        event("ReportError")
        return
    event("loaded" if loaded else "loaded, no rows")
    for row in loaded:
        r = row.record
        for value in (r.duration_s, r.energy_kwh, r.co2_kg, r.facility_kwh):
            assert math.isfinite(value) and value >= 0
    report = summarise(loaded)
    assert report.total.energy_kwh <= sum(r.record.energy_kwh for r in loaded) * (1 + 1e-9) + 1e-300


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    with_header=st.booleans(),
    data=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda t: t.encode("utf-8"))),
)
def test_fuzz_arbitrary_bytes(tmp_path, with_header, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes((ECO2AI_HEADER.encode() if with_header else b"") + data)
    try:
        summarise(load_file(path))
    except ReportError as exc:
        assert "\n" not in str(exc)


_names = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    project=_names,
    experiment=_names,
    energies=st.dictionaries(st.sampled_from(["cpu", "gpu", "ram"]), st.floats(0, 1e6), min_size=1),
    duration=st.floats(0, 1e7),
    index=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_round_trip_through_the_csv_sink(tmp_path, project, experiment, energies, duration, index):
    # No exclusions: a name that itself starts with "'" (and then = + - @) reads back as written.
    path = tmp_path / "rt.csv"
    path.unlink(missing_ok=True)
    record = _record(project_name=project, experiment_description=experiment, energy_kwh_by_domain=energies,
                     method_by_domain={d: "counter" for d in energies}, duration_s=duration,
                     window="run" if index is None else "epoch", index=index)
    CsvSink(path).write(record)
    (row,) = load_file(path)
    back = row.record
    assert (back.project_name, back.experiment_description) == (project, experiment)
    assert (back.window, back.index) == (record.window, record.index)
    assert back.energy_kwh == record.energy_kwh
    assert back.energy_kwh_by_domain == energies
    assert back.duration_s == duration


@pytest.mark.parametrize("name", ["'quoted", "''", "'=SUM(A1)", "'", "=1+1", "-lr", "@x", "\tindent"])
def test_a_leading_quote_reads_back_as_written(tmp_path, name):
    path = tmp_path / "q.csv"
    CsvSink(path).write(_record(project_name=name, experiment_description=name))
    (row,) = load_file(path)
    assert (row.record.project_name, row.record.experiment_description) == (name, name)
    report = summarise([row])
    assert report.groups[0].project == name
