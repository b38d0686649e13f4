"""Great Britain's half-hourly forecast (NESO Carbon Intensity API, no token), national or regional.

National: ``GET /intensity/{from}/fw48h`` answers ``{"data": [{"from", "to", "intensity":
{"forecast", "actual", "index"}}]}``. Regional: ``GET /regional/intensity/{from}/fw48h/regionid/{id}``
or ``.../postcode/{outcode}`` answers ``{"data": {"regionid", "shortname", "data": [{"from", "to",
"intensity": {"forecast", "index"}, "generationmix"}]}}``. ``{from}`` is ``YYYY-MM-DDThh:mmZ``.
"""

from __future__ import annotations

import time
from typing import Any

from wattprint.core.carbon.forecast.base import Forecasting
from wattprint.core.carbon.forecast.curve import Forecast, Period, parse_utc
from wattprint.core.carbon.live._http import get_json
from wattprint.core.carbon.live.base import number
from wattprint.core.carbon.live.uk import UKCarbonIntensity

__all__ = ["UKForecast"]

HALF_HOUR_S = 1800


class UKForecast(Forecasting, UKCarbonIntensity):
    """:class:`~wattprint.core.carbon.live.UKCarbonIntensity` with a 48-hour forecast
    (same arguments: ``region_id=`` or ``postcode=`` for a regional one)."""

    max_horizon_s = 48 * 3600.0

    def _fetch_forecast(self, now: float, horizon_s: float) -> Forecast:
        start = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(now - now % HALF_HOUR_S))
        if self.region_id is not None:
            path, where = f"/regional/intensity/{start}/fw48h/regionid/{self.region_id}", None
        elif self.postcode is not None:
            path, where = f"/regional/intensity/{start}/fw48h/postcode/{self.postcode}", None
        else:
            path, where = f"/intensity/{start}/fw48h", "Great Britain"
        payload = self._get(path)
        periods = payload["data"]
        if where is None:
            region = periods[0] if isinstance(periods, list) else periods  # some answers wrap it in a list
            periods = region["data"]
            where = region.get("shortname") or self.postcode or f"region {self.region_id}"
        steps = [Period(parse_utc(p["from"]), parse_utc(p["to"]),
                        number(p["intensity"]["forecast"], "intensity.forecast")) for p in periods]
        return Forecast.of(steps, **self._labels(f"NESO Carbon Intensity API forecast, {where}",
                                                 "direct", "NESO Carbon Intensity API terms"))

    def _get(self, path: str) -> Any:
        return get_json(f"{self.base_url}{path}", timeout_s=self.timeout_s)
