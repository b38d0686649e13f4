"""The CSV codec both ways: what the sink writes, the report reads back exactly, whatever the text."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.core import csvformat
from wattprint.core.csvformat import (
    COLUMNS,
    ECO2AI_COLUMNS,
    decode_row,
    encode_row,
    guard,
    line,
    unguard,
)
from wattprint.core.footprint import Carbon
from wattprint.core.measurement import DOMAINS, METHODS, Measurement
from wattprint.core.record import EnergyRecord, Labels

# Any text at all: quotes, commas, CR, LF, NUL, tabs, a leading ' = + - @, non-ASCII.
_text = st.text(max_size=40)
_tricky = st.sampled_from(["'", "''", "'=1", "=SUM(A1)", "+1", "-1", "@x", "\t", "\r", "\n", "a,b", 'say "hi"', "é日本", "\r\n", "\x00"])
_any_text = st.one_of(_text, _tricky, st.builds(lambda a, b: a + b, _tricky, _text))
_nonneg = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)
# Rates as large as real ones get (and more): their products stay below csvformat.MAX_FIGURE.
_rate = st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def records(draw) -> EnergyRecord:
    domains = draw(st.lists(st.sampled_from(DOMAINS), unique=True))
    measurement = Measurement.of(
        draw(_nonneg),
        {d: draw(_nonneg) for d in domains},
        {d: draw(st.sampled_from(METHODS)) for d in domains},
        draw(st.lists(st.sampled_from(domains), unique=True)) if domains else (),
    )
    priced = draw(st.booleans())
    carbon = Carbon(
        pue=draw(st.floats(min_value=1.0, max_value=5.0)),
        intensity_g_per_kwh=draw(_rate),
        electricity_price=draw(_rate) if priced else None,
        currency=draw(_any_text) if priced else "",
        intensity_key=draw(_any_text),
        intensity_name=draw(_any_text.filter(bool)),
        intensity_source=draw(_any_text),
        intensity_basis=draw(_any_text),
        intensity_year=draw(st.one_of(st.none(), st.integers(1900, 2100))),
        located_by=draw(_any_text),
        intensity_readings=draw(st.integers(1, 10_000)),
    )
    labels = Labels(
        project_name=draw(_any_text),
        experiment_description=draw(_any_text),
        run_id=draw(_any_text.filter(lambda t: t.strip() != "")),
        window=draw(_any_text.filter(bool)),
        index=draw(st.one_of(st.none(), st.integers(-5, 10**9))),
        parameters=draw(st.dictionaries(_any_text, st.one_of(_any_text, st.integers(), _nonneg), max_size=4)),
        start_time=datetime.fromtimestamp(draw(st.integers(0, 4_000_000_000)), tz=timezone.utc),
        interrupted=draw(st.booleans()),
        scope=draw(_any_text.filter(bool)),
        host=draw(_any_text),
        rank=draw(st.integers(0, 10_000)),
        local_rank=draw(st.integers(0, 64)),
        world_size=draw(st.integers(1, 10_000)),
        cpu_name=draw(_any_text),
        gpu_name=draw(_any_text),
        os=draw(_any_text),
    )
    return EnergyRecord(labels, measurement, carbon)


def _read(text: str) -> EnergyRecord:
    header, cells = list(csv.reader(io.StringIO(text, newline="")))
    return decode_row(header, cells).record


@settings(max_examples=300, deadline=None)
@given(records())
def test_every_record_reads_back_exactly_as_written(record):
    text = line(COLUMNS) + encode_row(record)
    back = _read(text)
    # The file has a cost column but no price column: the price is the one thing not kept.
    assert back == replace(record, carbon=replace(record.carbon, electricity_price=None))


@settings(max_examples=100, deadline=None)
@given(records())
def test_eco2ai_layout_reads_back_the_facility_energy_and_the_text(record):
    back = _read(line(ECO2AI_COLUMNS) + encode_row(record, ECO2AI_COLUMNS))
    labels = record.labels
    assert (back.project_name, back.experiment_description, back.cpu_name, back.gpu_name, back.os) == (
        labels.project_name, labels.experiment_description, labels.cpu_name, labels.gpu_name, labels.os)
    assert back.pue is None  # ECO2AI's energy already includes it
    assert back.energy_kwh == back.facility_kwh == record.facility_kwh
    assert back.co2_kg == record.co2_kg


@given(_any_text)
def test_the_formula_guard_undoes_exactly(text):
    guarded = guard(text)
    assert unguard(guarded) == text
    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_a_cell_that_could_end_a_row_is_quoted():
    assert line(["a\rb", "c\nd", 'e"f', "g,h", "plain"]) == '"a\rb","c\nd","e""f","g,h",plain\n'


@pytest.mark.parametrize("header, layout", [
    (list(COLUMNS), csvformat.WATTPRINT),
    (list(ECO2AI_COLUMNS), csvformat.ECO2AI),
    ([*ECO2AI_COLUMNS, "CPU_consumption(kWh)"], csvformat.ECO2AI),
    (["timestamp", "project_name"], None),
])
def test_layouts_are_told_apart_by_the_header(header, layout):
    assert csvformat.layout_of(header) == layout


def test_parameters_with_keys_of_mixed_types_are_written_with_text_keys():
    record = EnergyRecord(window="epoch", index=1, parameters={"loss": 0.1, 1: "one"}, run_id="r")
    assert _read(line(COLUMNS) + encode_row(record)).parameters == {"loss": 0.1, "1": "one"}


def test_a_decoded_row_s_parts_hold_every_field_and_equal_parts_built_by_their_classes(tmp_path):
    # The decoder builds the parts without their __init__: a field it left out would read the
    # class default silently; here every field is in each part's own __dict__.
    from dataclasses import fields

    from wattprint.core.footprint import Footprint
    from wattprint.core.merge import Total, combine

    record = EnergyRecord(project_name="p", run_id="r", window="epoch", index=2, duration_s=5.0,
                          energy_kwh_by_domain={"cpu": 1e-3, "gpu": 2e-3}, method_by_domain={"cpu": "estimated", "gpu": "counter"},
                          pue=1.3, intensity_g_per_kwh=50.0, intensity_key="FR", host="h", work=3.0, work_unit="samples")
    back = decode_row(COLUMNS, next(csv.reader([encode_row(record)]))).record
    total = combine([back, back])
    for part, cls in ((back.labels, Labels), (back.measurement, Measurement), (back.footprint, Footprint),
                      (total.measurement, Measurement), (total.footprint, Footprint)):
        assert set(vars(part)) == {f.name for f in fields(cls)}
        assert part == cls(**vars(part))
    assert set(vars(total)) == {f.name for f in fields(Total)} and total.count == 2
    assert back.labels == record.labels and back.measurement == record.measurement
    assert set(vars(back)) == {f.name for f in fields(EnergyRecord)}
    from wattprint.report.load import Row, load_file

    path = tmp_path / "e.csv"
    path.write_text(csvformat.line(COLUMNS) + encode_row(record), encoding="utf-8")
    (row,) = load_file(path)
    assert set(vars(row)) == {f.name for f in fields(Row)} and row.record == back and row.line == 2
