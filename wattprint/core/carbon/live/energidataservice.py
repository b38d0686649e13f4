"""Denmark's Energi Data Service (Energinet; no token): CO2 per kWh by price area, every 5 min.

``GET /dataset/CO2Emis?start=...&filter={"PriceArea":["DK1"]}&sort=Minutes5UTC DESC&limit=1``
answers ``{"records": [{"Minutes5UTC": ..., "PriceArea": "DK1", "CO2Emission": 160.0}]}``
(g/kWh). ``dataset="CO2EmisProg"`` reads the forecast instead.
"""

from __future__ import annotations

import json
import time
from typing import Any

from wattprint.core.carbon.intensity import Intensity
from wattprint.core.carbon.live._http import get_json
from wattprint.core.carbon.live.base import LiveError, LiveProvider, number
from wattprint.core.carbon.table import lookup, row_for
from wattprint.core.errors import ConfigError

__all__ = ["EnergiDataService"]

PRICE_AREAS = ("DK1", "DK2")
AREA_OF_REGION = {"DK-DK1": "DK1", "DK-DK2": "DK2", "DK-BHM": "DK2"}  # Bornholm trades in DK2


class EnergiDataService(LiveProvider):
    """Live intensity for West (DK1) or East (DK2) Denmark.

    Args:
        price_area: ``"DK1"`` or ``"DK2"``; default from ``region="DK-DK1"`` / ``"DK-DK2"``.
        dataset: ``"CO2Emis"`` (default, measured) or ``"CO2EmisProg"`` (forecast).
        connection: :class:`LiveProvider`'s options, passed on as given: ``base_url`` (default
            ``WATTPRINT_ENERGIDATASERVICE_URL`` or ``https://api.energidataservice.dk``), ``timeout_s``,
            ``refresh_s`` (default 300 s), ``environ``, ``clock``.
    """

    name = "energidataservice"
    default_url = "https://api.energidataservice.dk"
    url_env = "WATTPRINT_ENERGIDATASERVICE_URL"
    default_refresh_s = 300.0

    def __init__(
        self,
        price_area: str | None = None,
        *,
        dataset: str = "CO2Emis",
        **connection: Any,
    ) -> None:
        super().__init__(**connection)
        if price_area is not None:
            price_area = str(price_area).strip().upper()
            if price_area not in PRICE_AREAS:
                raise ConfigError(f"price_area must be 'DK1' or 'DK2', got {price_area!r}")
        if dataset not in ("CO2Emis", "CO2EmisProg"):
            raise ConfigError(f"dataset must be 'CO2Emis' or 'CO2EmisProg', got {dataset!r}")
        self.price_area = price_area
        self.dataset = dataset

    def _choose_fallback(self, located: Intensity) -> Intensity:
        row = row_for(located.key)
        area = AREA_OF_REGION.get(row.key) if row is not None else None
        if self.price_area is None:
            if area is None:
                where = f"the location is {row.key} ({row.name})" if row else "no location was given"
                raise ConfigError(
                    f"the 'energidataservice' live provider needs a Danish price area, but {where}; "
                    "pass region='DK-DK1' (West Denmark) or region='DK-DK2' (East Denmark)"
                )
            self.price_area = area
            return located
        if row is not None and row.country_iso3 != "DNK":
            raise ConfigError(
                f"the 'energidataservice' live provider covers Denmark only, but the location is "
                f"{row.key} ({row.name})"
            )
        if area == self.price_area:
            return located
        return lookup(f"DK-{self.price_area}", "region")

    def _fetch(self) -> Intensity:
        if self.price_area is None:
            raise LiveError("no price area: pass price_area= or region='DK-DK1'/'DK-DK2'")
        start = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(self._clock.time() - 86400.0))
        payload = get_json(
            f"{self.base_url}/dataset/{self.dataset}",
            params={
                "start": start,
                "filter": json.dumps({"PriceArea": [self.price_area]}, separators=(",", ":")),
                "sort": "Minutes5UTC DESC",
                "limit": "1",
            },
            timeout_s=self.timeout_s,
        )
        records = payload["records"]
        if not records:
            raise LiveError(f"no {self.dataset} records for {self.price_area} in the last day")
        record = records[0]
        if record.get("PriceArea", self.price_area) != self.price_area:
            raise LiveError(f"record for {record.get('PriceArea')!r}, asked for {self.price_area}")
        g = number(record.get("CO2Emission"), "CO2Emission")
        return self._reading(
            g,
            source=f"Energi Data Service {self.dataset}, {self.price_area}, "
                   f"{record.get('Minutes5UTC', '')} UTC",
            basis="unknown",
            licence="Energi Data Service terms",
        )
