"""A process using Tracker outside any framework keeps its rows when told to stop."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, time, wattprint
    tracker = wattprint.Tracker(project_name="sig", carbon_intensity=100, output_file=sys.argv[1], gpu=False)
    tracker.start()
    tracker.start_training()
    tracker.new_epoch({"epoch": 0})
    print("ready", flush=True)
    while True:
        time.sleep(0.05)
    """
)


@pytest.mark.parametrize("sig, expected_rc", [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)])
def test_signal_flushes_rows_and_process_exits_as_the_signal_asks(tmp_path, sig, expected_rc):
    out = tmp_path / "e.csv"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
