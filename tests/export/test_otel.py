"""OpenTelemetry export, received by a loopback OTLP/HTTP receiver that decodes the real protobuf."""

from __future__ import annotations

import logging
import time

import pytest

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from tests.core.helpers import fake_tracker
from tests.export.engines import free_port
from tests.rows import read_rows
from wattprint import ConfigError

J_PER_KWH = 3_600_000.0


def _run(**options):
    tracker, clock, *_ = fake_tracker(export_period=0.1, measure_period=0.1, **options)
    tracker.start()
    clock.advance(4.0)
    time.sleep(0.3)
    clock.advance(6.0)
    time.sleep(0.3)
    tracker.stop()
    return tracker


def test_metrics_follow_the_hardware_conventions_and_equal_the_csv(otlp_receiver, tmp_path):
    tracker = _run(otel_endpoint=otlp_receiver.url, pue=1.2, output_file=str(tmp_path / "e.csv"))
    (row,) = [r for r in read_rows(tmp_path / "e.csv") if r["window"] == "run"]
    assert len(otlp_receiver.requests) >= 3  # at the start, while running, at the end
    points = otlp_receiver.points()  # the last request: the run's final figures
    assert {name: {unit for unit, _, _ in p} for name, p in points.items()} == {
        "hw.energy": {"J"}, "hw.power": {"W"}, "hw.host.energy": {"J"}, "hw.host.power": {"W"},
        "wattprint.co2e_grams": {"g"}, "wattprint.carbon_intensity": {"g/kWh"}}
    energy = {a["wattprint.domain"]: (a, v) for _, a, v in points["hw.energy"]}
    assert sorted(energy) == ["cpu", "gpu", "ram"]
    for domain, (attributes, value) in energy.items():
        assert value == pytest.approx(float(row[f"energy_kwh_{domain}"]) * J_PER_KWH, rel=1e-12)
        assert attributes["wattprint.method"] == row[f"method_{domain}"]
        assert attributes["hw.type"] == {"cpu": "cpu", "gpu": "gpu", "ram": "memory"}[domain]
        assert attributes["hw.id"] == domain
        assert attributes["wattprint.run_id"] == tracker.run_id == row["id"]
        assert attributes["wattprint.project"] == "proj" and attributes["wattprint.experiment"] == "desc"
        assert attributes["wattprint.rank"] == 0 and attributes["wattprint.scope"] == "machine"
        assert attributes["host.name"] == row["host"]
        assert attributes["wattprint.location"] == row["intensity_key"]
        assert attributes["wattprint.intensity_source"] == row["intensity_source"]
    ((_, _, host_j),) = points["hw.host.energy"]
    assert host_j == pytest.approx(float(row["power_consumption(kWh)"]) * J_PER_KWH, rel=1e-12)
    ((_, _, co2e_g),) = points["wattprint.co2e_grams"]
    assert co2e_g == pytest.approx(float(row["CO2_emissions(kg)"]) * 1000, rel=1e-12)
    power = {a["wattprint.domain"]: v for _, a, v in points["hw.power"]}
    assert power == pytest.approx({"cpu": 20.0, "gpu": 300.0, "ram": 5.0})
    resource = otlp_receiver.resource()
    assert resource["service.name"] == "wattprint" and resource["host.name"] == row["host"]
    # Energy is a monotonic, cumulative sum (a counter); power a gauge.
    request = otlp_receiver.requests[-1][1]
    metrics = {m.name: m for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert metrics["hw.energy"].sum.is_monotonic
    assert metrics["hw.energy"].sum.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    assert metrics["hw.power"].HasField("gauge")
    # Live: the figures of earlier exports were smaller.
    first_j = sum(v for _, _, v in otlp_receiver.points(otlp_receiver.requests[0][1]).get("hw.energy", []))
    assert first_j < sum(v for _, (_, v) in energy.items())


def test_standard_variables_configure_endpoint_headers_and_resource(otlp_receiver, monkeypatch, recwarn, caplog):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cr3t-token,x-tenant=ml")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=trainer,deployment.environment.name=test")
    caplog.set_level(logging.DEBUG)
    _run(otel=True)
    headers, _ = otlp_receiver.requests[-1]
    assert headers["authorization"] == "Bearer s3cr3t-token" and headers["x-tenant"] == "ml"
    resource = otlp_receiver.resource()
    assert resource["service.name"] == "trainer" and resource["deployment.environment.name"] == "test"
    assert resource["host.name"]
    # Refused from now on: the warning names the receiver, never the token.
    otlp_receiver.status = 401
    _run(otel=True)
    warned = [str(w.message) for w in recwarn if "OTLP" in str(w.message)]
    assert len(warned) == 1 and otlp_receiver.url in warned[0]
    assert "s3cr3t" not in " ".join(warned) + caplog.text


def test_unreachable_receiver_warns_once_and_the_run_goes_on(recwarn):
    port = free_port()
    tracker = _run(otel_endpoint=f"http://127.0.0.1:{port}")
    assert tracker.last_record.energy_kwh * J_PER_KWH == pytest.approx(3250.0)
    warned = [str(w.message) for w in recwarn if "OTLP" in str(w.message)]
    assert len(warned) == 1, warned


@pytest.mark.parametrize("endpoint", ["localhost:4318", "ftp://collector:4318", "http://", "http://host:99999",
                                      "http://host:4318/v1?x=1", "http://exa mple:4318"])
def test_malformed_endpoint_fails_at_construction(endpoint):
    with pytest.raises(ConfigError, match="otel_endpoint="):
        fake_tracker(otel_endpoint=endpoint)


def test_malformed_endpoint_variable_fails_at_construction_naming_it(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        fake_tracker(otel=True)


def test_unsupported_protocol_fails_at_construction(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ConfigError, match="http/protobuf"):
        fake_tracker(otel=True)


def test_otel_sdk_disabled_turns_the_export_off(otlp_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tracker = _run(otel_endpoint=otlp_receiver.url)
    assert otlp_receiver.requests == [] and tracker.last_record.energy_kwh > 0
