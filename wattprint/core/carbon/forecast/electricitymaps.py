"""Electricity Maps forecast (``GET /v3/carbon-intensity/forecast``, token header).

Answers ``{"zone": "DE", "forecast": [{"carbonIntensity": 302, "datetime":
"2026-01-20T10:00:00.000Z"}, ...], "updatedAt": ...}``: one value per hour, each holding until
the next one.
"""

from __future__ import annotations

from wattprint.core.carbon.forecast.base import Forecasting
from wattprint.core.carbon.forecast.curve import Forecast, Period, parse_utc
from wattprint.core.carbon.live._http import get_json
from wattprint.core.carbon.live.base import LiveError, number
from wattprint.core.carbon.live.electricitymaps import ElectricityMaps

__all__ = ["ElectricityMapsForecast"]

HORIZONS_H = (6, 24, 48, 72)  # what the API accepts as horizonHours


class ElectricityMapsForecast(Forecasting, ElectricityMaps):
    """:class:`~wattprint.core.carbon.live.ElectricityMaps` with the forecast (same arguments)."""

    max_horizon_s = 72 * 3600.0

    def _fetch_forecast(self, now: float, horizon_s: float) -> Forecast:
        if self._query is None:
            raise LiveError("no zone: pass a location or zone=")
        hours = next((h for h in HORIZONS_H if h * 3600 >= horizon_s), HORIZONS_H[-1])
        params = {**self._query, "emissionFactorType": self.emission_factor_type,
                  "horizonHours": str(hours)}
        payload = get_json(f"{self.base_url}/{self.api_version}/carbon-intensity/forecast",
                           params=params, headers=self._auth_headers(), timeout_s=self.timeout_s)
        points = [(parse_utc(p["datetime"]), number(p["carbonIntensity"], "carbonIntensity"))
                  for p in payload["forecast"]]
        points.sort()
        steps = []
        for i, (t, g) in enumerate(points):
            end = points[i + 1][0] if i + 1 < len(points) else t + (steps[-1].end - steps[-1].start if steps else 3600.0)
            steps.append(Period(t, end, g))
        zone = payload.get("zone") or self._query.get("zone") or self.fallback.key
        basis = payload.get("emissionFactorType") or self.emission_factor_type
        return Forecast.of(steps, **self._labels(
            f"Electricity Maps forecast, zone {zone}", basis if basis in ("lifecycle", "direct") else "unknown",
            "Electricity Maps API terms"))
