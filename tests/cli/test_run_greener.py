"""``wattprint run --wait-until-greener``: planned start, countdown, Ctrl-C while waiting, no forecast.

The waiting runs on an injected clock (``greener.CLOCK``/``SLEEP``): no test waits for real.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.carbon.service import serving, uk_periods
from tests.cli.helpers import write_tracker_csv
from wattprint import cli
from wattprint.commands import greener
from wattprint.report import load_file
from wattprint.testing import FakeClock

T0 = 1_768_899_600.0  # 2026-01-20 09:00 UTC, a half-hour edge
NOW = T0 + 600.0  # 09:10


@pytest.fixture
def neso(monkeypatch):
    """300 gCO2e/kWh until 10:00, 50 until 11:00, then 300 again."""
    with serving() as svc:
        svc.set("/intensity/*", {"data": uk_periods(T0, [300, 300, 50, 50] + [300] * 92)})
        for var in [v for v in os.environ if v.startswith(("WATTPRINT_", "ELECTRICITYMAPS", "WATTTIME"))]:
            monkeypatch.delenv(var)
        monkeypatch.setenv("WATTPRINT_UK_CARBON_INTENSITY_URL", svc.url)
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
        yield svc
    monkeypatch.undo()
    time.tzset()


class Waiting:
    """The injected clock: every sleep moves it on; ``interrupt_at`` raises Ctrl-C at that sleep."""

    def __init__(self, monkeypatch, interrupt_at: int | None = None) -> None:
        self.clock = FakeClock(wall_start=NOW)
        self.sleeps: list[float] = []
        self.interrupt_at = interrupt_at
        monkeypatch.setattr(greener, "CLOCK", self.clock)
        monkeypatch.setattr(greener, "SLEEP", self.sleep)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.interrupt_at is not None and len(self.sleeps) == self.interrupt_at:
            raise KeyboardInterrupt
        self.clock.advance(seconds)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def marker_command(path) -> list[str]:
    return [sys.executable, "-c", f"open({str(path)!r}, 'w').write('ran')"]


def run_cli(tmp_path, *options: str, command: list[str]) -> int:
    return cli.main(["run", "--country", "GB", "--measure-period", "0.1", "--output-file",
                     str(tmp_path / "wattprint.csv"), "--wait-until-greener", *options, "--", *command])


def test_waits_for_the_planned_start_then_runs_and_measures(neso, tmp_path, monkeypatch, capsys):
    waiting = Waiting(monkeypatch)
    status = run_cli(tmp_path, "--deadline", "3h", "--expected-duration", "1h", command=marker_command(tmp_path / "ran"))
    err = capsys.readouterr().err
    assert status == 0, err
    assert sum(waiting.sleeps) == pytest.approx(50 * 60)  # 09:10 -> 10:00
    assert waiting.clock.time() == T0 + 3600
    assert (tmp_path / "ran").read_text() == "ran"
    (row,) = [r.record for r in load_file(tmp_path / "wattprint.csv")]
    assert row.window == "run" and not row.interrupted
    assert "start at 2026-01-20 10:00 (in 50 min)" in err
    assert "waiting until 2026-01-20 10:00 to start" in err  # a pipe: one line, no countdown
    assert "\r" not in err and "exited with status 0" in err


def test_countdown_is_one_line_rewritten_on_a_terminal(neso, tmp_path, monkeypatch):
    waiting = Waiting(monkeypatch)
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    status = run_cli(tmp_path, "--deadline", "3h", "--expected-duration", "1h", command=marker_command(tmp_path / "ran"))
    assert status == 0
    text = term.getvalue()
    assert all(s == 1.0 for s in waiting.sleeps) and len(waiting.sleeps) == 3000
    ticks = [part for part in text.split("\r") if part.startswith("wattprint run: starting in ")]
    assert len(ticks) == 3000
    # Started now, the hour would be 50 min at 300 and 10 min at 50: 258.3 gCO2e/kWh.
    assert ticks[0].startswith("wattprint run: starting in 0:50:00 at 2026-01-20 10:00 (50 gCO2e/kWh then, 258.3 now)")
    assert ticks[-1].startswith("wattprint run: starting in 0:00:01 ")
    assert all(t.endswith("\x1b[K") for t in ticks)  # each rewrites the line, never scrolls
    assert "\n" not in "".join(ticks)


def test_ctrl_c_while_waiting_runs_nothing_and_writes_no_row(neso, tmp_path, monkeypatch, capsys):
    Waiting(monkeypatch, interrupt_at=3)
    status = run_cli(tmp_path, "--deadline", "3h", "--expected-duration", "1h", command=marker_command(tmp_path / "ran"))
    err = capsys.readouterr().err
    assert status == 130
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "wattprint.csv").exists() or load_file(tmp_path / "wattprint.csv") == []
    assert "interrupted while waiting; the command was not run and no row was written" in err
    assert "Traceback" not in err


def test_no_forecast_runs_now_and_says_why(neso, tmp_path, monkeypatch, capsys):
    neso.set("/intensity/*", {"error": "down"}, status=503)
    waiting = Waiting(monkeypatch)
    status = run_cli(tmp_path, "--deadline", "3h", command=marker_command(tmp_path / "ran"))
    err = capsys.readouterr().err
    assert status == 0 and waiting.sleeps == []
    assert "running now: no forecast (uk forecast unavailable: " in err and "HTTP 503" in err
    assert (tmp_path / "ran").exists()
    assert len(load_file(tmp_path / "wattprint.csv")) == 1


def test_now_already_greenest_runs_at_once(neso, tmp_path, monkeypatch, capsys):
    neso.set("/intensity/*", {"data": uk_periods(T0, [10, 10] + [300] * 94)})
    waiting = Waiting(monkeypatch)
    assert run_cli(tmp_path, "--deadline", "3h", "--expected-duration", "30m", command=marker_command(tmp_path / "ran")) == 0
    assert waiting.sleeps == []
    assert "now is the greenest start before the deadline" in capsys.readouterr().err


def test_the_last_run_of_the_same_command_sets_the_duration(neso, tmp_path, monkeypatch, capsys):
    write_tracker_csv(tmp_path / "wattprint.csv", project="wattprint", experiment="train.py", epochs=3)
    waiting = Waiting(monkeypatch)
    status = run_cli(tmp_path, "--experiment-description", "train.py", "--deadline", "3h",
                     command=marker_command(tmp_path / "ran"))
    err = capsys.readouterr().err
    assert status == 0, err
    assert "planning for the duration of its last run in" in err
    assert sum(waiting.sleeps) == pytest.approx(50 * 60)  # 190 s fit in the first clean half hour


@pytest.mark.parametrize("options, message", [
    (["--wait-until-greener"], "needs --deadline"),
    (["--deadline", "3h"], "only with --wait-until-greener"),
    (["--wait-until-greener", "--deadline", "1h", "--expected-duration", "2h"],
     "--deadline is 1 h away but the job takes 2 h"),
    (["--wait-until-greener", "--deadline", "3h", "--expected-duration", "soon"], "--expected-duration must be a duration"),
])
def test_bad_waiting_options(neso, tmp_path, monkeypatch, capsys, options, message):
    Waiting(monkeypatch)
    try:
        status = cli.main(["run", "--country", "GB", "--output-file", str(tmp_path / "e.csv"), *options,
                           "--", *marker_command(tmp_path / "ran")])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ran").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_real_sigint_while_waiting_exits_cleanly(tmp_path):
    """The whole program, a real SIGINT: wattprint stops waiting, runs nothing, writes nothing."""
    with serving() as svc:
        first = time.time() // 1800 * 1800
        svc.set("/intensity/*", {"data": uk_periods(first, [300, 300, 50, 50] + [300] * 92)})
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WATTPRINT_", "ELECTRICITYMAPS"))}
        env["WATTPRINT_UK_CARBON_INTENSITY_URL"] = svc.url
        proc = subprocess.Popen(
            [sys.executable, "-m", "wattprint", "run", "--country", "GB", "--wait-until-greener", "--deadline", "3h",
             "--expected-duration", "1h", "--", *marker_command(tmp_path / "ran")],
            cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        try:
            seen = []
            for line in proc.stderr:
                seen.append(line)
                if "waiting until" in line:
                    break
            proc.send_signal(signal.SIGINT)
            rest = proc.stderr.read()
            assert proc.wait(timeout=30) == 130, "".join(seen) + rest
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert "interrupted while waiting" in rest and "Traceback" not in rest
        assert not (tmp_path / "ran").exists() and not (tmp_path / "wattprint.csv").exists()


def test_ctrl_c_while_planning_is_as_clean(neso, tmp_path, monkeypatch, capsys):
    class Interrupted(FakeClock):
        def time(self) -> float:
            raise KeyboardInterrupt

    monkeypatch.setattr(greener, "CLOCK", Interrupted())
    status = run_cli(tmp_path, "--deadline", "3h", command=marker_command(tmp_path / "ran"))
    assert status == 130 and not (tmp_path / "ran").exists()
    assert "interrupted while waiting" in capsys.readouterr().err
