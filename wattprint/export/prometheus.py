"""Prometheus: a pull endpoint to scrape, and pushes to a Pushgateway for batch jobs.

Series (Prometheus conventions: base units in the name, ``_total`` on counters)::

    wattprint_energy_joules_total{domain, method, ...}   counter  IT energy since the run began (J)
    wattprint_power_watts{domain, method, ...}           gauge    mean power since the previous export (W)
    wattprint_co2e_grams_total{method, ...}              counter  CO2e since the run began, PUE included (g)
    wattprint_carbon_intensity_grams_per_kilowatt_hour   gauge    grid intensity in force (gCO2e/kWh)

Every series carries the labels of :data:`~wattprint.export.reading.LABELS`. Each process
exports only what it measured itself (its rank's GPU; CPU and RAM where it measures the host),
so summing the series of a run counts nothing twice.

``prometheus_client`` is imported when an exporter is built, never by ``import wattprint``.
"""

from __future__ import annotations

import threading
from typing import Any

from wattprint._log import getLogger
from wattprint.core.errors import MissingExtraError
from wattprint.core.record import EnergyRecord, Labels
from wattprint.export.endpoints import address, credentials, redact, scrub
from wattprint.export.reading import LABELS, Reading, Readings

log = getLogger(__name__)

ENERGY = "wattprint_energy_joules"
POWER = "wattprint_power_watts"
CO2E = "wattprint_co2e_grams"
INTENSITY = "wattprint_carbon_intensity_grams_per_kilowatt_hour"


def _client() -> Any:
    try:
        import prometheus_client
    except ModuleNotFoundError:
        raise MissingExtraError("prometheus_client", "prometheus") from None
    return prometheus_client


def families(reading: Reading) -> list[Any]:
    """The metric families of one reading (``prometheus_client`` objects)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    base = [reading.labels[name] for name in LABELS]
    energy = CounterMetricFamily(ENERGY, "IT energy drawn since the run began, by domain, in joules (J); "
                                 "method: counter, sampled or estimated.", labels=[*LABELS, "domain", "method"])
    power = GaugeMetricFamily(POWER, "Mean power since the previous export, by domain, in watts (W).",
                              labels=[*LABELS, "domain", "method"])
    for domain, joules in reading.energy_j.items():
        method = reading.method.get(domain, "")
        energy.add_metric([*base, domain, method], joules)
        power.add_metric([*base, domain, method], reading.power_w.get(domain, 0.0))
    co2e = CounterMetricFamily(CO2E, "CO2e emitted since the run began, in grams (g CO2e), facility overhead (PUE) "
                               "included; method: the weakest of the domains'.", labels=[*LABELS, "method"])
    co2e.add_metric([*base, reading.overall_method], reading.co2e_g)
    intensity = GaugeMetricFamily(INTENSITY, "Carbon intensity of the grid applied to the energy, in grams CO2e "
                                  "per kilowatt-hour (gCO2e/kWh).", labels=list(LABELS))
    intensity.add_metric(base, reading.intensity_g_per_kwh)
    return [energy, power, co2e, intensity]


class _Collector:
    """A ``prometheus_client`` collector showing the latest reading (nothing before the first)."""

    def __init__(self, readings: Readings) -> None:
        self._readings = readings

    def collect(self):
        latest = self._readings.latest
        return iter(families(latest)) if latest is not None else iter(())


def _registry(readings: Readings) -> Any:
    registry = _client().CollectorRegistry(auto_describe=False)
    registry.register(_Collector(readings))
    return registry


class PrometheusEndpoint:
    """Serves the run's series at ``http://ADDRESS:PORT/metrics`` while the run goes on.

    The server starts with the run (it serves the series from the first export on, one
    sampler period later) and stops when the Tracker does. In a multi-process job each process of a node listens on
    ``PORT + local rank``; port 0 picks a free port, shown in :attr:`port` and the INFO log.
    """

    def __init__(self, listen: int | str) -> None:
        _client()  # the missing extra fails at construction
        self._address, self._port = address(listen)
        self.readings = Readings()
        self._registry = _registry(self.readings)
        self._server: Any = None
        self._lock = threading.Lock()
        #: The port actually listened on (None before the server started).
        self.port: int | None = None
        self.name = f"the Prometheus endpoint on {self._address}:{self._port}"

    def begin_run(self, labels: Labels) -> None:
        """The run starts: listen now (a local bind, no network wait), so that scrapes find the endpoint."""
        with self._lock:
            if self._server is None:
                self._serve(labels.local_rank if labels.world_size > 1 else 0)

    def write_sample(self, record: EnergyRecord) -> None:
        self.readings.update(record)
        self.begin_run(record.labels)  # listening already, unless the bind failed at the start: retried here

    def _serve(self, offset: int) -> None:
        port = self._port + offset if self._port else 0
        try:
            server, _thread = _client().start_http_server(port, addr=self._address, registry=self._registry)
        except OSError as exc:
            raise OSError(f"cannot listen on {self._address}:{port}: {exc.strerror or exc}") from None
        self._server = server
        self.port = server.server_address[1]
        self.name = f"the Prometheus endpoint on {self._address}:{self.port}"
        log.info("wattprint: Prometheus metrics at http://%s:%d/metrics", self._address, self.port)

    def write(self, record: EnergyRecord) -> None:
        """Closed windows are not exported: the series are the run's, fed by :meth:`write_sample`."""

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


