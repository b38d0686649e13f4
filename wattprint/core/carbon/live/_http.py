"""Minimal stdlib HTTP for live providers: HTTPS only (plain HTTP to loopback), no redirects,
a hard deadline, a size cap, and errors that never carry request headers (tokens live there)."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from wattprint.core.errors import ConfigError

__all__ = ["LiveError", "check_base_url", "get_json", "is_loopback"]

MAX_BYTES = 1 << 20  # every documented payload is a few kB; a larger one is not ours


class LiveError(Exception):
    """A live request failed. ``status`` is the HTTP status when there was one;
    ``retry_after_s`` is the server's ``Retry-After`` in seconds, if it sent one."""

    def __init__(self, message: str, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.0.0.0/8``, ``::1``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, what: str) -> str:
    """Return ``url`` without a trailing slash, or raise :class:`ConfigError`.

    HTTPS is required; plain HTTP is accepted only towards a loopback address (a local proxy or
    a test server), because the request carries an API token.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{what} must be a URL such as https://host/path, got {url!r}")
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme == "https" and parts.hostname:
        pass
    elif parts.scheme == "http" and is_loopback(parts.hostname):
        pass
    elif parts.scheme == "http":
        raise ConfigError(
            f"{what} uses plain http:// to {parts.hostname!r}; use https:// (plain HTTP is "
            "accepted only for loopback addresses such as 127.0.0.1)"
        )
    else:
        raise ConfigError(f"{what} must be an https:// URL, got {url!r}")
    if parts.username or parts.password:
        raise ConfigError(f"{what} must not embed credentials; pass them as arguments instead")
    return url.strip().rstrip("/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would replay our headers, token included, to wherever a redirect points.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise urllib.error.HTTPError(req.full_url, code, f"redirect refused ({msg})", headers, fp)


def _opener(url: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if is_loopback(urllib.parse.urlsplit(url).hostname):
        handlers.append(urllib.request.ProxyHandler({}))  # never send loopback traffic to a proxy
    return urllib.request.build_opener(*handlers)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date; the caller's own backoff applies


def get_json(
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float,
) -> Any:
    """GET ``url`` and decode its JSON body; raise :class:`LiveError` on any failure.

    The whole exchange is bounded by ``timeout_s`` (connect, headers and body together, give or
    take one socket operation), not only each socket operation.
    """
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"Accept": "application/json", **(headers or {})})
    deadline = time.monotonic() + timeout_s
    path = urllib.parse.urlsplit(url).path
    try:
        with _opener(url).open(request, timeout=timeout_s) as response:
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise LiveError(f"GET {path}: no complete response within {timeout_s:g} s")
                # read1 returns whatever has arrived, so a server sending a byte at a time
                # meets the deadline check above instead of holding one read for a minute.
                chunk = response.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BYTES:
                    raise LiveError(f"GET {path}: response larger than {MAX_BYTES} bytes")
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        raise LiveError(f"GET {path}: HTTP {exc.code} {exc.reason}", exc.code,
                        _retry_after(exc.headers)) from None
    except (TimeoutError, socket.timeout):
        raise LiveError(f"GET {path}: no response within {timeout_s:g} s") from None
    except urllib.error.URLError as exc:
        raise LiveError(f"GET {path}: {exc.reason}") from None
    except OSError as exc:  # connection resets; their text names no header
        raise LiveError(f"GET {path}: {type(exc).__name__}: {exc}") from None
    except (ValueError, http.client.HTTPException) as exc:
        # By type only: http.client quotes a rejected header's value, and tokens live there.
        raise LiveError(f"GET {path}: {type(exc).__name__} (a malformed request or response)") from None
    try:
        return json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LiveError(f"GET {path}: malformed JSON ({type(exc).__name__})") from None
