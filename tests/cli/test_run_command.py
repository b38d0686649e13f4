"""``wattprint run`` driven as a user would: a subprocess running a short child command."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from wattprint.core.carbon.pue import PUE_PRESETS
from wattprint.report import load_file

from .helpers import wattprint

FAST = ("--country", "FR", "--measure-period", "0.1")
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and terminals")


def _records(path):
    """The records of a CSV, as ``wattprint report`` reads them back."""
    return [row.record for row in load_file(path)]


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_exit_status_passes_through_and_the_row_is_written(tmp_path):
    child = _py("import sys; print('child out'); sys.exit(3)")
    result = wattprint("run", *FAST, "--project-name", "cli-test", "--", *child, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stdout == "child out\n"  # the child's stdout is untouched
    (row,) = _records(tmp_path / "wattprint.csv")
    assert row.window == "run" and not row.interrupted
    assert row.project_name == "cli-test"
    assert row.experiment_description.startswith(sys.executable) and "sys.exit(3)" in row.experiment_description
    assert row.intensity_key == "FR"
    assert row.energy_kwh > 0 and row.co2_kg > 0
    assert set(row.method_by_domain) >= {"cpu", "ram"}
    # The summary: duration, energy per domain with its method, CO2e, intensity with its source.
    err = result.stderr
    assert "exited with status 3" in err
    assert "energy:" in err and "cpu " in err and "estimated" in err
    assert "CO2e:" in err and "(PUE 1)" in err
    assert "intensity: 44.18 gCO2e/kWh, France (FR); Ember" in err
    assert "row appended to wattprint.csv" in err
    assert "\r" not in err  # no live line on a pipe


def test_zero_status_and_options_reach_the_tracker(tmp_path):
    out = tmp_path / "sub" / "mine.csv"
    out.parent.mkdir()
    result = wattprint("run", "--cloud", "aws:eu-west-3", "--pue", "1.5", "--output-file", str(out),
                       "--experiment-description", "noop", "--measure-period", "0.2", "--", *_py("pass"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "wattprint.csv").exists()
    (row,) = _records(out)
    assert (row.experiment_description, row.pue, row.intensity_key) == ("noop", 1.5, "aws:eu-west-3")
    assert row.co2_kg == pytest.approx(row.energy_kwh * 1.5 * row.intensity_g_per_kwh / 1000)


@posix_only
def test_the_summary_says_where_the_row_went_only_if_it_got_there(tmp_path):
    # The tracker reports which outputs took the record: here the command removes the output's
    # directory, so the CSV cannot be written and the summary must not claim it was.
    (tmp_path / "out").mkdir()
    removes = _py("import shutil; shutil.rmtree('out')")
    result = wattprint("run", *FAST, "--output-file", "out/e.csv", "--", *removes, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "could not write to" in result.stderr
    assert "no row was written" in result.stderr and "row appended" not in result.stderr
    kept = wattprint("run", *FAST, "--output-file", "kept.csv", "--", *_py("pass"), cwd=tmp_path)
    assert "row appended to kept.csv" in kept.stderr


def test_child_killed_by_a_signal_gives_128_plus_n_and_an_interrupted_row(tmp_path):
    child = _py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    result = wattprint("run", *FAST, "--", *child, cwd=tmp_path)
    assert result.returncode == 128 + signal.SIGKILL, result.stderr
    (row,) = _records(tmp_path / "wattprint.csv")
    assert row.interrupted


def _start(tmp_path, child_code: str) -> subprocess.Popen:
    """``wattprint run`` of a child that prints 'ready' once its handlers are in place."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wattprint", "run", *FAST, "--", *_py(child_code)],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    assert ready and proc.stdout.readline().strip() == "ready", proc.stderr.read() if not ready else ""
    return proc


CHILD_WAITING_FOR_SIGNALS = """
    import signal, sys, time
    def stop(signum, frame):
        open("got-signal", "w").write(str(signum))
        sys.exit(5)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    time.sleep(30)
    sys.exit(1)
"""


@posix_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_wattprint_reaches_the_child_and_the_row_is_marked_interrupted(tmp_path, sig):
    proc = _start(tmp_path, CHILD_WAITING_FOR_SIGNALS)
    started = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert (tmp_path / "got-signal").read_text() == str(int(sig)), err
    assert proc.returncode == 5, err  # the child's own status, even though it was asked to stop
    (row,) = _records(tmp_path / "wattprint.csv")
    assert row.interrupted
    assert "(interrupted)" in err and "Traceback" not in err


@posix_only
def test_sigterm_stops_a_child_that_does_not_handle_it(tmp_path):
    proc = _start(tmp_path, "import time; print('ready', flush=True); time.sleep(30)")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    (row,) = _records(tmp_path / "wattprint.csv")
    assert row.interrupted and row.duration_s < 10


def test_missing_command_is_a_usage_error(tmp_path):
    for args in (["run"], ["run", "--"], ["run", "--pue", "1.2", "--"]):
        result = wattprint(*args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert "usage: wattprint run" in result.stderr and "no COMMAND" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "wattprint.csv").exists()


def test_command_not_found_exits_127_without_a_row(tmp_path):
    result = wattprint("run", *FAST, "--", "wattprint-no-such-command-xyz", "--flag", cwd=tmp_path)
    assert result.returncode == 127
    assert result.stderr.strip().splitlines()[-1] == "wattprint run: wattprint-no-such-command-xyz: command not found"
    assert not (tmp_path / "wattprint.csv").exists()


