"""Traps a newcomer falls into with the callbacks' arguments, and the location warnings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from wattprint.core.errors import ConfigError
from wattprint.integrations.lightning import EmissionsCallback


def test_a_mistyped_argument_names_the_public_class_and_the_likely_option():
    with pytest.raises(TypeError) as info:
        EmissionsCallback(contry="FR")
    assert str(info.value) == "EmissionsCallback() got an unexpected keyword argument 'contry'; did you mean 'country'?"


@pytest.mark.parametrize(("given", "kind"), [("FR", "country"), ("Deutschland", "country"), ("US-CA", "region"),
                                             ("aws:us-east-1", "cloud")])
def test_a_location_where_the_project_name_goes_is_refused(given, kind):
    with pytest.raises(ConfigError) as info:
        EmissionsCallback(given)
    assert f"EmissionsCallback({kind}={given!r})" in str(info.value)
    assert f"project_name={given!r}" in str(info.value)


def test_the_same_name_by_keyword_is_the_project_name():
    callback = EmissionsCallback(project_name="FR", country="DE", output_file=None)
    assert callback.tracker.settings.project_name == "FR"


def test_only_the_project_name_is_positional():
    assert EmissionsCallback("my-project", country="FR", output_file=None).tracker.settings.project_name == "my-project"
    with pytest.raises(TypeError, match="only project_name may be given by position"):
        EmissionsCallback("my-project", "a description")


def _run(code: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(code))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_") and k != "PYTHONWARNINGS"}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**clean, **env}, check=False)


def test_the_world_average_warning_points_at_the_users_line(tmp_path):
    result = _run("""
        import lightning.pytorch as pl
        from wattprint.integrations.lightning import EmissionsCallback
        import wattprint
        wattprint.Tracker(output_file=None)
        callback = EmissionsCallback(output_file=None)
    """, tmp_path, TZ="UTC")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "world average" in line]
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'user_script.py'}:5: UserWarning")
    assert lines[1].startswith(f"{tmp_path / 'user_script.py'}:6: UserWarning")


def test_a_location_guessed_from_the_time_zone_is_said_once(tmp_path):
    result = _run("""
        import wattprint
        for _ in range(3):
            tracker = wattprint.Tracker(output_file=None)
            tracker.start()
            record = tracker.stop()
        print(record.intensity_key, record.located_by)
    """, tmp_path, TZ="Europe/Berlin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["DE", "timezone:Europe/Berlin"]
    notices = [line for line in result.stderr.splitlines() if "time zone" in line]
    assert len(notices) == 1
    assert notices[0].startswith(f"{tmp_path / 'user_script.py'}:4: UserWarning")
    assert "Germany (DE, 344.14 gCO2e/kWh)" in notices[0] and "country='DE'" in notices[0]


def test_the_command_line_says_it_with_its_own_options(tmp_path):
    result = subprocess.run([sys.executable, "-m", "wattprint", "run", "--output-file", "e.csv", "--", sys.executable,
                             "-c", "pass"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**{k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")},
                                 "TZ": "Europe/Paris"}, check=False)
    assert result.returncode == 0, result.stderr
    assert "system time zone Europe/Paris" in result.stderr and "--country FR" in result.stderr
    assert "country=" not in result.stderr
