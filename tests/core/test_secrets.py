"""A live provider's token never appears in anything a run produces."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TOKEN = "tok-VERY-SECRET-5f3a9c"

RUN = textwrap.dedent(
    """
    import logging, sys, warnings
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    warnings.simplefilter("always")
    import wattprint
    tracker = wattprint.Tracker(project_name="secret", country="DE", live="electricitymaps",
                                output_file="e.csv", jsonl_file="e.jsonl", measure_period=0.1, gpu=False)
    print(repr(tracker), repr(tracker.intensity_source), str(tracker.intensity_source))
    tracker.start()
    import time; time.sleep(0.5)
    record = tracker.stop()
    print(record)
    print(record.as_dict())
    """
)


@pytest.fixture
def service(request):
    status = request.param

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps({"zone": "DE", "carbonIntensity": 250.0, "datetime": "2026-01-01T00:00:00Z",
                               "emissionFactorType": "lifecycle"} if status == 200 else {"error": "nope"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("service", [200, 401, 500], indirect=True)
def test_token_never_appears_in_output_logs_or_files(service, tmp_path):
    env = {"ELECTRICITYMAPS_TOKEN": TOKEN, "WATTPRINT_ELECTRICITYMAPS_URL": service, "PATH": "/usr/bin:/bin"}
    import os

    env.update({k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "LANG")})
    proc = subprocess.run([sys.executable, "-c", RUN], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    produced = proc.stdout + proc.stderr + (tmp_path / "e.csv").read_text() + (tmp_path / "e.jsonl").read_text()
    assert "secret" in produced  # the run did write its rows
    if "[200]" in os.environ.get("PYTEST_CURRENT_TEST", ""):
        assert "live:electricitymaps" in (tmp_path / "e.csv").read_text()  # the live reading was used
    assert TOKEN not in produced
    assert TOKEN[4:16] not in produced  # nor a recognisable part of it
