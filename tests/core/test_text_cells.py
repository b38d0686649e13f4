"""Every text cell is safe whatever it holds; window labels are checked when the window opens."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wattprint
from wattprint import ConfigError
from wattprint.core.csvformat import COLUMNS, guard, line, split_records, unguard
from wattprint.report import load_file
from wattprint.testing import FakeClock, FakeSensor

from .test_sinks import make_record

_FORMULA = ("=", "+", "-", "@", "\t")


@given(st.text(alphabet=st.sampled_from(list("=+-@'\t\r\nab ")), max_size=30) | st.text(max_size=30))
def test_the_guard_covers_every_line_of_a_cell_and_undoes_exactly(text):
    guarded = guard(text)
    assert unguard(guarded) == text
    for part in re.split(r"\r\n|\r|\n", guarded)[1:]:  # each line a spreadsheet shows
        assert not part.startswith(_FORMULA), repr(guarded)


def test_a_server_sent_name_with_a_carriage_return_stays_in_its_cell(tmp_path):
    from wattprint.core.sinks import CsvSink

    path = tmp_path / "e.csv"
    name = "Zone\r=HYPERLINK(\"http://x\")"
    CsvSink(path).write(make_record(intensity_name=name, index=1))
    CsvSink(path).write(make_record(index=2))
    raw = path.read_bytes().decode("utf-8")
    assert "\r'=HYPERLINK" in raw  # guarded after the break too
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    assert len(rows) == 3 and all(len(r) == len(COLUMNS) for r in rows)
    first, second = load_file(path)
    assert first.record.intensity_name == name and second.record.index == 2


def test_records_are_split_by_line_unless_a_quoted_cell_really_spans_lines():
    header = "a,b,c"
    text = f'{header}\n1,"x\ny",3\n4,"cut off\n5,6,7\n8,"{"q" * 3}",9\n'
    got = list(split_records(text, lambda: 3))
    assert got == [(1, ["a", "b", "c"]), (2, ["1", "x\ny", "3"]), (4, None), (5, ["5", "6", "7"]), (6, ["8", "qqq", "9"])]


# -- window labels ----------------------------------------------------------------------------------


@pytest.fixture
def running():
    clock = FakeClock()
    t = wattprint.Tracker(carbon_intensity=100, output_file=None, clock=clock,
                          sensors=[FakeSensor("cpu", power_w=10, clock=clock)])
    t.start()
    yield t
    t.stop()


@pytest.mark.parametrize("name, kwargs, message", [
    (None, {}, "name= must be a string"),
    ("", {}, "name= must not be empty"),
    ("a\r=1+1", {}, "newline or control character"),
    ("x" * 300, {}, "300 characters"),
    ("epoch", {"index": "x"}, "index= must be an integer"),
    ("epoch", {"index": True}, "index= must be an integer"),
    ("epoch", {"index": 10**20}, "out of range"),
    ("epoch", {"parameters": [1, 2]}, "parameters= must be a dict"),
    ("epoch", {"parameters": {"blob": "x" * 200_000}}, "parameters= is 2000"),
])
def test_bad_window_labels_raise_config_error_when_the_window_opens(running, name, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        running.begin_window(name, **kwargs)


def test_numpy_integers_are_window_indices_and_parameters_of_any_text_read_back(tmp_path):
    np = pytest.importorskip("numpy")
    clock = FakeClock()
    path = tmp_path / "e.csv"
    t = wattprint.Tracker(carbon_intensity=100, output_file=path, clock=clock,
                          sensors=[FakeSensor("cpu", power_w=10, clock=clock)])
    with t, t.window("epoch", index=np.int64(3), parameters={"note": "a\r\n=cmd", "lr": 0.1}):
        clock.advance(1)
    first = load_file(path)[0].record
    assert first.index == 3 and first.parameters == {"note": "a\r\n=cmd", "lr": 0.1}


def test_ecoai_epoch_api_checks_parameters_and_the_first_epoch_number(tmp_path):
    clock = FakeClock()
    t = wattprint.Tracker(carbon_intensity=100, output_file=None, clock=clock,
                          sensors=[FakeSensor("cpu", power_w=10, clock=clock)])
    t.start_training()
    with pytest.raises(ConfigError, match="parameters= must be a dict"):
        t.new_epoch("loss 0.1")  # type: ignore[arg-type]
    t.new_epoch({"loss": 0.1})
    t.stop_training()


def test_a_cell_holding_line_breaks_is_one_quoted_cell_guarded_on_each_line():
    assert line([guard("a\r=b"), guard("c\n+d\n'e"), "f"]) == '"a\r\'=b","c\n\'+d\n\'\'e",f\n'
