"""A process using Tracker outside any framework keeps its rows when told to stop."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

SCRIPT = textwrap.dedent(
    """
    import signal, sys, time, wattprint
    # Python's own SIGINT handler, as in a process started from a terminal, even where this
    # test runs with SIGINT ignored (a background job, nohup), which the child would inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    tracker = wattprint.Tracker(project_name="sig", carbon_intensity=100, output_file=sys.argv[1], gpu=False)
    tracker.start()
    tracker.start_training()
    tracker.new_epoch({"epoch": 0})
    print("ready", flush=True)
    while True:
        time.sleep(0.05)
    """
)


@contextmanager
def _child(argv: list[str]) -> Iterator[subprocess.Popen]:
    """A child process that is killed if the test fails before it ends: none is left behind."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("sig, expected_rc", [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)])
def test_signal_flushes_rows_and_process_exits_as_the_signal_asks(tmp_path, sig, expected_rc):
    out = tmp_path / "e.csv"
    with _child([sys.executable, "-c", SCRIPT, str(out)]) as proc:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)
        proc.wait(timeout=30)
        stderr = proc.stderr.read()
    # Both end as killed by the signal (Python re-raises SIGINT after an unhandled KeyboardInterrupt).
    assert proc.returncode == expected_rc, stderr
    rows = list(csv.DictReader(open(out, newline="")))
    assert [r["window"] for r in rows] == ["epoch", "epoch", "run"]
    assert rows[0]["interrupted"] == "false"
    assert rows[1]["interrupted"] == "true" and rows[2]["interrupted"] == "true"


# A SIGTERM landing inside the tracker's own work: the handler runs on the main thread in the
# middle of it, while the interrupted code holds a lock that stopping needs.
MID_WORK = textwrap.dedent(
    """
    import os, signal, sys, wattprint
    from wattprint.testing import FakeClock, FakeSensor

    class SignalMidRead(FakeSensor):
        armed = False

        def energy_j(self):
            if self.armed:  # delivered while the meter's lock is held
                self.armed = False
                os.kill(os.getpid(), signal.SIGTERM)
            return super().energy_j()

    from wattprint.core import safefile
    real_write_all = safefile.write_all

    def write_then_signal(fd, data):  # the CSV sink holds the file's lock around its write
        if os.environ.get("ARM_WRITE") == "1":
            os.environ["ARM_WRITE"] = "0"
            os.kill(os.getpid(), signal.SIGTERM)
        return real_write_all(fd, data)

    safefile.write_all = write_then_signal
    clock = FakeClock()
    sensor = SignalMidRead("cpu", power_w=10, clock=clock)
    tracker = wattprint.Tracker(project_name="sig", carbon_intensity=100, output_file=sys.argv[1], sensors=[sensor], clock=clock)
    tracker.start()
    epoch = tracker.begin_window("epoch", index=0)
    clock.advance(1)
    if sys.argv[2] == "read":
        sensor.armed = True
    else:
        os.environ["ARM_WRITE"] = "1"
    tracker.end_window(epoch)
    print("carried on after SIGTERM", flush=True)
    """
)


@pytest.mark.parametrize("where", ["read", "csv"])
def test_sigterm_inside_a_sensor_read_or_a_csv_append_still_flushes_and_exits(tmp_path, where):
    out = tmp_path / "e.csv"
    proc = subprocess.run([sys.executable, "-c", MID_WORK, str(out), where], capture_output=True, text=True, timeout=30)
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert "carried on" not in proc.stdout
    rows = list(csv.DictReader(open(out, newline="")))
    assert [r["window"] for r in rows] == ["epoch", "run"]
    assert rows[-1]["interrupted"] == "true"
