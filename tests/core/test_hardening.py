"""Faults the CSV output and the Tracker must survive (concurrent writers, kill -9, leaks, umask)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wattprint
from wattprint.core.csvformat import COLUMNS
from wattprint.core.sensors.base import PowerSampledSensor
from wattprint.testing import FakeClock

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from wattprint.core.record import EnergyRecord
    from wattprint.core.sinks import CsvSink
    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sink = CsvSink(path)
    for i in range(n):
        sink.write(EnergyRecord(window="epoch", index=i, start_time=datetime.now(timezone.utc), duration_s=1.0,
                                energy_kwh_by_domain={"cpu": 1e-6}, method_by_domain={"cpu": "estimated"},
                                co2_kg=1e-7, intensity_g_per_kwh=100.0, pue=1.0, run_id=who,
                                experiment_description="x" * 200))
        print(i, flush=True)
    """
)


def test_eight_processes_appending_500_rows_each(tmp_path):
    path = tmp_path / "shared.csv"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{k}", "500"], stdout=subprocess.DEVNULL)
        for k in range(8)
    ]
    assert all(p.wait(timeout=240) == 0 for p in procs)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(COLUMNS)
    body = rows[1:]
    assert len(body) == 4000
    assert sum(1 for r in body if r == list(COLUMNS)) == 0  # one header only
    assert all(len(r) == len(COLUMNS) for r in body)
    for k in range(8):  # every writer's rows are all there, in its own order
        assert [int(r[3]) for r in body if r[0] == f"w{k}"] == list(range(500))


def test_kill_9_during_heavy_writing_leaves_only_whole_rows(tmp_path):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "killed.csv"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "k", "100000"], stdout=subprocess.PIPE, text=True)
    reported = []
    for line in proc.stdout:
        reported.append(int(line))
        if len(reported) >= 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    indices = [int(r["epoch"]) for r in rows]
    assert set(reported) <= set(indices)  # every row reported written is there
    assert indices == list(range(len(indices)))  # and nothing half-written
    assert len(pd.read_csv(path)) == len(rows)


def test_no_thread_or_file_left_open_after_stop(tmp_path):
    path = tmp_path / "e.csv"
    fds_before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    threads_before = set(threading.enumerate())
    tracker = wattprint.Tracker(carbon_intensity=100, output_file=path, measure_period=0.1)
    tracker.start()
    assert any(t.name == "wattprint-sampler" for t in threading.enumerate())  # estimates need it here
    with tracker.window("epoch"):
        sum(range(100_000))
    tracker.stop()
    assert set(threading.enumerate()) <= threads_before
    if fds_before is not None:
        leaked = [os.readlink(f"/proc/self/fd/{fd}") for fd in set(os.listdir("/proc/self/fd")) - fds_before
                  if os.path.exists(f"/proc/self/fd/{fd}")]
        assert not [p for p in leaked if "e.csv" in p or "powercap" in p or "/proc/" in p], leaked


def test_files_are_created_with_the_users_umask(tmp_path):
    path = tmp_path / "umask.csv"
    code = (
        "import os, wattprint\n"
        "os.umask(0o077)\n"
        f"t = wattprint.Tracker(carbon_intensity=1, output_file={str(path)!r}, gpu=False)\n"
        "t.start(); t.stop()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (path.stat().st_mode & 0o777) == 0o600


class _Trace(PowerSampledSensor):
    domain = "gpu"

    def __init__(self, clock, powers):
        self._powers = iter(powers)
        super().__init__(clock)

    def power_w(self):
        return next(self._powers)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1000), st.floats(0.001, 100)), min_size=1, max_size=40), st.floats(0, 1000))
def test_trapezoid_integration_matches_the_exact_area(steps, p0):
    clock = FakeClock()
    sensor = _Trace(clock, [p0] + [p for p, _ in steps])
    expected, last = 0.0, p0
    for p, dt in steps:
        clock.advance(dt)
        expected += 0.5 * (p + last) * dt
        last = p
        total = sensor.energy_j()
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-9)
