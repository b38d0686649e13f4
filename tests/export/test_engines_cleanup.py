"""An engine the tests start never outlives the process that started it, even one killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.export import engines


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie has ended already
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_pushgateway_dies_with_a_test_process_killed_by_sigkill(tmp_path):
    if engines.binary(engines.PUSHGATEWAY) is None:
        pytest.skip(f"{engines.PUSHGATEWAY} is not installed")
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.getcwd()!r})
        sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))!r})
        from pathlib import Path
        from tests.export import engines
        gateway = engines.pushgateway(Path({str(tmp_path)!r}))
        print(gateway.proc.pid, flush=True)
        time.sleep(300)
    """)
    test_process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        pid = int(test_process.stdout.readline())
        assert _alive(pid)
        test_process.kill()  # as an impatient user or a CI timeout would: no finalizer runs
        test_process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the Pushgateway outlived the process that started it"
    finally:
        if test_process.poll() is None:
            os.killpg(test_process.pid, signal.SIGKILL)
