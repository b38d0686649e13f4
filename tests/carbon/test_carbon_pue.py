"""PUE presets and validation of PUE and electricity price."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.core.carbon import PUE_PRESETS, validate_price, validate_pue
from wattprint.core.carbon.pue import MAX_PLAUSIBLE_PUE, PUE_SOURCES
from wattprint.core.errors import ConfigError


def test_presets_are_sourced_and_plausible():
    assert set(PUE_PRESETS) == set(PUE_SOURCES)
    assert PUE_PRESETS["aws"] == 1.14 and PUE_PRESETS["gcp"] == 1.10
    for name, value in PUE_PRESETS.items():
        assert 1.0 < value < 2.0, name


@pytest.mark.parametrize("name", ["aws", "AWS", " gcp ", "Azure", "industry"])
def test_preset_names(name):
    assert validate_pue(name) == PUE_PRESETS[name.strip().lower()]


@pytest.mark.parametrize("value, expected", [(1, 1.0), (1.0, 1.0), (1.58, 1.58)])
def test_numbers(value, expected):
    assert validate_pue(value) == expected


def test_a_number_in_a_string_is_refused_like_any_other_number():
    # Command lines convert their text first; from Python a number is passed as a number.
    with pytest.raises(ConfigError, match=r"^pue= must be a number >= 1.0 .*got '1.2' \(a string"):
        validate_pue("1.2")
    with pytest.raises(ConfigError, match=r"^--pue must be a number"):
        validate_pue("1.2", "--pue")


@pytest.mark.parametrize("bad, fragment", [
    (0.9, ">= 1.0"), (0, ">= 1.0"), (-1.2, ">= 1.0"), (math.nan, "finite"), (math.inf, "finite"),
    (-math.inf, "finite"), (115, "implausibly high"), ("ibm", "unknown PUE preset 'ibm'"),
    (None, "number >= 1.0"), (True, "number >= 1.0"), ([1.1], "number >= 1.0"),
])
def test_bad_pue(bad, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        validate_pue(bad)


@given(st.floats(min_value=1.0, max_value=MAX_PLAUSIBLE_PUE))
def test_any_plausible_pue_round_trips(value):
    assert validate_pue(value) == value


@given(st.floats(max_value=1.0, exclude_max=True) | st.floats(min_value=MAX_PLAUSIBLE_PUE,
                                                              exclude_min=True))
def test_out_of_range_pue_is_rejected(value):
    with pytest.raises(ConfigError):
        validate_pue(value)


@pytest.mark.parametrize("value, expected", [(None, None), (0, 0.0), (0.25, 0.25)])
def test_price(value, expected):
    assert validate_price(value) == expected


@pytest.mark.parametrize("bad", [-0.01, math.nan, math.inf, "cheap", "0.31", True, [0.2]])
def test_bad_price(bad):
    with pytest.raises(ConfigError, match="electricity_price"):
        validate_price(bad)
