"""One settings object: validated once, the same rules and message shape for every option, named as the caller wrote it."""

from __future__ import annotations

import math
import pickle
import warnings

import pytest

import wattprint
from wattprint import CarbonDataError, ConfigError, Settings, Tracker
from wattprint.core.naming import CLI

from ..cli.helpers import wattprint as run_cli

NUMERIC = ("pue", "measure_period", "carbon_intensity", "electricity_price")


@pytest.mark.parametrize("option", NUMERIC)
def test_a_number_given_as_text_is_refused_alike_by_every_numeric_option(option):
    with pytest.raises(ConfigError) as caught:
        Tracker(output_file=None, **{option: "1.0"})
    assert str(caught.value).startswith(f"{option}= must be a number")
    assert str(caught.value).endswith("got '1.0' (a string: pass the number itself)")


@pytest.mark.parametrize("option", NUMERIC)
def test_a_real_number_of_any_kind_is_accepted(option):
    import fractions

    for value in (1, 1.5, fractions.Fraction(3, 2)):
        assert isinstance(getattr(Settings.build({option: value}), option), float)


@pytest.mark.parametrize("option, value", [("pue", 0.5), ("measure_period", -1.0), ("carbon_intensity", math.nan),
                                           ("electricity_price", -0.2)])
def test_errors_name_the_option_as_the_caller_spells_it(option, value):
    with pytest.raises(ConfigError, match=f"^{option}= "):
        Settings.build({option: value})
    with pytest.raises(ConfigError, match=f"^--{option.replace('_', '-')} "):
        Settings.build({option: value}, naming=CLI)


def test_the_command_line_names_its_own_options(tmp_path):
    result = run_cli("run", "--pue", "0.5", "--", "true", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("wattprint run: error: --pue must be >= 1.0")
    unknown = run_cli("run", "--region", "Atlantis", "--", "true", cwd=tmp_path)
    assert unknown.returncode == 2 and "--carbon-intensity" in unknown.stderr and "carbon_intensity=" not in unknown.stderr
    with_world = run_cli("run", "--output-file", "e.csv", "--", "true", cwd=tmp_path)
    assert "--country FR" in with_world.stderr and "country='FR'" not in with_world.stderr


def test_python_callers_see_python_names():
    with pytest.raises(CarbonDataError, match=r"pass carbon_intensity= \(gCO2e/kWh\)"):
        Tracker(country="Atlantis", output_file=None)
    with pytest.warns(UserWarning, match=r"country='FR'"):
        Tracker(output_file=None)


def test_passing_a_default_explicitly_still_counts_as_passing_it(tmp_path):
    # Told apart by how the call was made, not by comparing with the defaults.
    assert Settings.build({"pue": 1.0}).given == {"pue"}
    assert Tracker(output_file=None, carbon_intensity=1).settings.given == {"output_file", "carbon_intensity"}


def test_settings_pickle_and_are_shared_as_built(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fixed intensity: no world-average warning
        settings = Settings.build({"carbon_intensity": 50, "pue": "aws", "output_file": tmp_path / "e.csv"}, naming=CLI)
    clone = pickle.loads(pickle.dumps(settings))
    assert clone == settings and clone.given == settings.given and clone.naming == CLI
    assert clone.output_file == str(tmp_path / "e.csv") and clone.pue == 1.14
    assert Tracker(settings=settings).settings is settings
    with pytest.raises(ConfigError, match="either settings= or individual options"):
        Tracker(settings=settings, pue=1.2)


def test_an_unknown_option_is_a_type_error_with_the_nearest_name():
    with pytest.raises(TypeError, match="did you mean 'country'"):
        Settings.build({"contry": "FR"})
    with pytest.raises(TypeError, match=r"^Tracker\(\) got an unexpected keyword argument 'filename'"):
        Tracker(filename="a.csv")


@pytest.mark.parametrize("option, value", [("gpu", "yes"), ("measure_host", 1), ("scope", "gpu"), ("output_file", 5),
                                           ("jsonl_file", "\x00"), ("currency", None), ("currency", "EUR\r"),
                                           ("prefix", None), ("on_error", "ignore")])
def test_every_kind_of_option_is_checked_at_construction(option, value):
    with pytest.raises(ConfigError, match=f"^{option}="):
        Settings.build({option: value})


def test_the_public_name_is_exported():
    assert wattprint.Settings is Settings and "Settings" in wattprint.__all__


def test_settings_made_directly_or_replaced_are_checked_too():
    from dataclasses import replace

    with pytest.raises(ConfigError, match="^pue= must be a number"):
        Settings(pue="1.2")
    with pytest.raises(ConfigError, match="^measure_period= must be a number"):
        replace(Settings(), measure_period="1.2")
    assert Settings(pue="aws").pue == 1.14


def test_an_unwritable_output_fails_before_any_location_warning(tmp_path):
    result = run_cli("run", "--output-file", str(tmp_path / "missing" / "e.csv"), "--", "true", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.splitlines()[0]]  # one line: the error
    assert "--output-file" in result.stderr and "world average" not in result.stderr


def test_environment_locations_are_advised_in_the_callers_words(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTPRINT_COUNTRY", "Atlantis")
    result = run_cli("run", "--", "true", cwd=tmp_path)
    assert result.returncode == 2 and "WATTPRINT_COUNTRY='Atlantis'" in result.stderr
    assert "--carbon-intensity" in result.stderr and "carbon_intensity=" not in result.stderr
