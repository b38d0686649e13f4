"""Checks of the exporters' options, and how their addresses are shown without secrets.

Standard library only: :class:`~wattprint.core.settings.Settings` runs these checks at
construction, so a malformed address fails before anything starts, and nothing optional is
imported for it. Credentials may sit in a URL's user-info (``https://user:token@gateway``);
:func:`redact` is the only way the exporters ever show an address.
"""

from __future__ import annotations

import re

from wattprint.core import validate
from wattprint.core.errors import ConfigError

#: Below this an export costs more than it shows; the sampler's own period is the real floor.
MIN_EXPORT_PERIOD_S = 0.1
DEFAULT_EXPORT_PERIOD_S = 10.0
_HOST = re.compile(r"^[A-Za-z0-9._\-\[\]:]+$")


def url(value: object, opt: str) -> str | None:
    """An ``http://`` or ``https://`` URL with a host (and a valid port, if one is given), or None.

    The message never repeats the value itself, which may hold a password.
    """
    if value is None:
        return None
    example = f"{opt} must be a URL such as 'http://localhost:9091'"
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        raise ConfigError(f"{example}, got {'a ' + type(value).__name__ if not isinstance(value, str) else 'text that is not one'}.")
    # Deferred: a tracker without exporters checks only export_period here.
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        raise ConfigError(f"{example}; its port is not a number from 1 to 65535.") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{example}: it must start with http:// or https://, got {redact(value)!r}.")
    if not parts.hostname or not _HOST.match(parts.hostname):
        raise ConfigError(f"{example}: no host name in {redact(value)!r}.")
    if port == 0:
        raise ConfigError(f"{example}; its port is not a number from 1 to 65535.")
    if parts.query or parts.fragment:
        raise ConfigError(f"{example}, without ?query or #fragment, got {redact(value)!r}.")
    return value


def listen(value: object, opt: str) -> int | str | None:
    """Where the Prometheus endpoint listens: a port (0: any free one), or ``"ADDRESS:PORT"``."""
    if value is None:
        return None
    if isinstance(value, str):
        address, sep, port_text = value.rpartition(":")
        address = address.strip("[]")
        if not sep or not address or not port_text.isdigit() or not _HOST.match(address):
            raise ConfigError(f"{opt} must be a port number or 'ADDRESS:PORT' such as '127.0.0.1:9464', got {value!r}.")
        _port(int(port_text), opt)
        return value
    return _port(value, opt)


def _port(value: object, opt: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(f"{opt} must be a port number from 0 (any free port) to 65535, got {value!r}.")
    return value


def address(value: int | str) -> tuple[str, int]:
    """A checked :func:`listen` value as ``(address, port)``; a bare port listens on every interface."""
    if isinstance(value, int):
        return "0.0.0.0", value
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def export_period(value: object, opt: str) -> float:
    """Seconds between two exports: a number >= 0.1."""
    period = validate.real_number(value, opt, f" of seconds >= {MIN_EXPORT_PERIOD_S}")
    if period < MIN_EXPORT_PERIOD_S:
        raise ConfigError(
            f"{opt} must be at least {MIN_EXPORT_PERIOD_S} s, got {value!r}; the default is {DEFAULT_EXPORT_PERIOD_S:g}."
        )
    return period


def redact(text: str) -> str:
    """``text`` (a URL) with the user-info's password replaced by ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(text)
    except ValueError:
        return "<an unreadable URL>"
    if parts.password is None and parts.username is None:
        # No user-info as a URL reads it, yet an "@" (a URL without its scheme): drop what precedes it.
        return f"***@{text.rpartition('@')[2]}" if "@" in text else text
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if _has_port(parts) else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _has_port(parts) -> bool:
    try:
        return parts.port is not None
    except ValueError:
        return False


def credentials(text: str) -> tuple[str, str | None, str | None]:
    """``(url without user-info, user name, password)``: the password goes in a header, not the URL."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(text)
    if parts.username is None and parts.password is None:
        return text, None, None
    netloc = parts.netloc.rpartition("@")[2]
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, unquote(parts.username or ""), unquote(parts.password or "")


def scrub(message: str, secrets: tuple[str | None, ...]) -> str:
    """``message`` with every non-empty one of ``secrets`` replaced by ``***`` (for errors of libraries)."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message
