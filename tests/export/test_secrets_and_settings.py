"""Export options: checked at construction; credentials never shown in logs, errors, records or files."""

from __future__ import annotations

import base64
import logging
import pickle
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.core.helpers import fake_tracker
from wattprint import ConfigError, Settings

pytest.importorskip("prometheus_client")

SECRET = "pa55-w0rd-xyz"


class Gateway:
    """A loopback HTTP server standing in for a Pushgateway behind basic authentication."""

    def __init__(self, status: int) -> None:
        self.status, self.authorizations = status, []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gateway.authorizations.append(self.headers.get("Authorization"))
                self.send_response(gateway.status)
                self.end_headers()

            do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(request):
    g = Gateway(200)
    request.addfinalizer(g.close)
    return g


def test_credentials_in_the_url_go_as_basic_auth_and_are_never_shown(gateway, tmp_path, recwarn, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"http://trainer:{SECRET}@127.0.0.1:{gateway.port}"
    tracker, clock, *_ = fake_tracker(pushgateway_url=url, pushgateway_delete=True, export_period=0.1,
                                      measure_period=0.1, output_file=str(tmp_path / "e.csv"),
                                      jsonl_file=str(tmp_path / "e.jsonl"))
    tracker.start()
    clock.advance(1.0)
    time.sleep(0.3)
    gateway.status = 401  # the gateway starts refusing: the warning must not quote the URL's password
    time.sleep(0.3)
    record = tracker.stop()
    assert f"Basic {base64.b64encode(f'trainer:{SECRET}'.encode()).decode()}" in gateway.authorizations
    warned = [str(w.message) for w in recwarn]
    assert any("Pushgateway" in w and "trainer:***@127.0.0.1" in w for w in warned), warned
    shown = " ".join(warned) + caplog.text + repr(tracker.settings) + str(record.as_dict()) + repr(tracker.outputs)
    files = (tmp_path / "e.csv").read_text() + (tmp_path / "e.jsonl").read_text()
    assert SECRET not in shown and SECRET not in files
    # Spawn-based launchers pickle settings: they keep the URL (in memory), and still do not show it.
    again = pickle.loads(pickle.dumps(tracker.settings))
    assert again.pushgateway_url == url and SECRET not in repr(again)


@pytest.mark.parametrize("url", [f"gateway:{SECRET}@host:9091", f"ftp://u:{SECRET}@host", f"http://u:{SECRET}@:9091",
                                 f"http://u:{SECRET}@host:notaport", f"http://u:{SECRET}@host:9091/?job=x"])
def test_malformed_pushgateway_url_fails_at_construction_without_its_secret(url):
    with pytest.raises(ConfigError, match="pushgateway_url=") as info:
        Settings(pushgateway_url=url)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("port", [-1, 65536, "9464", "host:", True, 1.5, "a b:9464"])
def test_bad_prometheus_port_fails_at_construction(port):
    with pytest.raises(ConfigError, match="prometheus_port="):
        Settings(prometheus_port=port)


@pytest.mark.parametrize("period", [0, -1, 0.01, "10"])
def test_bad_export_period_fails(period):
    with pytest.raises(ConfigError, match="export_period="):
        Settings(export_period=period)


def test_command_line_spelling_in_messages():
    from wattprint.core.naming import CLI

    with pytest.raises(ConfigError, match="--pushgateway-url"):
        Settings.build({"pushgateway_url": "nohost"}, naming=CLI)


def test_good_values_are_kept():
    s = Settings(prometheus_port="127.0.0.1:9464", pushgateway_url="https://gw.example:9091/base", export_period=2,
                 otel_endpoint="http://[::1]:4318")
    assert (s.prometheus_port, s.export_period) == ("127.0.0.1:9464", 2.0)


def test_missing_extra_is_named(monkeypatch):
    import sys

    from wattprint import MissingExtraError

    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(MissingExtraError, match=r"wattprint\[prometheus\]"):
        fake_tracker(prometheus_port=0)


def test_a_tracker_without_exports_loads_no_exporter():
    import subprocess
    import sys

    code = ("import sys, wattprint; t = wattprint.Tracker(output_file=None, gpu=False, carbon_intensity=100.0); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('prometheus_client', 'opentelemetry', 'google') "
            "or m in ('wattprint.export.prometheus', 'wattprint.export.otel', 'wattprint.export.reading')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
