"""Great Britain's Carbon Intensity API (NESO; no token), national or by region.

National: ``GET /intensity`` (the measured ``actual`` when published, else ``forecast``).
Regional (forecast only): ``GET /regional/regionid/{1..17}`` or ``GET /regional/postcode/{outcode}``.
The figures are operational (direct) and cover Great Britain, not Northern Ireland.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from wattprint.core.carbon.intensity import Intensity
from wattprint.core.carbon.live._http import get_json
from wattprint.core.carbon.live.base import LiveError, LiveProvider, number
from wattprint.core.carbon.table import lookup, row_for
from wattprint.core.errors import ConfigError

__all__ = ["UKCarbonIntensity"]

REGION_IDS = range(1, 18)  # 1-14 distribution areas, 15 England, 16 Scotland, 17 Wales


class UKCarbonIntensity(LiveProvider):
    """Live intensity for Great Britain from api.carbonintensity.org.uk.

    Args:
        region_id: regional forecast for a region id 1-17 (15 England, 16 Scotland, 17 Wales).
        postcode: regional forecast for an outward postcode such as ``"RG10"``.
        connection: :class:`LiveProvider`'s options, passed on as given: ``base_url`` (default
            ``WATTPRINT_UK_CARBON_INTENSITY_URL`` or ``https://api.carbonintensity.org.uk``), ``timeout_s``,
            ``refresh_s`` (default 900 s, the data are half-hourly), ``environ``, ``clock``.
    """

    name = "uk"
    default_url = "https://api.carbonintensity.org.uk"
    url_env = "WATTPRINT_UK_CARBON_INTENSITY_URL"
    default_refresh_s = 900.0

    def __init__(
        self,
        *,
        region_id: int | None = None,
        postcode: str | None = None,
        **connection: Any,
    ) -> None:
        super().__init__(**connection)
        if region_id is not None and postcode is not None:
            raise ConfigError("pass region_id= or postcode=, not both")
        if region_id is not None and (isinstance(region_id, bool) or region_id not in REGION_IDS):
            raise ConfigError(f"region_id must be an integer from 1 to 17, got {region_id!r}")
        if postcode is not None:
            postcode = postcode.strip().upper()
            if not re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?", postcode):
                raise ConfigError(
                    f"postcode must be the outward part of a GB postcode such as 'RG10', got {postcode!r}"
                )
        self.region_id = region_id
        self.postcode = postcode

    def _choose_fallback(self, located: Intensity) -> Intensity:
        row = row_for(located.key)
        if row is None:  # no location given: choosing this provider says Great Britain
            return replace(lookup("GB", "country"), located_by=f"live:{self.name}")
        if row.country_iso3 == "GBR" and row.key != "GB-NIR":
            return located
        raise ConfigError(
            f"the 'uk' live provider covers Great Britain only, but the location is {row.key} "
            f"({row.name}); use live='electricitymaps' there, or drop live="
        )

    def _fetch(self) -> Intensity:
        if self.region_id is not None:
            payload = get_json(f"{self.base_url}/regional/regionid/{self.region_id}",
                               timeout_s=self.timeout_s)
            return self._regional(payload)
        if self.postcode is not None:
            payload = get_json(f"{self.base_url}/regional/postcode/{self.postcode}",
                               timeout_s=self.timeout_s)
            return self._regional(payload)
        payload = get_json(f"{self.base_url}/intensity", timeout_s=self.timeout_s)
        period = payload["data"][0]
        intensity = period["intensity"]
        actual = intensity.get("actual")
        kind = "actual" if actual is not None else "forecast"
        g = number(actual if actual is not None else intensity.get("forecast"), f"intensity.{kind}")
        return self._reading(g, source=f"NESO Carbon Intensity API, Great Britain, {kind} "
                                       f"{period.get('from', '')}-{period.get('to', '')}",
                             basis="direct", licence="NESO Carbon Intensity API terms")

    def _regional(self, payload: Any) -> Intensity:
        region = payload["data"][0]
        if not isinstance(region, dict):
            raise LiveError("unexpected regional payload")
        # /regional/regionid and /regional/postcode nest the periods one level deeper.
        period = region["data"][0] if "data" in region else region
        g = number(period["intensity"].get("forecast"), "intensity.forecast")
        label = region.get("shortname") or self.postcode or f"region {self.region_id}"
        return self._reading(g, source=f"NESO Carbon Intensity API, {label}, forecast "
                                       f"{period.get('from', '')}-{period.get('to', '')}",
                             basis="direct", licence="NESO Carbon Intensity API terms")
