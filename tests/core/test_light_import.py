"""What ``import wattprint`` and a tracker's start load: no logging, no typing (a fresh interpreter each)."""

from __future__ import annotations

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
