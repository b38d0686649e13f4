"""A loopback HTTP server speaking the carbon services' formats, for the provider tests."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeService", "serving", "uk_periods"]


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (the provider's timeout, a slow-drip reply) is what some tests want:
    its broken pipe is no error of the test, and no traceback in the middle of pytest's output."""

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeService:
    """A loopback HTTP server with scripted answers per path; records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                service.requests.append({
                    "path": parts.path,
                    "query": dict(urllib.parse.parse_qsl(parts.query)),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                })
                route = service.routes.get(parts.path) or next(
                    (r for key, r in service.routes.items()
                     if key.endswith("*") and parts.path.startswith(key[:-1])), None) or {
                    "status": 404, "body": {"status": "error", "message": "No data"}}
                if route.get("delay_s"):
                    service.release.wait(route["delay_s"])
                body = route.get("body")
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(route.get("status", 200))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in route.get("headers", {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if route.get("stall_body_s"):
                    self.wfile.write(raw[:5])
                    self.wfile.flush()
                    service.release.wait(route["stall_body_s"])
                if route.get("dribble_s"):  # one byte at a time: every read waits less than a timeout
                    for i in range(len(raw)):
                        if service.release.wait(route["dribble_s"]):
                            return
                        self.wfile.write(raw[i:i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def set(self, path: str, body: Any = None, status: int = 200, **extra: Any) -> None:
        """Answer ``path`` (or every path starting with it, when it ends in ``*``)."""
        self.routes[path] = {"status": status, "body": body, **extra}

    def close(self) -> None:
        """Stop serving; requests still held (delays, stalls) are let go at once."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def hits(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]


@contextmanager
def serving() -> Iterator[FakeService]:
    """A running :class:`FakeService`, closed on leaving, whatever happened inside."""
    svc = FakeService()
    svc.thread.start()
    try:
        yield svc
    finally:
        svc.close()


def uk_periods(start: float, values: list[Any], step: float = 1800.0) -> list[dict[str, Any]]:
    """Half-hours from ``start`` (Unix s) as NESO's ``/intensity/{from}/fw48h`` lists them."""
    import time

    def stamp(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(t))

    return [{"from": stamp(start + i * step), "to": stamp(start + (i + 1) * step),
             "intensity": {"forecast": g, "actual": None, "index": "moderate"}} for i, g in enumerate(values)]
