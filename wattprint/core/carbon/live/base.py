"""What every live provider shares: caching, timeouts, backoff and the bundled fallback.

A provider is an :class:`~wattprint.core.carbon.intensity.IntensitySource` whose ``current()``
never raises and never blocks longer than its timeout: on any failure it returns the last good
reading while it is fresh enough, else the bundled figure for the same location, logs one warning
for the outage, and waits (30 s, doubling, up to 15 min; longer after a rejected token or when
the server sends ``Retry-After``) before it asks the service again.
"""

from __future__ import annotations

import math
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from wattprint._log import getLogger
from wattprint.core.carbon.intensity import MAX_PLAUSIBLE_G_PER_KWH, WORLD_AVERAGE, Intensity
from wattprint.core.carbon.live._http import LiveError, check_base_url
from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import ConfigError

__all__ = ["DEFAULT_TIMEOUT_S", "PROVIDER_ALIASES", "LiveError", "LiveProvider", "provider_name"]

logger = getLogger(__name__)

DEFAULT_TIMEOUT_S = 2.5

BACKOFF_START_S = 30.0
BACKOFF_MAX_S = 900.0
AUTH_BACKOFF_S = 3600.0  # a rejected token does not fix itself; ask again hourly at most
MAX_STALE_S = 3 * 3600.0  # a reading older than this no longer describes the grid now

#: Other spellings of the providers' names (the live sources' and the forecasters' alike).
PROVIDER_ALIASES = {"electricitymap": "electricitymaps", "gb": "uk", "carbonintensityuk": "uk",
                    "energinet": "energidataservice", "dk": "energidataservice"}


def provider_name(text: str) -> str:
    """A provider's name as the registries key it: ``"Electricity-Maps"``, ``"electricity_map"``
    -> ``"electricitymaps"``; ``"GB"`` -> ``"uk"``. An unknown name comes back cleaned, unchanged."""
    name = text.strip().lower().replace("-", "").replace("_", "")
    return PROVIDER_ALIASES.get(name, name)


