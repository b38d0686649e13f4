"""The Prometheus exports, checked through the real engines: Prometheus scrapes wattprint's
endpoint (or a Pushgateway wattprint pushed to), and its HTTP API must show the figures the
CSV of the same run holds."""

from __future__ import annotations

import time

import pytest

from tests.core.helpers import fake_tracker
from tests.export import engines
from tests.rows import read_rows

pytest.importorskip("prometheus_client")

J_PER_KWH = 3_600_000.0
PUE = 1.25


def _by_domain(result: list[dict]) -> dict[str, float]:
    return {r["metric"]["domain"]: r["value"] for r in result}


def _assert_series_match_row(prom, run_id: str, row: dict[str, str], domains=("cpu", "gpu", "ram")) -> None:
    """Prometheus's last values of the run equal the CSV row: IT energy per domain and in all,
    and CO2e (PUE included in both). ``last_over_time``: a
    pull endpoint is gone once the run stopped, and Prometheus marks its series stale."""
    energy = _by_domain(prom.query(f'last_over_time(wattprint_energy_joules_total{{run_id="{run_id}"}}[10m])'))
    assert sorted(energy) == sorted(domains)
    for domain in domains:
        assert energy[domain] == pytest.approx(float(row[f"energy_kwh_{domain}"]) * J_PER_KWH, rel=1e-9)
    assert sum(energy.values()) == pytest.approx(float(row["power_consumption(kWh)"]) * J_PER_KWH, rel=1e-9)
    (co2e,) = prom.query(f'last_over_time(wattprint_co2e_grams_total{{run_id="{run_id}"}}[10m])')
    assert co2e["value"] == pytest.approx(float(row["CO2_emissions(kg)"]) * 1000.0, rel=1e-9)
    methods = {r["metric"]["domain"]: r["metric"]["method"]
               for r in prom.query(f'last_over_time(wattprint_energy_joules_total{{run_id="{run_id}"}}[10m])')}
    assert methods == {d: row[f"method_{d}"] for d in domains}


def test_tracker_run_scraped_by_prometheus_equals_its_csv(start_prometheus, tmp_path):
    port = engines.free_port()
    tracker, clock, _sink, _sensors = fake_tracker(
        prometheus_port=f"127.0.0.1:{port}", export_period=0.2, measure_period=0.1,
        output_file=str(tmp_path / "wattprint.csv"), pue=PUE)
    prom = start_prometheus(scrape=[f"127.0.0.1:{port}"])
    tracker.start()
    run_id = tracker.run_id
    query = f'sum(wattprint_energy_joules_total{{run_id="{run_id}"}})'
    clock.advance(10.0)  # 20 + 300 + 5 W for 10 s
    first = prom.wait_for(query, lambda r: r and r[0]["value"] == pytest.approx(3250.0))
    assert first and first[0]["value"] == pytest.approx(3250.0)
    clock.advance(20.0)  # live: the series move while the run goes on
    later = prom.wait_for(query, lambda r: r and r[0]["value"] == pytest.approx(9750.0))
    assert later and later[0]["value"] == pytest.approx(9750.0)
    power = _by_domain(prom.query(f'wattprint_power_watts{{run_id="{run_id}"}}'))
    assert power == pytest.approx({"cpu": 20.0, "gpu": 300.0, "ram": 5.0})
    tracker.stop()  # no time passes: the last values scraped are the run's

    (row,) = [r for r in read_rows(tmp_path / "wattprint.csv") if r["window"] == "run"]
    assert row["id"] == run_id
    _assert_series_match_row(prom, run_id, row)
    (labels,) = [r["metric"] for r in prom.query(f'last_over_time(wattprint_co2e_grams_total{{run_id="{run_id}"}}[10m])')]
    assert {k: labels[k] for k in ("project", "experiment", "host", "rank", "scope", "location", "intensity_source", "method")} == {
        "project": "proj", "experiment": "desc", "host": row["host"], "rank": "0", "scope": "machine",
        "location": row["intensity_key"], "intensity_source": row["intensity_source"], "method": "estimated"}


def test_endpoint_listens_from_start_and_closes_with_the_run(tmp_path):
    import urllib.request

    tracker, clock, *_ = fake_tracker(prometheus_port="127.0.0.1:0", export_period=0.2, measure_period=0.1)
    tracker.start()
    (endpoint,) = [o for o in tracker.outputs if hasattr(o, "port")]
    url = f"http://127.0.0.1:{endpoint.port}/metrics"  # port 0: the one chosen, known once start() returned
    assert str(endpoint.port) in endpoint.name
    urllib.request.urlopen(url, timeout=2).read()  # listening already
    clock.advance(1.0)
    deadline = time.monotonic() + 10
    body = ""
    while "wattprint_energy_joules_total{" not in body and time.monotonic() < deadline:
        time.sleep(0.05)
        body = urllib.request.urlopen(url, timeout=2).read().decode()
    assert 'wattprint_power_watts{domain="gpu"' in body
    tracker.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