@posix_only
def test_pue_preset_and_a_fixed_intensity(tmp_path):
    result = wattprint("run", "--carbon-intensity", "250", "--pue", "aws", "--measure-period", "0.2", "--",
                       *_py("pass"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = _records(tmp_path / "wattprint.csv")
    assert row.intensity_g_per_kwh == pytest.approx(250.0) and row.pue == PUE_PRESETS["aws"]
    assert row.co2_kg == pytest.approx(row.energy_kwh * PUE_PRESETS["aws"] * 250 / 1000)


def test_inherited_rank_variables_do_not_stop_the_host_being_measured(tmp_path):
    # One process measuring one command: a LOCAL_RANK left in the environment by a launcher
    # must not make it a "non-zero local rank" that measures no CPU or RAM.
    env = {**os.environ, "LOCAL_RANK": "1", "RANK": "1", "WORLD_SIZE": "2"}
    result = wattprint("run", *FAST, "--", *_py("pass"), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    (row,) = _records(tmp_path / "wattprint.csv")
    assert row.energy_kwh_by_domain.get("cpu", 0) > 0 and row.energy_kwh_by_domain.get("ram", 0) > 0


@posix_only
def test_a_script_without_a_shebang_runs_under_sh(tmp_path):
    script = tmp_path / "plain.sh"
    script.write_text("echo from-sh\nexit 4\n")
    script.chmod(0o755)
    result = wattprint("run", *FAST, "--", str(script), cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert result.stdout == "from-sh\n"
    # Found on PATH, as a shell finds it.
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    result = wattprint("run", *FAST, "--", "plain.sh", cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout) == (4, "from-sh\n"), result.stderr


@posix_only
def test_a_binary_the_kernel_cannot_run_is_not_handed_to_sh(tmp_path):
    # Not a script: NUL bytes, as in a binary for another CPU. The shell's rule: exit 126.
    binary = tmp_path / "foreign"
    binary.write_bytes(b"\x00\x01\x02 not for this machine \x00" * 8)
    binary.chmod(0o755)
    result = wattprint("run", *FAST, "--", str(binary), cwd=tmp_path)
    assert result.returncode == 126, result.stderr
    assert "Exec format error" in result.stderr
    assert not (tmp_path / "wattprint.csv").exists()  # nothing ran: no row


def test_command_that_cannot_be_executed_exits_126(tmp_path):
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    result = wattprint("run", *FAST, "--", str(script), cwd=tmp_path)
    assert result.returncode == 126
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "options, message",
    [
        (["--pue", "0.5"], "pue must be >= 1.0"),
        (["--country", "Atlantis"], "unknown country key 'Atlantis'"),
        (["--measure-period", "-1"], "--measure-period must be > 0"),
        (["--pue", "abc"], "unknown PUE preset 'abc'"),
        (["--region", "FR"], "'FR' is a country key; pass it as --country FR"),
        (["--country", "Frnace"], "or pass --carbon-intensity (gCO2e/kWh)"),
        (["--scope", "galaxy"], "invalid choice"),
    ],
)
def test_bad_options_exit_2_with_one_line_before_running_anything(tmp_path, options, message):
    result = wattprint("run", *options, "--", *_py("open('ran', 'w')"), cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "wattprint.csv").exists()


BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.8: pass\n"
IDLE = "import time; time.sleep(0.8)"


def _cpu_kwh(tmp_path, code: str, name: str) -> float:
    out = tmp_path / f"{name}.csv"
    result = wattprint("run", *FAST, "--scope", "process", "--output-file", str(out), "--", *_py(code), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = _records(out)
    return row.energy_kwh_by_domain["cpu"]


def test_process_scope_counts_the_child_process_tree(tmp_path):
    # wattprint itself idles while the child runs: if only wattprint's own process were
    # measured, a child burning 0.8 s of CPU would cost no more than one sleeping 0.8 s.
    busy = _cpu_kwh(tmp_path, BUSY, "busy")
    idle = _cpu_kwh(tmp_path, IDLE, "idle")
    assert busy > 0
    assert busy > 3 * idle, (busy, idle)


def _on_a_terminal(tmp_path, *options: str) -> str:
    """stderr of ``wattprint run OPTIONS -- sleep 2.3`` written to a pseudo-terminal."""
    import pty

    try:
        master, slave = pty.openpty()
    except OSError as exc:  # containers without /dev/ptmx
        pytest.skip(f"no pseudo-terminal available: {exc}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wattprint", "run", *FAST, *options, "--", *_py("import time; time.sleep(2.3)")],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=30) == 0
    return b"".join(chunks).decode()


_LIVE = re.compile(r"wattprint run: +[0-9.]+ W +[0-9.e+-]+ m?k?Wh +[0-9.e+-]+ m?k?g CO2e")


@posix_only
def test_live_line_on_a_terminal_when_asked(tmp_path):
    text = _on_a_terminal(tmp_path, "--live")
    live = [part for part in text.split("\r") if _LIVE.search(part)]
    assert len(live) >= 2, text  # refreshed about once a second
    assert "exited with status 0" in text


@posix_only
def test_no_live_line_by_default_so_the_commands_output_stays_clean(tmp_path):
    text = _on_a_terminal(tmp_path)
    assert not _LIVE.search(text) and "\r\x1b[K" not in text, text
    assert "exited with status 0" in text


def test_live_with_stderr_not_a_terminal_says_so_and_prints_plain_lines(tmp_path):
    from wattprint.commands.run import PLAIN_PERIOD_S

    child = _py(f"import time; time.sleep({PLAIN_PERIOD_S} + 1.5)")
    result = wattprint("run", *FAST, "--live", "--", *child, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "--live: stderr is not a terminal" in err
    assert "\r" not in err and "\x1b" not in err  # nothing meant for a terminal in a log file
    lines = [line for line in err.splitlines() if re.search(r" W \d.* CO2e \d+ s$", line)]
    assert len(lines) == 1, err