class LiveProvider(ABC):
    """Base class of the live providers.

    Args:
        base_url: service root; default from the provider's ``*_URL`` environment variable, else
            its public endpoint. HTTPS only, except plain HTTP to a loopback address.
        timeout_s: limit for one request, seconds (default 2.5).
        refresh_s: how often the meter should call :meth:`current` (seconds); readings are cached
            for most of that period.
        environ: environment to read instead of ``os.environ``.
        clock: monotonic clock for caching and backoff (tests inject a fake one).

    Raises:
        ConfigError: a bad URL, timeout or refresh period, or missing credentials.
    """

    name: ClassVar[str]
    default_url: ClassVar[str]
    url_env: ClassVar[str]
    default_refresh_s: ClassVar[float]
    auth_hint: ClassVar[str] = ""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        refresh_s: float | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._env: Mapping[str, str] = os.environ if environ is None else environ
        url = base_url or self._env.get(self.url_env, "").strip() or self.default_url
        self.base_url = check_base_url(url, f"the {self.name} base URL ({self.url_env})")
        self.timeout_s = _positive(timeout_s, "timeout_s", upper=30.0)
        self.refresh_s = _positive(self.default_refresh_s if refresh_s is None else refresh_s,
                                   "refresh_s")
        self._clock = clock or SYSTEM_CLOCK
        self._lock = threading.Lock()
        self._fallback: Intensity | None = None
        self._last: Intensity | None = None
        self._last_at = -math.inf
        self._retry_at = -math.inf
        self._failures = 0
        self._warned = False
        self.last_error: str | None = None

    # -- location -----------------------------------------------------------------------------

    def bind(self, located: Intensity) -> Intensity:
        """Attach the bundled figure for the resolved location and return the fallback to use.

        Called by :func:`~wattprint.core.carbon.resolve_source`. Subclasses check that they can
        serve the location (raising :class:`ConfigError` if not) and may pick a better fallback.
        """
        self._fallback = self._choose_fallback(located)
        return self._fallback

    def _choose_fallback(self, located: Intensity) -> Intensity:
        return located

    @property
    def fallback(self) -> Intensity:
        """The bundled figure returned while the service cannot be reached."""
        return self._fallback if self._fallback is not None else WORLD_AVERAGE

    # -- reading ------------------------------------------------------------------------------

    def current(self) -> Intensity:
        """The latest reading (cached), or the fallback; never raises."""
        with self._lock:
            try:
                return self._current_locked()
            except Exception as exc:  # the contract: a live source never breaks a training run
                logger.debug("%s: unexpected %s; using the bundled figure", self.name,
                             type(exc).__name__)
                return self.fallback

    def _current_locked(self) -> Intensity:
        now = self._clock.monotonic()
        if self._last is not None and now - self._last_at < 0.9 * self.refresh_s:
            return self._last
        if now < self._retry_at:
            return self._stale_or_fallback(now)
        try:
            reading = self._fetch()
        except (LiveError, AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            # The parsing errors mean a payload of an unexpected shape: an outage like any other.
            self._failed(exc, now)
            return self._stale_or_fallback(now)
        if self._warned:
            logger.info("%s: live carbon intensity available again", self.name)
        self._failures, self._warned, self.last_error = 0, False, None
        self._last, self._last_at = reading, self._clock.monotonic()
        return reading

    def _failed(self, exc: Exception, now: float) -> None:
        self._failures += 1
        status = getattr(exc, "status", None)
        reason = str(exc) if isinstance(exc, LiveError) else f"unexpected response ({type(exc).__name__})"
        delay = min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (self._failures - 1))
        if status in (401, 403):
            delay = AUTH_BACKOFF_S
            if self.auth_hint:
                reason += f"; {self.auth_hint}"
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after is not None:
            delay = min(max(delay, retry_after), AUTH_BACKOFF_S)
        self._retry_at = now + delay
        self.last_error = reason
        if not self._warned:
            self._warned = True
            logger.warning(
                "%s: live carbon intensity unavailable (%s); using %s until it recovers "
                "(next try in %.0f s)", self.name, reason, self.fallback.describe(), delay)
        else:
            logger.debug("%s: still unavailable (%s); next try in %.0f s", self.name, reason, delay)

    def _stale_or_fallback(self, now: float) -> Intensity:
        # Labelled, so a record says the live figure it asked for was not the one it used.
        if self._last is not None and now - self._last_at < MAX_STALE_S:
            return replace(self._last, located_by=f"{self._last.located_by} (stale)")
        return replace(self.fallback, located_by=f"{self.fallback.located_by} (live {self.name} unavailable: bundled figure)")

    @abstractmethod
    def _fetch(self) -> Intensity:
        """One request to the service; raises :class:`LiveError` (or a parsing error)."""

    # -- helpers for subclasses ---------------------------------------------------------------

    def _reading(self, g_per_kwh: float, *, source: str, basis: str, licence: str,
                 key: str | None = None, name: str | None = None) -> Intensity:
        located = self.fallback
        return replace(
            located,
            g_per_kwh=g_per_kwh,
            key=key or located.key,
            name=name or located.name,
            source=source,
            year=None,
            basis=basis,
            licence=licence,
            located_by=f"live:{self.name}",
        )

    def _credential(self, value: str | None, *env_vars: str) -> str | None:
        """The argument, else the first variable set; surrounding whitespace (a token read
        from a file ends in a newline) is dropped, and control characters inside are refused."""
        found = value.strip() if isinstance(value, str) else value
        if not found:
            found = next((v for v in (self._env.get(var, "").strip() for var in env_vars) if v), None)
        if found and any(ord(c) < 32 or ord(c) == 127 for c in found):
            raise ConfigError(f"{self.name}: a credential contains control characters; check how it was read")
        return found or None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, refresh_s={self.refresh_s:g})"


def number(value: Any, what: str) -> float:
    """A finite, plausible g/kWh from a JSON value, else :class:`LiveError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LiveError(f"{what} is not a number: {type(value).__name__}")
    g = float(value)
    if not math.isfinite(g) or g < 0 or g > MAX_PLAUSIBLE_G_PER_KWH:
        raise LiveError(f"{what} is out of range: {g!r}")
    return g


def _positive(value: Any, what: str, upper: float = math.inf) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a number of seconds, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(v) or v <= 0 or v > upper:
        bound = f" and at most {upper:g}" if math.isfinite(upper) else ""
        raise ConfigError(f"{what} must be > 0{bound} seconds, got {value!r}")
    return v
