"""The ``wattprint`` command itself: one ``--help`` for every subcommand, ``--version``, bad usage."""

from __future__ import annotations

import os
import re

import wattprint

from .helpers import wattprint as run_cli


def test_help_lists_every_subcommand(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    listed = set(re.findall(r"^    (\w+)", result.stdout, flags=re.M))
    assert {"info", "intensity", "run", "report"} <= listed


def test_version(tmp_path):
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"wattprint {wattprint.__version__}"


def test_unknown_subcommand_and_no_subcommand_exit_2(tmp_path):
    bad = run_cli("frobnicate", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("wattprint: error: argument COMMAND: invalid choice")
    assert "Traceback" not in bad.stderr
    none = run_cli(cwd=tmp_path)
    assert none.returncode == 2 and "usage: wattprint" in none.stderr


def test_each_subcommand_has_its_own_help(tmp_path):
    for name in ("run", "report"):
        result = run_cli(name, "--help", cwd=tmp_path)
        assert result.returncode == 0
        assert result.stdout.startswith(f"usage: wattprint {name}")


def test_a_closed_pipe_is_not_a_traceback():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "wattprint", "intensity", "--list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in stderr


def test_info_shows_domains_methods_and_location(tmp_path):
    import json

    text = run_cli("info", "--country", "FR", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "Measured domains:" in text.stdout and "France (FR): 44.18 gCO2e/kWh" in text.stdout
    data = json.loads(run_cli("info", "--json", "--country", "FR", cwd=tmp_path).stdout)
    assert {s["domain"] for s in data["sensors"]} >= {"cpu", "ram"}  # this machine: estimates
    assert all(s["method"] in ("counter", "sampled", "estimated") for s in data["sensors"])
    assert data["location"]["key"] == "FR" and data["location"]["located_by"] == "argument"


def test_info_with_an_unknown_location_still_shows_the_rest_and_exits_2(tmp_path):
    result = run_cli("info", "--country", "Atlantis", cwd=tmp_path)
    assert result.returncode == 2
    assert "Measured domains:" in result.stdout
    assert "unknown country key 'Atlantis'" in result.stdout and "--carbon-intensity" in result.stdout


def _imported_by(*argv: str, cwd) -> set[str]:
    """The modules a `wattprint` command imports, from `python -X importtime`."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "wattprint", *argv], cwd=cwd,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


def test_report_and_intensity_load_neither_the_tracker_nor_psutil_nor_the_sensors(tmp_path):
    from .helpers import write_tracker_csv

    write_tracker_csv(tmp_path / "e.csv", epochs=2)
    for argv in (("report", "e.csv"), ("report", "e.csv", "--json"), ("intensity", "FR"), ("intensity", "--list")):
        modules = _imported_by(*argv, cwd=tmp_path)
        assert "wattprint.report" in modules or "wattprint.commands.intensity" in modules
        heavy = {m for m in modules if m == "psutil" or m.startswith(("psutil.", "wattprint.core.sensors"))
                 or m in ("wattprint.core.tracker", "wattprint.core.discovery", "wattprint.core.meter")}
        assert heavy == set(), argv


def test_a_subcommand_that_cannot_be_imported_is_an_error_not_a_missing_command(monkeypatch):
    import sys

    import pytest

    from wattprint import cli

    monkeypatch.setitem(sys.modules, "wattprint.commands.report", None)
    with pytest.raises(ImportError):
        cli.main(["intensity", "FR"])


def test_info_speaks_in_words_not_raw_fields(tmp_path):
    text = run_cli("info", "--country", "FR", cwd=tmp_path).stdout
    cpu = text.split("CPU:\n")[1].split("\n\n")[0]
    assert "logical CPUs visible to this process" in cpu and "W per logical CPU" in cpu
    for raw in ("row: ", "visible_cpus", "match_level", "quota_cpus", "model_raw", ": None", ": True"):
        assert raw not in text
    assert "location found by: a location given on the command line" in text
    zoned = run_cli("info", cwd=tmp_path, env={**os.environ, "TZ": "Europe/Paris",
                                               "WATTPRINT_COUNTRY": "", "WATTPRINT_REGION": "", "WATTPRINT_CLOUD": ""})
    assert "location found by: the system time zone (Europe/Paris); --country" in zoned.stdout


def test_info_describes_a_cpu_found_in_the_tdp_table():
    from wattprint.commands.info import _cpu_lines

    lines = _cpu_lines({"model_raw": "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "vendor": "Intel", "model": "Xeon Gold 6248",
                        "visible_cpus": 4.0, "logical_cpus": 80, "row": {"vendor": "Intel", "model": "Xeon Gold 6248",
                        "tdp_w": 150.0, "cores": 20, "threads": 40, "source": "x"}, "match_level": "exact",
                        "w_per_thread": 3.75, "basis": "TDP table", "hypervisor": False, "quota_cpus": 2.5})
    assert lines == [
        "Intel Xeon Gold 6248 (reported as 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz')",
        "4 of 80 logical CPUs visible to this process (cgroup CPU quota: 2.5)",
        "TDP table: Intel Xeon Gold 6248, 150 W per socket, 40 threads (exact match)",
        "estimate: 3.75 W per logical CPU at full load (TDP table)",
    ]
