"""wattprint.eco2ai.Tracker's behaviour where ECO2AI code depends on it: method order, regions,
remembered parameters, accessors, warnings."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import wattprint
from wattprint import eco2ai
from wattprint.core.carbon import lookup
from wattprint.core.errors import ConfigError, StateError

from .test_readme_examples import rows, work


def test_stop_during_training_is_stop_training():
    tracker = eco2ai.Tracker(alpha_2_code="FR")
    tracker.start_training()
    work()
    tracker.new_epoch({"loss": 1})
    work()
    tracker.stop()  # ECO2AI: the same as stop_training(); the unfinished epoch is not written
    assert [r["epoch"] for r in rows("emission.csv")] == ["epoch: 1, loss: 1, "]
    with pytest.raises(eco2ai.IncorrectMethodSequenceError):
        tracker.stop()
    with pytest.raises(eco2ai.IncorrectMethodSequenceError):
        tracker.new_epoch({})
    with pytest.raises(eco2ai.IncorrectMethodSequenceError):
        tracker.stop_training()


def test_methods_out_of_order_raise_eco2ais_errors():
    tracker = eco2ai.Tracker(alpha_2_code="FR")
    with pytest.raises(eco2ai.IncorrectMethodSequenceError, match="start_training"):
        tracker.new_epoch({"loss": 1})
    with pytest.raises(eco2ai.IncorrectMethodSequenceError, match="start"):
        tracker.stop()
    with pytest.raises(TypeError, match="start_epoch"):
        tracker.start_training(start_epoch="1")
    tracker.start_training(start_epoch=3)
    with pytest.raises(eco2ai.IncorrectMethodSequenceError, match="start_training"):
        tracker.start()
    tracker.new_epoch({})
    tracker.stop_training()
    assert isinstance(eco2ai.IncorrectMethodSequenceError("x"), StateError)
    assert [r["epoch"] for r in rows("emission.csv")] == ["epoch: 3, "]


def test_a_tracker_starts_again_with_a_new_id():
    tracker = eco2ai.Tracker(alpha_2_code="FR")
    assert tracker.id() is None and tracker.consumption() == 0 and tracker.price() == 0
    ids = []
    for _ in range(2):
        tracker.start()
        work()
        assert tracker.consumption() > 0  # the run so far
        tracker.stop()
        ids.append(tracker.id())
    written = rows("emission.csv")
    assert [r["id"] for r in written] == ids and ids[0] != ids[1]
    assert tracker.consumption() == pytest.approx(float(written[-1]["power_consumption(kWh)"]))
    assert tracker.measure_period() == 10 and tracker.emission_level() == lookup("FR").g_per_kwh


@pytest.mark.parametrize(("country", "region", "key"), [
    ("US", "California", "US-CA"), ("US", "New York", "US-NY"), ("CA", "Quebec", "CA-QC"),
    ("CA", "British Columbia", "CA-BC"), ("AU", "New South Wales", "AU-NSW"), ("AU", "Tasmania", "AU-TAS"),
    ("RU", "Moscow", "RU-1"), ("RU", "Novosibirsk Oblast", "RU-2"), ("RU", "Khabarovsk", "RU-AS"),
    ("IN", "Maharashtra", "IN-MH"),
])
def test_eco2ai_regions_use_wattprints_figure_for_them(country, region, key):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a region with a figure warns nothing
        tracker = eco2ai.Tracker(alpha_2_code=country, region=region)
    assert tracker.emission_level() == lookup(key).g_per_kwh
    tracker.start()
    tracker.stop()
    assert rows("emission.csv")[0]["region/country"] == f"{country}/{region}"


# ECO2AI 0.3.12's region names (its data/carbon_index.csv) for the countries wattprint has regions of.
ECO2AI_REGIONS = {
    "US": ("Alaska", "Alabama", "Arkansas", "Arizona", "California", "Colorado", "Connecticut", "Delaware", "Florida",
           "Georgia", "Hawaii", "Iowa", "Idaho", "Illinois", "Indiana", "Kansas", "Kentucky", "Louisiana",
           "Massachusetts", "Maryland", "Maine", "Michigan", "Minnesota", "Missouri", "Mississippi", "Montana",
           "North Carolina", "North Dakota", "Nebraska", "New Hampshire", "New Jersey", "New Mexico", "Nevada",
           "New York", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota",
           "Tennessee", "Texas", "Utah", "Virginia", "Vermont", "Washington", "Wisconsin", "West Virginia",
           "Wyoming"),
    "CA": ("Alberta", "British Columbia", "Manitoba", "New Brunswick", "Newfoundland and Labrador", "Nova Scotia",
           "Northwest Territories", "Nunavut", "Ontario", "Prince Edward Island", "Quebec", "Saskatchewan", "Yukon"),
    "AU": ("ACT", "Australian Capital Territory", "New South Wales", "Northern Territory", "Queensland",
           "South Australia", "Tasmania", "Victoria", "Western Australia"),
}


def test_every_eco2ai_state_and_province_has_a_figure():
    from wattprint.eco2ai.regions import region_key

    for country, names in ECO2AI_REGIONS.items():
        keys = {name: region_key(country, name) for name in names}
        assert all(key and key.startswith(country + "-") for key in keys.values()), keys
        assert len(set(keys.values())) == len(names) - (2 if country == "AU" else 0)  # ACT is on NSW's grid


@pytest.mark.parametrize(("country", "region"), [("US", "Virgin Islands"), ("RU", "Kaliningrad"), ("FR", "Paris")])
def test_a_region_without_a_figure_uses_its_country_with_one_warning(country, region):
    with pytest.warns(RuntimeWarning, match=f"region '{region}' of {country}") as caught:
        tracker = eco2ai.Tracker(alpha_2_code=country, region=region)
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1
    assert tracker.emission_level() == lookup(country).g_per_kwh


def test_region_needs_a_country_and_ignore_warnings_silences_them():
    with pytest.raises(eco2ai.NoCountryCodeError, match="alpha_2_code"):
        eco2ai.Tracker(region="California")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eco2ai.Tracker(alpha_2_code="US", region="Virgin Islands", ignore_warnings=True)
        eco2ai.Tracker(ignore_warnings=True)  # no location at all: the world average, silently


def test_arguments_are_checked_with_eco2ais_names():
    with pytest.raises(ConfigError, match="^emission_level= must be a finite number >= 0"):
        eco2ai.Tracker(emission_level=-1)
    with pytest.raises(ConfigError, match="measure_period"):
        eco2ai.Tracker(alpha_2_code="FR", measure_period=0)
    with pytest.raises(eco2ai.NotNeededExtensionError):
        eco2ai.Tracker(file_name="emission.txt")
    with pytest.raises(ConfigError, match="cpu_processes"):
        eco2ai.Tracker(alpha_2_code="FR", cpu_processes="some")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        eco2ai.Tracker(filename="a.csv")
    tracker = eco2ai.Tracker(emission_level=300, alpha_2_code="DE", cpu_processes="all", timezone="Europe/Berlin")
    assert tracker.emission_level() == 300
    tracker.start()
    tracker.stop()
    assert rows("emission.csv")[0]["region/country"] == "(DE)"


def test_params_persist_across_processes_from_a_read_only_install(tmp_path):
    # A copy of the package nobody may write to, as in a system or shared site-packages.
    install = tmp_path / "site"
    shutil.copytree(Path(wattprint.__file__).parent, install / "wattprint",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in [install, *install.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = sorted(str(p) for p in install.rglob("*"))
    config = tmp_path / "config"
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "PYTHONPATH": str(install), "PYTHONDONTWRITEBYTECODE": "1"}

    def python(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    python(f"import wattprint.eco2ai as e; assert e.__file__.startswith({str(install)!r}); "
           "e.set_params(project_name='remembered', experiment_description='across processes', "
           "file_name='kept.csv', measure_period=2, pue=1.2)")
    out = python("import wattprint.eco2ai as e; t = e.Tracker(alpha_2_code='FR'); t.start(); t.stop(); "
                 "print(t.project_name, t.measure_period())")
    assert out.split() == ["remembered", "10"]  # measure_period's default is the constructor's, as in ECO2AI
    (row,) = rows(tmp_path / "kept.csv")
    assert (row["project_name"], row["experiment_description"]) == ("remembered", "across processes")
    assert json.loads((config / "wattprint" / "eco2ai.json").read_text())["file_name"] == "kept.csv"
    assert sorted(str(p) for p in install.rglob("*")) == before


def test_params_defaults_and_an_unwritable_config_dir(tmp_path, monkeypatch):
    assert eco2ai.get_params() == {"project_name": "Default project name",
                                   "experiment_description": "no experiment description",
                                   "file_name": "emission.csv", "measure_period": 10, "pue": 1}
    eco2ai.set_params(project_name="only this")
    assert eco2ai.get_params()["experiment_description"] == "default experiment description"
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocked))
    with pytest.raises(ConfigError, match="XDG_CONFIG_HOME"):
        eco2ai.set_params(project_name="x")
    with pytest.warns(RuntimeWarning, match="cannot save the ECO2AI parameters"):
        tracker = eco2ai.Tracker(project_name="still runs", alpha_2_code="FR")
    tracker.start()
    tracker.stop()
    assert rows("emission.csv")[0]["project_name"] == "still runs"


def test_importing_the_module_loads_no_pandas_or_numpy():
    code = "import sys, wattprint.eco2ai; print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_available_devices_prints_the_cpu(capsys):
    eco2ai.available_devices()
    out = capsys.readouterr().out
    assert "Seeable cpu device(s):" in out and "device(s)" in out.splitlines()[1]


def test_no_location_warns_in_eco2ais_terms():
    with pytest.warns(UserWarning, match="alpha_2_code='FR'") as caught:
        tracker = eco2ai.Tracker()
    assert "cloud=" not in str(caught[0].message) and "IP address" in str(caught[0].message)
    assert tracker.emission_level() == lookup("world").g_per_kwh
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eco2ai.Tracker(ignore_warnings=True)


@pytest.mark.parametrize(("body", "epochs"), [
    ("t.start(); work()", ["N/A"]),
    ("t.start_training(); work(); t.new_epoch({'loss': 1}); work()", ["epoch: 1, loss: 1, ", "epoch: 2, "]),
])
def test_a_process_that_ends_without_stop_keeps_its_rows(tmp_path, body, epochs):
    code = ("from wattprint import eco2ai\n"
            "def work(): return sum(i * i for i in range(200_000))\n"
            f"t = eco2ai.Tracker(alpha_2_code='FR')\n{body}\n"
            "raise SystemExit(0)  # no stop(): the rows are written at exit\n")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, timeout=120, check=True)
    assert [r["epoch"] for r in rows(tmp_path / "emission.csv")] == epochs
