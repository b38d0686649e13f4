"""Bad input fails early with the exact message a user sees; odd but valid input round-trips."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

import wattprint
from wattprint import ConfigError, Tracker

from ..rows import read_rows
from .helpers import fake_tracker


def test_empty_project_name():
    with pytest.raises(ConfigError) as err:
        Tracker(project_name="  ", carbon_intensity=1, output_file=None)
    assert str(err.value) == "project_name= must not be empty; it labels every row (for example 'resnet50-imagenet')."


def test_very_long_project_name():
    with pytest.raises(ConfigError) as err:
        Tracker(project_name="x" * 300, carbon_intensity=1, output_file=None)
    assert str(err.value) == "project_name= is 300 characters long; keep it under 256."


def test_newline_in_description():
    with pytest.raises(ConfigError) as err:
        Tracker(experiment_description="a\nb", carbon_intensity=1, output_file=None)
    assert str(err.value) == "experiment_description= contains a newline or control character; use a single line of text."


def test_commas_and_quotes_in_names_round_trip(tmp_path):
    path = tmp_path / "e.csv"
    tracker, clock, _, _ = fake_tracker(output_file=path, project_name='a, "b"; c')
    tracker.start()
    clock.advance(1)
    tracker.stop()
    assert read_rows(path)[0]["project_name"] == 'a, "b"; c'


@pytest.mark.parametrize(
    "value, message",
    [
        (-0.1, "electricity_price= must be a finite number >= 0"),
        (math.nan, "electricity_price= must be a finite number >= 0"),
        (math.inf, "electricity_price= must be a finite number >= 0"),
    ],
)
def test_bad_price(value, message):
    with pytest.raises(ConfigError, match=message):
        Tracker(electricity_price=value, carbon_intensity=1, output_file=None)


def test_non_numeric_environment_intensity(monkeypatch):
    monkeypatch.setenv("WATTPRINT_CARBON_INTENSITY", "lots")
    with pytest.raises(ConfigError, match="WATTPRINT_CARBON_INTENSITY"):
        Tracker(output_file=None)


def test_measure_period_exact_message():
    with pytest.raises(ConfigError) as err:
        Tracker(measure_period=0, carbon_intensity=1, output_file=None)
    assert str(err.value) == "measure_period= must be > 0 seconds, got 0; the default is 1.0."


def test_windows_closed_out_of_order_are_each_correct():
    tracker, clock, sink, _ = fake_tracker(cpu_w=1, gpu_w=0, ram_w=0)
    tracker.start()
    outer = tracker.begin_window("outer")
    clock.advance(1)
    inner = tracker.begin_window("inner")
    clock.advance(2)
    outer_rec = tracker.end_window(outer)  # the outer one first
    clock.advance(4)
    inner_rec = tracker.end_window(inner)
    tracker.stop()
    assert outer_rec.energy_kwh * 3.6e6 == pytest.approx(3.0)
    assert inner_rec.energy_kwh * 3.6e6 == pytest.approx(6.0)


def test_ambiguous_location_arguments_fail():
    with pytest.raises(ConfigError, match="country"):
        Tracker(country="FR", region="US-CA", output_file=None)


def test_no_eval_shell_or_pickle_in_the_package():
    """No code execution from data: checked on the syntax tree of every module."""
    root = Path(wattprint.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("eval", "exec"):
                    offenders.append(f"{path.name}:{node.lineno} {name}()")
                for kw in node.keywords:
                    if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        offenders.append(f"{path.name}:{node.lineno} shell=")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n in ("pickle", "marshal", "shelve") for n in names):
                    offenders.append(f"{path.name}:{node.lineno} imports {names}")
    assert offenders == []
