"""Live exports of a run's figures: Prometheus (pull endpoint, Pushgateway) and OpenTelemetry.

Exporters are outputs of the Tracker (see :mod:`wattprint.core.outputs`) that take live
samples (``write_sample(record)``): the record of the run so far, handed to them on the
sampler thread every ``export_period`` seconds and once more when the run stops. A training
thread never waits on them. Each lives in its own module, imported only when its option is set:

* :mod:`~wattprint.export.prometheus`: ``prometheus_port=``, ``pushgateway_url=`` (extra ``prometheus``);
* :mod:`~wattprint.export.otel`: ``otel=True`` or ``otel_endpoint=`` (extra ``otel``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from wattprint.core.outputs import Output
    from wattprint.core.settings import Settings

#: How long one push or export may wait, at most: a slow receiver delays only the next sample.
MAX_WAIT_S = 5.0


def configured(settings: Settings) -> bool:
    """True when any exporter is asked for."""
    s = settings
    return s.prometheus_port is not None or s.pushgateway_url is not None or s.otel or s.otel_endpoint is not None


def build(settings: Settings) -> list[Output]:
    """The exporters ``settings`` ask for, in a fixed order. Raises ConfigError or MissingExtraError."""
    s = settings
    wait_s = min(MAX_WAIT_S, s.export_period)
    outputs: list[Output] = []
    if s.prometheus_port is not None:
        from wattprint.export.prometheus import PrometheusEndpoint

        outputs.append(PrometheusEndpoint(s.prometheus_port))
    if s.pushgateway_url is not None:
        from wattprint.export.prometheus import Pushgateway

        outputs.append(Pushgateway(s.pushgateway_url, s.pushgateway_job, delete=s.pushgateway_delete, timeout_s=wait_s))
    if (s.otel or s.otel_endpoint is not None) and not _otel_disabled():
        from wattprint.export.otel import OtlpExporter

        outputs.append(OtlpExporter(s.otel_endpoint, timeout_s=wait_s))
    return outputs


def _otel_disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``, the standard switch that turns every OpenTelemetry export off."""
    import os

    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"

