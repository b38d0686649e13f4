"""WattTime v3 forecast (``GET /v3/forecast``, bearer token from ``/login``).

Answers ``{"data": [{"point_time": "2026-01-20T10:00:00+00:00", "value": 1048.4}, ...],
"meta": {"data_point_period_seconds": 300, "units": "lbs_co2_per_mwh", ...}}``, 72 hours at most.
The signal is *marginal* (``co2_moer``): the plan says so, and compares starts only with each other.
"""

from __future__ import annotations

from wattprint.core.carbon.forecast.base import Forecasting
from wattprint.core.carbon.forecast.curve import Forecast, Period, parse_utc
from wattprint.core.carbon.live.base import LiveError, number
from wattprint.core.carbon.live.watttime import G_PER_KWH_PER_UNIT, WattTime

__all__ = ["WattTimeForecast"]


class WattTimeForecast(Forecasting, WattTime):
    """:class:`~wattprint.core.carbon.live.WattTime` with the forecast (same arguments)."""

    max_horizon_s = 72 * 3600.0

    def _fetch_forecast(self, now: float, horizon_s: float) -> Forecast:
        hours = max(1, min(72, int(-(-horizon_s // 3600))))
        payload = self._authorised_get("/v3/forecast", {"region": self.region or "", "signal_type": self.signal_type,
                                                        "horizon_hours": str(hours)})
        meta = payload.get("meta") or {}
        units = meta.get("units")
        if units not in G_PER_KWH_PER_UNIT:
            raise LiveError(f"{self.signal_type} in unsupported units {units!r}")
        step = float(meta.get("data_point_period_seconds") or 300)
        if not step > 0:
            raise LiveError(f"data_point_period_seconds is {step!r}")
        factor = G_PER_KWH_PER_UNIT[units]
        steps = []
        for point in payload["data"]:
            t = parse_utc(point["point_time"])
            steps.append(Period(t, t + step, number(point.get("value"), "value") * factor))
        return Forecast.of(steps, **self._labels(
            f"WattTime {self.signal_type} forecast (marginal), region {self.region}", "direct",
            "WattTime terms of use", signal="marginal"))
