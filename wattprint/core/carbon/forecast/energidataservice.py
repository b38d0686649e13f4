"""Denmark's CO2 emission prognosis (Energi Data Service ``CO2EmisProg``, no token), DK1 or DK2.

``GET /dataset/CO2EmisProg?start=..&end=..&filter={"PriceArea":["DK1"]}&sort=Minutes5UTC ASC``
answers ``{"records": [{"Minutes5UTC": "2026-01-20T16:30:00", "PriceArea": "DK1",
"CO2Emission": 160.0}]}``: g/kWh for each five minutes, times in UTC without an offset.
"""

from __future__ import annotations

import json
import time

from wattprint.core.carbon.forecast.base import Forecasting
from wattprint.core.carbon.forecast.curve import Forecast, Period, parse_utc
from wattprint.core.carbon.live._http import get_json
from wattprint.core.carbon.live.base import LiveError, number
from wattprint.core.carbon.live.energidataservice import EnergiDataService

__all__ = ["EnergiDataServiceForecast"]

STEP_S = 300


class EnergiDataServiceForecast(Forecasting, EnergiDataService):
    """:class:`~wattprint.core.carbon.live.EnergiDataService` with the CO2 emission prognosis
    (same arguments; ``dataset`` is ignored by :meth:`forecast`)."""

    max_horizon_s = 48 * 3600.0

    def _fetch_forecast(self, now: float, horizon_s: float) -> Forecast:
        if self.price_area is None:
            raise LiveError("no price area: pass region='DK-DK1' or 'DK-DK2'")
        start = now - now % STEP_S

        def stamp(t: float) -> str:
            return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(t))

        payload = get_json(
            f"{self.base_url}/dataset/CO2EmisProg",
            params={
                "start": stamp(start),
                "end": stamp(now + horizon_s + STEP_S),
                "filter": json.dumps({"PriceArea": [self.price_area]}, separators=(",", ":")),
                "sort": "Minutes5UTC ASC",
                "limit": str(int(horizon_s // STEP_S) + 3),
            },
            timeout_s=self.timeout_s,
        )
        steps = []
        for record in payload["records"]:
            if record.get("PriceArea", self.price_area) != self.price_area:
                raise LiveError(f"record for {record.get('PriceArea')!r}, asked for {self.price_area}")
            t = parse_utc(record["Minutes5UTC"])
            steps.append(Period(t, t + STEP_S, number(record.get("CO2Emission"), "CO2Emission")))
        return Forecast.of(steps, **self._labels(
            f"Energi Data Service CO2EmisProg, {self.price_area}", "unknown", "Energi Data Service terms"))
