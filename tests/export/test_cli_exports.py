"""``wattprint monitor`` and ``wattprint run`` exporting to a real Pushgateway, as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families

from tests.cli.helpers import wattprint
from tests.rows import read_rows

J_PER_KWH = 3_600_000.0
FAST = ("--carbon-intensity", "100", "--measure-period", "0.1", "--export-period", "0.2")


def pushed(pushgateway, job: str) -> dict[str, dict]:
    """What the gateway holds for ``job``: metric -> {(domain or ""): (value, labels)}."""
    out: dict[str, dict] = {}
    for family in text_string_to_metric_families(pushgateway.get("/metrics").decode()):
        for sample in family.samples:
            if sample.name.startswith("wattprint_") and sample.labels.get("job") == job:
                out.setdefault(sample.name, {})[sample.labels.get("domain", "")] = (sample.value, sample.labels)
    return out


def _wait(predicate, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def _assert_final_push_equals_row(pushgateway, job: str, row: dict[str, str]) -> None:
    series = pushed(pushgateway, job)
    energy = series["wattprint_energy_joules_total"]
    domains = [d for d in ("cpu", "gpu", "ram") if row[f"energy_kwh_{d}"]]
    assert sorted(energy) == sorted(domains)
    for domain in domains:
        value, labels = energy[domain]
        assert value == pytest.approx(float(row[f"energy_kwh_{domain}"]) * J_PER_KWH, rel=1e-9)
        assert labels["run_id"] == row["id"] and labels["method"] == row[f"method_{domain}"]
    (co2e, _), = series["wattprint_co2e_grams_total"].values()
    assert co2e == pytest.approx(float(row["CO2_emissions(kg)"]) * 1000, rel=1e-9)


@pytest.fixture
def spawn(request):
    """Start a command in its own process group; it is killed after the test whatever happens."""

    def start(argv, **kwargs):
        proc = subprocess.Popen(argv, start_new_session=True, stderr=subprocess.PIPE, text=True, **kwargs)

        def kill():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

        request.addfinalizer(kill)
        return proc

    return start


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_monitor_exports_live_and_stops_cleanly_on_a_signal(pushgateway, spawn, tmp_path, sig):
    proc = spawn([sys.executable, "-m", "wattprint", "monitor", *FAST, "--project-name", "fleet",
                  "--pushgateway-url", pushgateway.url, "--pushgateway-job", "node", "--output-file", "m.csv"], cwd=tmp_path)

    def total():
        energy = pushed(pushgateway, "node").get("wattprint_energy_joules_total", {})
        return sum(v for v, _ in energy.values())

    first = _wait(total)
    assert first > 0, "nothing pushed"
    seen: list[float] = []
    assert _wait(lambda: seen.append(total()) or seen[-1] > first), (first, seen[-3:])  # live: the pushed energy grows
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert f"stopped by {signal.Signals(sig).name}" in stderr and "row appended to m.csv" in stderr
    (row,) = read_rows(tmp_path / "m.csv")
    assert row["window"] == "run" and row["project_name"] == "fleet"
    _assert_final_push_equals_row(pushgateway, "node", row)


def test_run_exports_the_command_it_measures(pushgateway, tmp_path):
    child = [sys.executable, "-c", "import time; time.sleep(1.0)"]
    result = wattprint("run", *FAST, "--pushgateway-url", pushgateway.url, "--pushgateway-job", "cmd", "--", *child,
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = read_rows(tmp_path / "wattprint.csv")
    _assert_final_push_equals_row(pushgateway, "cmd", row)


def test_bad_endpoint_is_a_usage_error_naming_the_option(tmp_path):
    result = wattprint("monitor", "--carbon-intensity", "100", "--otel-endpoint", "collector:4318", "--duration", "1",
                       cwd=tmp_path)
    assert result.returncode == 2
    assert "--otel-endpoint" in result.stderr and "http://" in result.stderr
    assert not (tmp_path / "wattprint.csv").exists()


def test_monitor_stops_by_itself_after_its_duration(tmp_path):
    result = wattprint("monitor", "--carbon-intensity", "100", "--duration", "0.5", "--prometheus-port", "127.0.0.1:0",
                       "--output-file", "m.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "done after" in result.stderr and "the Prometheus endpoint on 127.0.0.1:" in result.stderr
    (row,) = read_rows(tmp_path / "m.csv")
    assert row["window"] == "run" and float(row["duration(s)"]) >= 0.5


def test_monitor_refuses_a_duration_that_is_not_positive(tmp_path):
    result = wattprint("monitor", "--carbon-intensity", "100", "--duration", "0", cwd=tmp_path)
    assert result.returncode == 2 and "--duration" in result.stderr
