"""The live-export options shared by ``wattprint run`` and ``wattprint monitor``."""

from __future__ import annotations

import argparse
from typing import Any

from wattprint.export.endpoints import DEFAULT_EXPORT_PERIOD_S

#: Option name -> its default, as Settings has it.
DEFAULTS: dict[str, Any] = {
    "prometheus_port": None,
    "pushgateway_url": None,
    "pushgateway_job": "wattprint",
    "pushgateway_delete": False,
    "otel": False,
    "otel_endpoint": None,
    "export_period": DEFAULT_EXPORT_PERIOD_S,
}


def _port(text: str) -> int | str:
    """``--prometheus-port 9464`` is a port; ``127.0.0.1:9464`` an address and port (the settings check both)."""
    return int(text) if text.isdigit() else text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("live exports (while it runs)")
    group.add_argument("--prometheus-port", type=_port, metavar="PORT",
                       help="serve Prometheus metrics at http://HOST:PORT/metrics (or ADDRESS:PORT)")
    group.add_argument("--pushgateway-url", metavar="URL",
                       help="push Prometheus metrics to this Pushgateway (user:password@ in it is sent as basic auth, never shown)")
    group.add_argument("--pushgateway-job", default="wattprint", metavar="NAME", help="the Pushgateway job (default: wattprint)")
    group.add_argument("--pushgateway-delete", action="store_true", help="delete the pushed group when the measurement ends")
    group.add_argument("--otel", action="store_true",
                       help="export OpenTelemetry metrics over OTLP, as the OTEL_EXPORTER_OTLP_* variables say")
    group.add_argument("--otel-endpoint", metavar="URL", help="the OTLP receiver's base URL (http://collector:4318); implies --otel")
    group.add_argument("--export-period", type=float, default=DEFAULT_EXPORT_PERIOD_S, metavar="S",
                       help=f"seconds between live exports (default {DEFAULT_EXPORT_PERIOD_S:g})")


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The export options the command line set (those left at their defaults are not passed)."""
    return {name: getattr(args, name) for name, default in DEFAULTS.items() if getattr(args, name) != default}