def test_a_port_in_use_warns_once_and_the_run_goes_on(recwarn):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        tracker, clock, sink, _ = fake_tracker(prometheus_port=f"127.0.0.1:{port}", export_period=0.1, measure_period=0.1)
        tracker.start()
        clock.advance(3.0)
        time.sleep(0.5)
        record = tracker.stop()
    assert record.energy_kwh * J_PER_KWH == pytest.approx(3 * 325.0) and sink.records[-1] is record
    warned = [str(w.message) for w in recwarn if "Prometheus endpoint" in str(w.message)]
    assert len(warned) == 1 and f"127.0.0.1:{port}" in warned[0], warned


def test_pushgateway_holds_the_run_grouped_by_job_instance_and_run_id(pushgateway, start_prometheus, tmp_path):
    prom = start_prometheus(pushgateway=f"127.0.0.1:{pushgateway.port}")
    tracker, clock, *_ = fake_tracker(pushgateway_url=pushgateway.url, pushgateway_job="nightly", export_period=0.2,
                                      measure_period=0.1, output_file=str(tmp_path / "e.csv"), pue=PUE)
    tracker.start()
    clock.advance(5.0)
    time.sleep(0.5)
    clock.advance(5.0)
    tracker.stop()
    run_id = tracker.run_id
    (row,) = [r for r in read_rows(tmp_path / "e.csv") if r["window"] == "run"]
    result = prom.wait_for(f'wattprint_co2e_grams_total{{run_id="{run_id}"}}',
                           lambda r: r and r[0]["value"] == pytest.approx(float(row["CO2_emissions(kg)"]) * 1000))
    assert result and result[0]["metric"]["job"] == "nightly"
    assert result[0]["metric"]["instance"] == row["host"]
    _assert_series_match_row(prom, run_id, row)
    # The README's per-job totals, in kWh and kg.
    (kwh,) = prom.query("sum by (job) (last_over_time(wattprint_energy_joules_total[1d])) / 3.6e6")
    (kg,) = prom.query("sum by (job) (last_over_time(wattprint_co2e_grams_total[1d])) / 1000")
    assert kwh["metric"] == kg["metric"] == {"job": "nightly"}
    assert kwh["value"] == pytest.approx(float(row["power_consumption(kWh)"]), rel=1e-9)
    assert kg["value"] == pytest.approx(float(row["CO2_emissions(kg)"]), rel=1e-9)


def test_pushgateway_group_is_deleted_at_the_end_when_asked(pushgateway):
    tracker, clock, *_ = fake_tracker(pushgateway_url=pushgateway.url, pushgateway_delete=True,
                                      export_period=0.1, measure_period=0.1)
    tracker.start()
    clock.advance(1.0)
    deadline = time.monotonic() + 10
    while tracker.run_id.encode() not in pushgateway.get("/metrics") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tracker.run_id.encode() in pushgateway.get("/metrics")  # pushed while running
    tracker.stop()
    assert tracker.run_id.encode() not in pushgateway.get("/metrics")  # and gone after


def test_unreachable_pushgateway_warns_once_and_the_run_goes_on(recwarn):
    port = engines.free_port()  # nothing listens there
    tracker, clock, sink, _ = fake_tracker(pushgateway_url=f"http://127.0.0.1:{port}", export_period=0.1, measure_period=0.1)
    tracker.start()
    for _ in range(5):
        clock.advance(1.0)
        time.sleep(0.15)
    record = tracker.stop()
    assert record.energy_kwh * J_PER_KWH == pytest.approx(5 * 325.0)
    assert sink.records[-1] is record
    messages = [str(w.message) for w in recwarn if "Pushgateway" in str(w.message)]
    assert len(messages) == 1, messages
    assert f"127.0.0.1:{port}" in messages[0]


def test_every_query_of_the_grafana_dashboard_answers_from_the_exported_series(start_prometheus):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "examples" / "grafana_dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 6
    port = engines.free_port()
    tracker, clock, *_ = fake_tracker(prometheus_port=f"127.0.0.1:{port}", export_period=0.2, measure_period=0.1,
                                      output_file=None)
    prom = start_prometheus(scrape=[f"127.0.0.1:{port}"])
    tracker.start()
    clock.advance(10.0)
    try:
        assert prom.wait_for('wattprint_energy_joules_total{project="proj"}', lambda r: len(r) == 3)
        for expr in exprs:
            query = expr.replace("$project", "proj").replace("$run_id", ".*").replace("$__range", "1h")
            assert re.findall(r"wattprint_\w+", query), query
            result = prom.wait_for(query, bool, timeout_s=10)
            assert result, f"no data for the dashboard's {expr!r}"
    finally:
        tracker.stop()
