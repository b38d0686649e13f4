"""What ``import wattprint`` and a tracker's start load: no logging, no typing (a fresh interpreter each)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import textwrap

import pytest

# Loaded by neither the import nor a start: they load on first use (a message logged, a Protocol
# checked with isinstance, a country given by name in another script), so a run that needs none
# of them never pays for them.
NOT_LOADED = ("logging", "typing", "unicodedata")


def _run(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("start", [False, True], ids=["import", "import-and-start"])
def test_import_and_start_load_no_logging_typing_or_unicodedata(tmp_path, start):
    proc = _run(
        f"""
        import sys
        import wattprint
        if {start}:
            tracker = wattprint.Tracker(country="FR", output_file="emissions.csv")
            tracker.start()
            tracker.stop()
        loaded = [m for m in {NOT_LOADED!r} if m in sys.modules]
        assert not loaded, loaded
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr


# Loaded by neither the import nor a tracker's start and stop, even appending to an existing
# file: /proc and the cgroup files are read with os and open(), the tables and a CSV header with
# wattprint's own reader, URLs parsed only when one is given.
NOT_ON_START = ("pathlib", "csv", "urllib.parse")


def test_a_tracker_loads_no_pathlib_csv_or_urllib(tmp_path):
    # Without site's start-up (-S): an editable install's finder imports pathlib at start-up,
    # which a wheel install does not. wattprint comes from where this process imports it,
    # psutil and the rest from site-packages, put on the path as plain directories.
    import wattprint

    path = [os.path.dirname(os.path.dirname(wattprint.__file__)), *site.getsitepackages()]
    code = f"""
        import sys
        import wattprint
        assert not [m for m in {NOT_ON_START!r} if m in sys.modules], "loaded before wattprint"
        for _ in range(2):  # a new file, then appending to it (its header is read)
            tracker = wattprint.Tracker(country="FR", output_file="emissions.csv")
            tracker.start()
            tracker.stop()
        assert open("emissions.csv").read().count("\\n") == 3
        loaded = [m for m in {NOT_ON_START!r} if m in sys.modules]
        assert not loaded, loaded
        """
    proc = subprocess.run([sys.executable, "-S", "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(path)))
    assert proc.returncode == 0, proc.stderr


def test_the_interfaces_are_still_there_on_first_use(tmp_path):
    proc = _run(
        """
        import wattprint.core.carbon as carbon
        from wattprint.core.carbon.intensity import IntensitySource, StaticIntensity, WORLD_AVERAGE
        assert carbon.IntensitySource is IntensitySource
        assert isinstance(StaticIntensity(WORLD_AVERAGE), IntensitySource)
        assert not isinstance(object(), IntensitySource)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
