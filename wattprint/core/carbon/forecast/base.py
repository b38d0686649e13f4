"""What every forecast provider shares: a cached ``forecast()`` with backoff, on a live provider.

A forecast provider *is* its live provider (same constructor, token handling, base URL rules,
location binding and ``current()``), plus :meth:`Forecasting.forecast`. Unlike ``current()``,
which must never raise because a training run reads it, ``forecast()`` raises
:class:`ForecastUnavailable` with the reason: a planner has nothing to fall back to but
"start now", and the user should be told why.
"""

from __future__ import annotations

import math
from typing import ClassVar

from wattprint._log import getLogger
from wattprint.core.carbon.forecast.curve import Forecast, ForecastUnavailable
from wattprint.core.carbon.live.base import (
    AUTH_BACKOFF_S,
    BACKOFF_MAX_S,
    BACKOFF_START_S,
    LiveError,
)

__all__ = ["Forecasting"]

logger = getLogger(__name__)

# Parsing errors mean a payload of an unexpected shape: an outage like any other.
_SHAPE_ERRORS = (AttributeError, KeyError, IndexError, TypeError, ValueError)


class Forecasting:
    """Mixin for a :class:`~wattprint.core.carbon.live.base.LiveProvider` subclass.

    Subclasses set ``max_horizon_s`` (what the service forecasts at most) and implement
    ``_fetch_forecast(now, horizon_s)``, one request returning a :class:`Forecast`.
    """

    max_horizon_s: ClassVar[float] = 48 * 3600.0
    _forecast_cache: tuple[Forecast, float] | None = None
    _forecast_retry_at: float = -math.inf
    _forecast_failures: int = 0
    _forecast_error: str = ""

    def forecast(self, horizon_s: float = 24 * 3600.0) -> Forecast:
        """The forecast from now for ``horizon_s`` seconds (capped at what the service offers).

        Cached for most of the provider's ``refresh_s``; after a failure the service is not
        asked again for 30 s (doubling up to 15 min, an hour after a rejected token), and the
        same reason is raised meanwhile.

        Raises:
            ForecastUnavailable: the reason, naming the provider.
        """
        horizon = min(max(float(horizon_s), 0.0), self.max_horizon_s)
        with self._lock:  # type: ignore[attr-defined]
            clock = self._clock  # type: ignore[attr-defined]
            mono, now = clock.monotonic(), clock.time()
            cached = self._forecast_cache
            if cached is not None and mono - cached[1] < 0.9 * self.refresh_s and cached[0].end >= now + horizon:  # type: ignore[attr-defined]
                return cached[0]
            if mono < self._forecast_retry_at:
                raise ForecastUnavailable(self._forecast_error)
            try:
                result = self._fetch_forecast(now, horizon)
            except (LiveError, ForecastUnavailable, *_SHAPE_ERRORS) as exc:
                raise ForecastUnavailable(self._forecast_failed(exc, mono)) from None
            self._forecast_failures, self._forecast_error = 0, ""
            self._forecast_cache = (result, mono)
            return result

    def _forecast_failed(self, exc: Exception, mono: float) -> str:
        self._forecast_failures += 1
        if isinstance(exc, (LiveError, ForecastUnavailable)):
            reason = str(exc)
        else:
            reason = f"unexpected response ({type(exc).__name__})"
        status = getattr(exc, "status", None)
        delay = min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (self._forecast_failures - 1))
        if status in (401, 403):
            delay = AUTH_BACKOFF_S
            if self.auth_hint:  # type: ignore[attr-defined]
                reason += f"; {self.auth_hint}"  # type: ignore[attr-defined]
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after is not None:
            delay = min(max(delay, retry_after), AUTH_BACKOFF_S)
        self._forecast_retry_at = mono + delay
        self._forecast_error = f"{self.name} forecast unavailable: {reason}"  # type: ignore[attr-defined]
        logger.debug("%s; next try in %.0f s", self._forecast_error, delay)
        return self._forecast_error

    def _fetch_forecast(self, now: float, horizon_s: float) -> Forecast:
        """One request to the service; raises :class:`LiveError` or a parsing error."""
        raise NotImplementedError

    def _labels(self, source: str, basis: str, licence: str, signal: str = "average") -> dict[str, str]:
        located = self.fallback  # type: ignore[attr-defined]
        return {"key": located.key, "name": located.name, "source": source, "basis": basis,
                "signal": signal, "licence": licence}
