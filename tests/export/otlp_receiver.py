"""A loopback OTLP/HTTP receiver: decodes the real protobuf messages, as a Collector's receiver does.

It answers ``POST /v1/metrics`` with an ``ExportMetricsServiceResponse`` and keeps every
request (decoded, with its headers). ``status`` makes it refuse requests instead.
"""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)


class OtlpReceiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], ExportMetricsServiceRequest]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/metrics" or receiver.status != 200:
                    self.send_response(404 if self.path != "/v1/metrics" else receiver.status)
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportMetricsServiceRequest()
                request.ParseFromString(body)
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, request))
                reply = ExportMetricsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def points(self, request: ExportMetricsServiceRequest | None = None) -> dict[str, list[tuple[str, dict, float]]]:
        """Metric name -> [(unit, attributes, value)] of one request (default: the last)."""
        if request is None:
            request = self.requests[-1][1]
        out: dict[str, list[tuple[str, dict, float]]] = {}
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    data = metric.sum if metric.HasField("sum") else metric.gauge
                    for p in data.data_points:
                        value = p.as_double if p.HasField("as_double") else float(p.as_int)
                        out.setdefault(metric.name, []).append((metric.unit, attributes(p.attributes), value))
        return out

    def resource(self, request: ExportMetricsServiceRequest | None = None) -> dict:
        if request is None:
            request = self.requests[-1][1]
        return attributes(request.resource_metrics[0].resource.attributes)


def attributes(kvs) -> dict:
    out = {}
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out
