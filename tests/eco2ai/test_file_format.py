"""The file wattprint.eco2ai writes, cell by cell against one written by ECO2AI 0.3.12 itself
(``tests/data/peers/eco2ai-0.3.12-emission.csv``, made by ``make_eco2ai.py`` there)."""

from __future__ import annotations

import platform
import re
import uuid
from pathlib import Path

import pytest

from wattprint import eco2ai
from wattprint.core.carbon import lookup
from wattprint.core.csvformat import ECO2AI_COLUMNS
from wattprint.core.errors import ConfigError
from wattprint.eco2ai.csvfile import shift
from wattprint.report import load_file, summarise

from .test_readme_examples import rows, work

PEERS = Path(__file__).resolve().parent.parent / "data" / "peers"
ECO2AI_FILE = PEERS / "eco2ai-0.3.12-emission.csv"

#: Cells that must read the same, word for word, for the same arguments.
SAME = ("project_name", "experiment_description", "OS", "region/country", "cost")
#: Each cell's shape in ECO2AI's file.
SHAPES = {
    "start_time": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    "duration(s)": r"\d+\.\d+(e-?\d+)?",
    "power_consumption(kWh)": r"\d+(\.\d+)?(e-?\d+)?",
    "CO2_emissions(kg)": r"\d+(\.\d+)?(e-?\d+)?",
    "CPU_name": r".+/\d+ device\(s\), TDP:\d+\.\d+",
    "GPU_name": r".* \d+ device\(s\)",
}


def write_like_the_fixture() -> list[dict[str, str]]:
    """What make_eco2ai.py does, through wattprint.eco2ai."""
    tracker = eco2ai.Tracker(project_name="fixture", experiment_description="start/stop", file_name="emission.csv",
                             alpha_2_code="US", region="California", ignore_warnings=True, measure_period=1)
    tracker.start()
    work()
    tracker.stop()
    tracker = eco2ai.Tracker(project_name="fixture", experiment_description="training", file_name="emission.csv",
                             alpha_2_code="FR", ignore_warnings=True, measure_period=1)
    tracker.start_training()
    for epoch in range(2):
        work()
        tracker.new_epoch({"loss": 0.5 - epoch / 10, "accuracy": 0.9})
    tracker.stop_training()
    return rows("emission.csv")


def test_rows_match_eco2ai_0_3_12_cell_by_cell():
    ours, theirs = write_like_the_fixture(), rows(ECO2AI_FILE)
    assert Path("emission.csv").read_text().splitlines()[0] == ECO2AI_FILE.read_text().splitlines()[0]
    assert tuple(ours[0]) == ECO2AI_COLUMNS
    assert len(ours) == len(theirs) == 3
    for mine, real in zip(ours, theirs):
        for column in SAME:
            assert mine[column] == real[column], column
        for column, shape in SHAPES.items():
            assert re.fullmatch(shape, real[column]), (column, real[column])
            assert re.fullmatch(shape, mine[column]), (column, mine[column])
        uuid.UUID(mine["id"])
    # ECO2AI writes N/A outside training; pandas, rewriting its file, leaves the cell empty.
    assert ours[0]["epoch"] == "N/A" and theirs[0]["epoch"] in ("", "N/A")
    assert [r["epoch"] for r in ours[1:]] == [r["epoch"] for r in theirs[1:]] == [
        "epoch: 1, loss: 0.5, accuracy: 0.9, ", "epoch: 2, loss: 0.4, accuracy: 0.9, "]
    # The epochs of one training share an id; the start/stop run has its own.
    assert ours[1]["id"] == ours[2]["id"] != ours[0]["id"]
    assert theirs[1]["id"] == theirs[2]["id"] != theirs[0]["id"]
    assert ours[0]["OS"] == ("MacOS" if platform.system() == "Darwin" else platform.system())


def test_co2_is_energy_times_the_regions_figure_as_eco2ai_computes_it():
    tracker = eco2ai.Tracker(project_name="p", alpha_2_code="US", region="California", pue=1.5)
    tracker.start()
    work()
    tracker.stop()
    (row,) = rows("emission.csv")
    assert tracker.emission_level() == lookup("US-CA").g_per_kwh
    kwh = float(row["power_consumption(kWh)"])
    assert float(row["CO2_emissions(kg)"]) == pytest.approx(kwh * tracker.emission_level() / 1000)
    assert tracker.consumption() == pytest.approx(kwh)  # facility energy: PUE included, as ECO2AI writes it
    assert row["region/country"] == "US/California"


def test_wattprint_report_reads_the_file_epochs_and_parameters():
    write_like_the_fixture()
    loaded = load_file("emission.csv")
    assert [r.format for r in loaded] == ["eco2ai"] * 3
    assert [(r.record.window, r.record.index, r.parameters) for r in loaded] == [
        ("run", None, ""), ("epoch", 1, "loss: 0.5, accuracy: 0.9"), ("epoch", 2, "loss: 0.4, accuracy: 0.9")]
    report = summarise(loaded)
    assert [run.counted_from for run in report.runs] == ["run", "epochs"]
    assert report.total.footprint.facility_kwh == pytest.approx(
        sum(float(r["power_consumption(kWh)"]) for r in rows("emission.csv")))


def test_the_eco2ai_fixture_itself_is_read_by_the_report():
    loaded = load_file(ECO2AI_FILE)
    assert [(r.record.window, r.record.index) for r in loaded] == [("run", None), ("epoch", 1), ("epoch", 2)]
    assert sum(r.record.co2_kg for r in loaded) == pytest.approx(
        sum(float(r["CO2_emissions(kg)"]) for r in rows(ECO2AI_FILE)))


