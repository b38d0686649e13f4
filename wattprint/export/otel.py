"""OpenTelemetry metrics over OTLP, following the hardware semantic conventions where they fit.

Instruments (attributes below; ``hw.*`` per the OpenTelemetry hardware conventions)::

    hw.energy              counter  J          energy of a domain since the run began (hw.type: cpu, gpu, memory)
    hw.power               gauge    W          mean power of a domain since the previous export
    hw.host.energy         counter  J          the host's total, from a single process measuring the whole machine
    hw.host.power          gauge    W          its mean power
    wattprint.co2e_grams   counter  g          CO2e since the run began, PUE included
    wattprint.carbon_intensity  gauge  g/kWh   grid intensity applied (gCO2e/kWh)

Attributes: ``wattprint.project``, ``wattprint.experiment``, ``wattprint.run_id``,
``wattprint.scope``, ``host.name``, ``wattprint.rank``, ``wattprint.location``,
``wattprint.intensity_source``; per domain ``hw.id``, ``hw.type``, ``wattprint.domain`` and
``wattprint.method``. The resource has ``service.name`` (default ``wattprint``) and
``host.name`` unless ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` set them.

The exporter is the SDK's OTLP one, so the standard ``OTEL_EXPORTER_OTLP_*`` variables
(endpoint, headers, timeout, compression, certificates, protocol) work. No SDK thread is
started: the sampler thread collects and exports at each export tick.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from wattprint.core.errors import ConfigError, MissingExtraError
from wattprint.core.record import EnergyRecord
from wattprint.export.endpoints import redact, url
from wattprint.export.reading import LABELS, Reading, Readings

log = logging.getLogger(__name__)

#: The OTLP variables that name an endpoint, most specific first.
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
TIMEOUT_VARS = ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
DEFAULT_ENDPOINT = "http://localhost:4318"
_HW_TYPE = {"cpu": "cpu", "gpu": "gpu", "ram": "memory"}
_ATTRIBUTE = {name: "host.name" if name == "host" else f"wattprint.{name}" for name in LABELS}


class _OwnFailures(logging.Filter):
    """Drops the SDK exporter's log records of the exports wattprint makes: their failures are
    reported once, as a warning naming the receiver, rather than logged at every tick."""

    active = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.active, "exporting", False)


_FILTER = _OwnFailures()
_SDK_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "opentelemetry.exporter.otlp.proto.http",
                "opentelemetry.exporter.otlp.proto.grpc.exporter", "opentelemetry.exporter.http_transport")


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def _protocol(environ: Mapping[str, str]) -> str:
    found = _first(environ, PROTOCOL_VARS)
    protocol = found[1] if found else "http/protobuf"
    if protocol not in ("http/protobuf", "grpc"):
        raise ConfigError(f"{found[0]}={protocol!r} is not supported; use 'http/protobuf' (the default) or 'grpc'.")  # type: ignore[index]
    return protocol


def _exporter_class(protocol: str) -> Any:
    try:
        import opentelemetry.sdk.metrics  # noqa: F401
    except ModuleNotFoundError:
        raise MissingExtraError("opentelemetry-sdk", "otel") from None
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter,
            )
        except ModuleNotFoundError:
            raise ConfigError(
                "OTLP over gRPC needs the package opentelemetry-exporter-otlp-proto-grpc; install it, or "
                "set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (what the 'otel' extra installs)."
            ) from None
        return OTLPMetricExporter
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter,
        )
    except ModuleNotFoundError:
        raise MissingExtraError("opentelemetry-exporter-otlp-proto-http", "otel") from None
    return OTLPMetricExporter


class OtlpExporter:
    """Exports the run's figures as OpenTelemetry metrics to an OTLP receiver or Collector.

    ``endpoint`` is the receiver's base URL (``http://collector:4318``; ``/v1/metrics`` is
    appended for OTLP/HTTP, as for ``OTEL_EXPORTER_OTLP_ENDPOINT``); None takes the standard
    variables, then ``http://localhost:4318``. A malformed endpoint, in the option or in the
    variables, raises :class:`ConfigError` here. Each export waits at most ``timeout_s``
    (unless ``OTEL_EXPORTER_OTLP_TIMEOUT`` says otherwise).
    """

    def __init__(self, endpoint: str | None = None, *, timeout_s: float = 5.0,
                 environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._protocol = _protocol(env)
        self._exporter_cls = _exporter_class(self._protocol)
        found = _first(env, ENDPOINT_VARS)
        if endpoint is not None:
            base = url(endpoint, "otel_endpoint=")
            self._endpoint = base.rstrip("/") + "/v1/metrics" if self._protocol == "http/protobuf" else base
        elif found is not None:
            url(found[1], found[0])  # malformed: fails now, with the variable's name
            self._endpoint = None  # the SDK resolves the variables itself (and adds /v1/metrics where due)
        else:
            self._endpoint = DEFAULT_ENDPOINT + ("/v1/metrics" if self._protocol == "http/protobuf" else "")
        shown = self._endpoint or found[1]  # type: ignore[index]
        self.name = f"the OTLP receiver at {redact(shown)}"
        self._timeout_s = None if _first(env, TIMEOUT_VARS) else timeout_s
        self._environ = env
        self.readings = Readings()
        self._lock = threading.Lock()
        self._provider: Any = None
        self._reader: Any = None
        self._exporter: Any = None

    # -- the SDK objects, made with the first reading (its host names the resource) ----------

    def _setup(self, reading: Reading) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource

        from wattprint import __version__

        from_env = OTELResourceDetector().detect().attributes if self._environ is os.environ else {}
        defaults = {"service.name": "wattprint", "service.version": __version__, "host.name": reading.labels["host"]}
        resource = Resource.create({k: v for k, v in defaults.items() if k not in from_env})
        kwargs: dict[str, Any] = {}
        if self._endpoint is not None:
            kwargs["endpoint"] = self._endpoint
        if self._timeout_s is not None:
            kwargs["timeout"] = self._timeout_s
        self._exporter = self._exporter_cls(**kwargs)
        for name in _SDK_LOGGERS:
            if _FILTER not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(_FILTER)
        self._reader = InMemoryMetricReader()  # collected on our tick: the SDK starts no thread
        self._provider = MeterProvider(resource=resource, metric_readers=[self._reader])
        meter = self._provider.get_meter("wattprint", __version__)
        meter.create_observable_counter("hw.energy", [self._domains("energy_j")], unit="J",
                                        description="Energy consumed by the component, in joules (J).")
        meter.create_observable_gauge("hw.power", [self._domains("power_w")], unit="W",
                                      description="Mean power of the component since the previous export, in watts (W).")
        meter.create_observable_counter("hw.host.energy", [self._host("energy_j")], unit="J",
                                        description="Energy consumed by the whole host, in joules (J).")
        meter.create_observable_gauge("hw.host.power", [self._host("power_w")], unit="W",
                                      description="Mean power of the whole host since the previous export, in watts (W).")
        meter.create_observable_counter("wattprint.co2e_grams", [self._co2e], unit="g",
                                        description="CO2e emitted since the run began, in grams (g CO2e), PUE included.")
        meter.create_observable_gauge("wattprint.carbon_intensity", [self._intensity], unit="g/kWh",
                                      description="Grid carbon intensity applied, in grams CO2e per kilowatt-hour.")

    def _common(self, reading: Reading) -> dict[str, Any]:
        attributes: dict[str, Any] = {_ATTRIBUTE[k]: v for k, v in reading.labels.items()}
        attributes["wattprint.rank"] = int(reading.labels["rank"])
        return attributes

    def _domains(self, field: str):
        def observe(options: Any) -> Iterator[Any]:
            from opentelemetry.metrics import Observation

            reading = self.readings.latest
            if reading is None:
                return
            common = self._common(reading)
            for domain, value in getattr(reading, field).items():
                hw_id = domain if reading.world_size == 1 else f"{domain}-rank{reading.labels['rank']}"
                yield Observation(value, {**common, "hw.id": hw_id, "hw.type": _HW_TYPE.get(domain, domain),
                                          "wattprint.domain": domain, "wattprint.method": reading.method.get(domain, "")})

        return observe

    def _host(self, field: str):
        def observe(options: Any) -> Iterator[Any]:
            from opentelemetry.metrics import Observation

            reading = self.readings.latest
            # The host's total only where one process measures the whole machine; in a
            # multi-process job no single process sees it.
            if reading is None or reading.world_size != 1 or reading.labels["scope"] != "machine":
                return
            if "cpu" not in reading.energy_j:
                return
            yield Observation(sum(getattr(reading, field).values()),
                              {**self._common(reading), "hw.id": "host", "wattprint.method": reading.overall_method})

        return observe

    def _co2e(self, options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        reading = self.readings.latest
        if reading is not None:
            yield Observation(reading.co2e_g, {**self._common(reading), "wattprint.method": reading.overall_method})

    def _intensity(self, options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        reading = self.readings.latest
        if reading is not None:
            yield Observation(reading.intensity_g_per_kwh, self._common(reading))

    # -- the output protocol ---------------------------------------------------------------

    def write_sample(self, record: EnergyRecord) -> None:
        from opentelemetry.sdk.metrics.export import MetricExportResult

        reading = self.readings.update(record)
        with self._lock:
            if self._provider is None:
                self._setup(reading)
            data = self._reader.get_metrics_data()
            timeout_ms = (self._timeout_s or 10.0) * 1000.0
            _FILTER.active.exporting = True
            try:
                result = self._exporter.export(data, timeout_millis=timeout_ms)
            finally:
                _FILTER.active.exporting = False
            if result is not MetricExportResult.SUCCESS:
                raise ConnectionError("the export failed (unreachable, refused or timed out)")

    def write(self, record: EnergyRecord) -> None:
        """Closed windows are not exported: the metrics are the run's, fed by :meth:`write_sample`."""

    def close(self) -> None:
        with self._lock:
            provider, exporter, self._provider = self._provider, self._exporter, None
        if provider is not None:
            provider.shutdown()
            exporter.shutdown()
