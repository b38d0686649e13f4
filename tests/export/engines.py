"""Prometheus and the Pushgateway, the real Debian binaries, started on free loopback ports.

Each engine runs in its own session (process group) with its data in a temporary directory.
It is killed by the fixture's finalizer, and, should pytest itself be killed first, by the
kernel: the child asks for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), so no engine
outlives the test run however it was started or stopped.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

PROMETHEUS = "prometheus"
PUSHGATEWAY = "prometheus-pushgateway"
_PR_SET_PDEATHSIG = 1


def binary(name: str) -> str | None:
    """The engine's path: on PATH, or where the Debian package installs it."""
    return shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class Engine:
    """One engine process listening on ``url``; :meth:`stop` kills its whole process group."""

    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 -- open while the engine runs, closed by stop()
        # preexec_fn only calls prctl, which is safe between fork and exec even with threads about.
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=_die_with_parent)  # noqa: PLW1509
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.proc.args[0]} exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.proc.args[0]} not ready after {timeout_s} s: {self.log()[-2000:]}")

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return r.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()


def pushgateway(tmp: Path) -> Engine:
    port = free_port()
    # Debian's build persists to /var/lib/prometheus by default: every test's gateway starts empty and keeps to memory.
    return Engine([binary(PUSHGATEWAY), f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="], port,
                  tmp / "pushgateway.log")


def prometheus(tmp: Path, *, scrape: list[str] = (), pushgateway: str | None = None, interval: str = "250ms") -> Prometheus:
    """Prometheus scraping the ``scrape`` targets (host:port) as job ``wattprint``, and a
    Pushgateway's (``honor_labels``, so the pushed job and instance stay)."""
    jobs = []
    if scrape:
        jobs.append({"job_name": "wattprint", "static_configs": [{"targets": list(scrape)}]})
    if pushgateway:
        jobs.append({"job_name": "pushgateway", "honor_labels": True, "static_configs": [{"targets": [pushgateway]}]})
    config = {"global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": "1s"},
              "scrape_configs": jobs}
    (tmp / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    argv = [binary(PROMETHEUS), f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"]
    return Prometheus(argv, port, tmp / "prometheus.log")


class Prometheus(Engine):
    def query(self, promql: str) -> list[dict]:
        """The instant vector of ``promql`` now: ``[{"metric": {...}, "value": float}]``."""
        reply = json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
        assert reply["status"] == "success", reply
        return [{"metric": r["metric"], "value": float(r["value"][1])} for r in reply["data"]["result"]]

    def wait_for(self, promql: str, predicate, timeout_s: float = 30.0) -> list[dict]:
        """Query until ``predicate(result)`` holds; the last result otherwise (the test's assert says why)."""
        deadline = time.monotonic() + timeout_s
        result: list[dict] = []
        while time.monotonic() < deadline:
            result = self.query(promql)
            if predicate(result):
                return result
            time.sleep(0.2)
        return result