def test_summary_has_eco2ai_columns_and_totals():
    pd = pytest.importorskip("pandas")
    table = eco2ai.summary(str(ECO2AI_FILE), write_to_file="summary.csv")
    assert list(table.columns) == ["project_name", "total duration(s)", "total power_consumption(kWh)",
                                   "total CO2_emissions(kg)", "total electricity cost"]
    assert list(table["project_name"]) == ["fixture", "All the projects"]
    theirs = rows(ECO2AI_FILE)
    assert table["total CO2_emissions(kg)"].iloc[0] == pytest.approx(sum(float(r["CO2_emissions(kg)"]) for r in theirs))
    assert table["total power_consumption(kWh)"].iloc[-1] == pytest.approx(
        sum(float(r["power_consumption(kWh)"]) for r in theirs))
    assert pd.read_csv("summary.csv", index_col=0).shape == (2, 5)
    with pytest.raises(eco2ai.FileDoesNotExistsError):
        eco2ai.summary("missing.csv")
    with pytest.raises(eco2ai.NotNeededExtensionError):
        eco2ai.summary(str(PEERS / "README.md"))


def test_summary_without_pandas_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"'pandas' is not installed; install it with: pip install 'wattprint\[eco2ai\]'"):
        eco2ai.summary(str(ECO2AI_FILE))


def test_encoded_copy_is_eco2ais_letter_shift_of_each_cell():
    # What ECO2AI 0.3.12's eco2ai.utils.encode returns for these texts.
    assert shift("epoch: 1, loss: 0.5, ") == "квыцгЬf\\,fхыррЬf[И`,f"
    assert shift("US/California") == "ЪЗТи хшеыпфш "
    assert shift("1.2345e-05") == "\\И]^_`кМ[`"
    assert shift("Москва zZ~}|{") == "<yFjuvfчПedcb"
    tracker = eco2ai.Tracker(project_name="p", alpha_2_code="FR", encode_file=True)
    tracker.start_training()
    tracker.new_epoch({"loss": 0.5})
    tracker.stop_training()
    (plain,), (encoded,) = rows("emission.csv"), rows("encoded_emission.csv")
    assert list(encoded) == list(plain)  # the header is not encoded
    assert all(encoded[c] == shift(plain[c]) for c in plain)
    assert plain["epoch"] == "epoch: 1, loss: 0.5, "
    named = eco2ai.Tracker(alpha_2_code="FR", encode_file="other.csv")
    named.start()
    named.stop()
    assert [r["id"] for r in rows("other.csv")] == [shift(named.id())]
    with pytest.raises(eco2ai.NotNeededExtensionError):
        eco2ai.Tracker(alpha_2_code="FR", encode_file="other.txt")


def test_electricity_pricing_fills_the_cost_cell():
    tracker = eco2ai.Tracker(alpha_2_code="FR", electricity_pricing={"0:00-12:00": 2.0, "12:00-0:00": 2.0})
    tracker.start()
    work()
    tracker.stop()
    (row,) = rows("emission.csv")
    assert float(row["cost"]) == pytest.approx(2.0 * float(row["power_consumption(kWh)"]))
    assert tracker.price() == pytest.approx(float(row["cost"]))
    with pytest.raises(eco2ai.IncorrectPricingDict, match="24 hours"):
        eco2ai.Tracker(alpha_2_code="FR", electricity_pricing={"8:30-20:00": 1, "18:00-3:00": 1, "6:00-12:30": 1})


def test_a_file_of_another_tool_is_never_written_to():
    Path("emission.csv").write_text("timestamp,project_name,run_id,duration,emissions\n")
    with pytest.raises(ConfigError, match="will not be written to"):
        eco2ai.Tracker(project_name="refused", alpha_2_code="FR")
    assert eco2ai.get_params()["project_name"] != "refused"  # a refused tracker's arguments are not remembered
    assert Path("emission.csv").read_text() == "timestamp,project_name,run_id,duration,emissions\n"


def test_summary_counts_each_run_of_a_wattprint_file_once():
    pytest.importorskip("pandas")
    from wattprint import Tracker

    tracker = Tracker(project_name="ours", country="FR", output_file="wattprint.csv")
    tracker.start_training()
    for _ in range(2):
        work()
        tracker.new_epoch({"loss": 1})
    run = tracker.stop_training()  # two epoch rows and the run row, which holds them
    table = eco2ai.summary("wattprint.csv")
    assert table["total power_consumption(kWh)"].iloc[0] == pytest.approx(run.facility_kwh)
    assert table["total CO2_emissions(kg)"].iloc[-1] == pytest.approx(run.co2_kg)


def test_appends_to_a_file_ecoai_wrote():
    import shutil

    shutil.copy(ECO2AI_FILE, "emission.csv")
    tracker = eco2ai.Tracker(project_name="fixture", experiment_description="after", alpha_2_code="FR")
    tracker.start()
    work()
    tracker.stop()
    theirs, ours = rows(ECO2AI_FILE), rows("emission.csv")
    assert ours[:3] == theirs and ours[3]["experiment_description"] == "after" and ours[3]["epoch"] == "N/A"
    assert len(load_file("emission.csv")) == 4


def test_a_wattprint_file_given_as_file_name_keeps_wattprints_rows():
    from wattprint import Tracker

    Tracker(project_name="earlier", country="FR", output_file="mine.csv").start().stop()
    tracker = eco2ai.Tracker(project_name="eco", file_name="mine.csv", alpha_2_code="FR")
    tracker.start_training()
    work()
    tracker.new_epoch({"loss": 1})
    tracker.stop_training()
    loaded = load_file("mine.csv")
    assert [(r.format, r.record.window) for r in loaded] == [("wattprint", "run"), ("wattprint", "epoch"),
                                                              ("wattprint", "run")]
    assert not any(run.incomplete for run in summarise(loaded).runs)