class Pushgateway:
    """Pushes the run's series to a Pushgateway at each export and when the run stops.

    The group's key is ``job`` (``pushgateway_job``), ``instance`` (the host, with the rank
    in a multi-process job) and ``run_id``; ``delete=True`` deletes the group when the run
    stops, once its last figures were pushed. User-info in ``url`` is sent as HTTP basic
    authentication and never shown. Each push waits at most ``timeout_s``.
    """

    def __init__(self, url: str, job: str, *, delete: bool = False, timeout_s: float = 5.0) -> None:
        _client()
        self._url, self._user, self._password = credentials(url)
        self.name = f"the Pushgateway at {redact(url)}"
        self._job = job
        self._delete = delete
        self._timeout_s = timeout_s
        self.readings = Readings()
        self._registry = _registry(self.readings)
        self._pushed: dict[str, str] | None = None  # the group last pushed, still on the gateway
        self._failing = False  # the last push failed
        self._lock = threading.Lock()

    def grouping_key(self, reading: Reading) -> dict[str, str]:
        instance = reading.labels["host"]
        if reading.world_size > 1:
            instance += f"-rank{reading.labels['rank']}"
        return {"instance": instance, "run_id": reading.labels["run_id"]}

    def write_sample(self, record: EnergyRecord) -> None:
        reading = self.readings.update(record)
        key = self.grouping_key(reading)
        with self._lock:
            old = self._pushed
            if old is not None and old != key:
                # The run was given its job's id after the first push: drop the group of the old one.
                try:
                    self._call("delete_from_gateway", old)
                    self._pushed = None
                except ConnectionError as exc:
                    log.debug("wattprint: could not delete the Pushgateway group %s: %s", old, exc)
            self._failing = True
            self._call("push_to_gateway", key, registry=self._registry)
            self._failing = False
            self._pushed = key

    def _call(self, function: str, key: dict[str, str], *, timeout_s: float | None = None, **kwargs: Any) -> None:
        client = _client()
        try:
            getattr(client, function)(self._url, job=self._job, grouping_key=key, handler=self._handler,
                                      timeout=self._timeout_s if timeout_s is None else timeout_s, **kwargs)
        except Exception as exc:  # noqa: BLE001 -- the library's errors can quote what it sent: scrub the password
            raise ConnectionError(scrub(f"{type(exc).__name__}: {exc}", (self._password,))) from None

    def _handler(self, url, method, timeout, headers, data):
        client = _client()
        if self._user is None:
            return client.exposition.default_handler(url, method, timeout, headers, data)
        return client.exposition.basic_auth_handler(url, method, timeout, headers, data, self._user, self._password)

    def write(self, record: EnergyRecord) -> None:
        """Closed windows are not exported: the series are the run's, fed by :meth:`write_sample`."""

    def close(self) -> None:
        with self._lock:
            key, self._pushed = self._pushed, None
            if self._delete and key is not None:
                # A gateway that failed the last push gets a short try: stopping must not hang on it.
                self._call("delete_from_gateway", key, timeout_s=min(1.0, self._timeout_s) if self._failing else None)
