"""``wattprint run``: the command in its own process group, signalled as a group; outputs that are no files."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")

JOB = """#!/bin/sh
sleep 120 &
echo $! > grandchild.pid
echo ready
wait
"""


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def test_sigterm_reaches_the_commands_own_children(tmp_path):
    (tmp_path / "job.sh").write_text(JOB)
    proc = subprocess.Popen([sys.executable, "-m", "wattprint", "run", "--carbon-intensity", "100", "--", "sh", "job.sh"],
                            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    grandchild = None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready and proc.stdout.readline().strip() == "ready"
        grandchild = int((tmp_path / "grandchild.pid").read_text())
        assert os.getpgid(grandchild) != os.getpgid(proc.pid)  # the command's group, not wattprint's
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM, err
        deadline = time.monotonic() + 10
        while alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(grandchild), "the script's child kept running after SIGTERM"
        assert "(interrupted)" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if grandchild is not None and alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)
        proc.stdout.close()
        proc.stderr.close()


def test_a_fifo_as_output_file_is_refused_before_the_command_starts(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    result = subprocess.run([sys.executable, "-m", "wattprint", "run", "--carbon-intensity", "100",
                             "--output-file", "pipe.csv", "--", "touch", "ran"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "FIFO" in result.stderr
    assert not (tmp_path / "ran").exists()
