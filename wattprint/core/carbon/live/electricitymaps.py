"""Electricity Maps live carbon intensity (``GET /v3/carbon-intensity/latest``, token header).

Needs a token: ``token=``, or ``WATTPRINT_ELECTRICITYMAPS_TOKEN`` / ``ELECTRICITYMAPS_TOKEN``.
The zone comes from ``zone=`` or from the resolved location: a country (``FR``), an Electricity
Maps zone from the regions table (``SE-SE3``, ``US-CAL-CISO``) or a cloud region (its grid zone,
or the API's data-centre lookup for Google Cloud). US and Indian *state* keys are not zones.
"""

from __future__ import annotations

from typing import Any

from wattprint.core.carbon.intensity import Intensity
from wattprint.core.carbon.live._http import get_json
from wattprint.core.carbon.live.base import LiveError, LiveProvider, number
from wattprint.core.carbon.table import lookup, row_for
from wattprint.core.errors import CarbonDataError, ConfigError

__all__ = ["ElectricityMaps"]

TOKEN_ENVS = ("WATTPRINT_ELECTRICITYMAPS_TOKEN", "ELECTRICITYMAPS_TOKEN")


class ElectricityMaps(LiveProvider):
    """Live intensity from the Electricity Maps API (lifecycle by default, consumption-based).

    Args:
        zone: Electricity Maps zone key (``"DE"``, ``"SE-SE3"``); default: from the location.
        token: API token; default from ``WATTPRINT_ELECTRICITYMAPS_TOKEN`` or
            ``ELECTRICITYMAPS_TOKEN``. Never logged or shown in ``repr``.
        emission_factor_type: ``"lifecycle"`` (default, like the bundled tables) or ``"direct"``.
        api_version: path segment of the API version (``"v3"``; ``"v4"`` answers the same shape).
        connection: :class:`LiveProvider`'s options, passed on as given: ``base_url`` (default
            ``WATTPRINT_ELECTRICITYMAPS_URL`` or ``https://api.electricitymaps.com``), ``timeout_s``,
            ``refresh_s`` (default 900 s), ``environ``, ``clock``.
    """

    name = "electricitymaps"
    default_url = "https://api.electricitymaps.com"
    url_env = "WATTPRINT_ELECTRICITYMAPS_URL"
    default_refresh_s = 900.0
    auth_hint = "check the token in ELECTRICITYMAPS_TOKEN or token="

    def __init__(
        self,
        zone: str | None = None,
        *,
        token: str | None = None,
        emission_factor_type: str = "lifecycle",
        api_version: str = "v3",
        **connection: Any,
    ) -> None:
        super().__init__(**connection)
        self.__token = self._credential(token, *TOKEN_ENVS)
        if not self.__token:
            raise ConfigError(
                "Electricity Maps needs an API token: set ELECTRICITYMAPS_TOKEN (or "
                "WATTPRINT_ELECTRICITYMAPS_TOKEN) or pass token=; free tokens at "
                "https://portal.electricitymaps.com"
            )
        if emission_factor_type not in ("lifecycle", "direct"):
            raise ConfigError(
                f"emission_factor_type must be 'lifecycle' or 'direct', got {emission_factor_type!r}"
            )
        if not (isinstance(api_version, str) and api_version.strip("/").isalnum()):
            raise ConfigError(f"api_version must look like 'v3', got {api_version!r}")
        self.emission_factor_type = emission_factor_type
        self.api_version = api_version.strip("/")
        self.zone = zone.strip() if isinstance(zone, str) and zone.strip() else None
        self._query: dict[str, str] | None = {"zone": self.zone} if self.zone else None

    def _choose_fallback(self, located: Intensity) -> Intensity:
        if self.zone:
            try:
                return lookup(self.zone)  # the bundled figure for the same zone, when there is one
            except CarbonDataError:
                return located
        row = row_for(located.key)
        if row is None:
            raise ConfigError(
                "Electricity Maps needs a location: pass country=, region= (an Electricity Maps "
                "zone such as 'SE-SE3'), cloud=, or ElectricityMaps(zone=...)"
            )
        if row.kind == "country":
            self._query = {"zone": row.key}
        elif row.zone:
            self._query = {"zone": row.zone}
        elif row.kind == "cloud":
            provider, region = row.key.split(":", 1)
            self._query = {"dataCenterProvider": provider, "dataCenterRegion": region}
        else:
            raise ConfigError(
                f"{row.key} ({row.name}) is a state of the {row.source.name} table, not an "
                "Electricity Maps zone; pass the grid zone instead, e.g. region='US-CAL-CISO', "
                "or ElectricityMaps(zone=...)"
            )
        return located

    def _fetch(self) -> Intensity:
        if self._query is None:
            raise LiveError("no zone: call resolve_source(live=...) or pass zone=")
        params = {**self._query, "emissionFactorType": self.emission_factor_type,
                  "disableCallerLookup": "true"}
        payload = get_json(f"{self.base_url}/{self.api_version}/carbon-intensity/latest",
                           params=params, headers=self._auth_headers(), timeout_s=self.timeout_s)
        return self._parse(payload)

    def _auth_headers(self) -> dict[str, str]:
        return {"auth-token": self.__token or ""}

    def _parse(self, payload: Any) -> Intensity:
        if not isinstance(payload, dict):
            raise LiveError("response is not a JSON object")
        g = number(payload.get("carbonIntensity"), "carbonIntensity")
        basis = payload.get("emissionFactorType") or self.emission_factor_type
        zone = payload.get("zone") or (self._query or {}).get("zone")
        parts = ["Electricity Maps live", f"zone {zone}" if zone else "",
                 str(payload.get("datetime") or "latest"),
                 "estimated" if payload.get("isEstimated") else ""]
        source = ", ".join(p for p in parts if p)
        key = name = None
        if self.zone and self.fallback.key.upper() != self.zone.upper():
            key = name = self.zone
        return self._reading(g, source=source, basis=basis if basis in ("lifecycle", "direct") else "unknown",
                             licence="Electricity Maps API terms", key=key, name=name)

    def __repr__(self) -> str:
        token = "'***'" if self.__token else "None"
        return (f"ElectricityMaps(zone={self.zone!r}, token={token}, base_url={self.base_url!r}, "
                f"refresh_s={self.refresh_s:g})")
