"""WattTime v3: log in with user and password, then read the current marginal emissions rate.

``GET /login`` (HTTP Basic) answers ``{"token": "<JWT>"}``, valid 30 minutes; then
``GET /v3/forecast?region=..&signal_type=co2_moer&horizon_hours=0`` with ``Authorization: Bearer``
answers ``{"data": [{"point_time": .., "value": ..}], "meta": {"units": "lbs_co2_per_mwh", ..}}``;
the first point is the current five-minute period.

The value is a *marginal* operating emissions rate (the generators that respond to extra load),
not the average of the grid mix the bundled tables give; its ``source`` says so.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from wattprint.core.carbon.intensity import Intensity
from wattprint.core.carbon.live._http import get_json
from wattprint.core.carbon.live.base import LiveError, LiveProvider, number
from wattprint.core.errors import ConfigError

__all__ = ["WattTime"]

G_PER_KWH_PER_UNIT = {
    "lbs_co2_per_mwh": 0.45359237,  # 1 lb/MWh = 453.59237 g / 1000 kWh
    "kg_co2_per_mwh": 1.0,
    "g_co2_per_kwh": 1.0,
}
TOKEN_LIFETIME_S = 25 * 60.0  # WattTime tokens last 30 min; renew early


class WattTime(LiveProvider):
    """Live marginal intensity for a WattTime grid region (e.g. ``"CAISO_NORTH"``).

    Args:
        region: WattTime region; default from ``WATTPRINT_WATTTIME_REGION`` or ``WATTTIME_REGION``.
        username, password: default from ``WATTTIME_USERNAME`` / ``WATTTIME_PASSWORD`` (or the
            same names prefixed ``WATTPRINT_``). Never logged or shown in ``repr``.
        signal_type: WattTime signal (default ``"co2_moer"``).
        connection: :class:`LiveProvider`'s options, passed on as given: ``base_url`` (default
            ``WATTPRINT_WATTTIME_URL`` or ``https://api.watttime.org``), ``timeout_s``,
            ``refresh_s`` (default 300 s), ``environ``, ``clock``.
    """

    name = "watttime"
    default_url = "https://api.watttime.org"
    url_env = "WATTPRINT_WATTTIME_URL"
    default_refresh_s = 300.0
    auth_hint = "check WATTTIME_USERNAME and WATTTIME_PASSWORD"

    def __init__(
        self,
        region: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        signal_type: str = "co2_moer",
        **connection: Any,
    ) -> None:
        super().__init__(**connection)
        self.region = self._credential(region, "WATTPRINT_WATTTIME_REGION", "WATTTIME_REGION")
        user = self._credential(username, "WATTPRINT_WATTTIME_USERNAME", "WATTTIME_USERNAME")
        secret = self._credential(password, "WATTPRINT_WATTTIME_PASSWORD", "WATTTIME_PASSWORD")
        if not self.region:
            raise ConfigError(
                "WattTime needs a region such as 'CAISO_NORTH': pass WattTime(region=...) or set "
                "WATTTIME_REGION (find yours with WattTime's /v3/region-from-loc)"
            )
        if not (user and secret):
            raise ConfigError(
                "WattTime needs an account: set WATTTIME_USERNAME and WATTTIME_PASSWORD or pass "
                "username= and password="
            )
        self.signal_type = signal_type
        self.__basic = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
        self.__jwt: str | None = None
        self._jwt_at = -math.inf

    def _login(self) -> str:
        now = self._clock.monotonic()
        if self.__jwt is None or now - self._jwt_at > TOKEN_LIFETIME_S:
            payload = get_json(f"{self.base_url}/login",
                               headers={"Authorization": f"Basic {self.__basic}"},
                               timeout_s=self.timeout_s)
            token = payload.get("token") if isinstance(payload, dict) else None
            if not isinstance(token, str) or not token:
                raise LiveError("login answered without a token")
            self.__jwt, self._jwt_at = token, now
        return self.__jwt

    def _authorised_get(self, path: str, params: dict[str, str]) -> Any:
        """GET ``path`` with the bearer token; a 401 (expired early, revoked) gets one fresh login."""
        url = f"{self.base_url}{path}"
        try:
            return get_json(url, params=params, headers={"Authorization": f"Bearer {self._login()}"},
                            timeout_s=self.timeout_s)
        except LiveError as exc:
            if exc.status != 401:
                raise
            self.__jwt = None
            return get_json(url, params=params, headers={"Authorization": f"Bearer {self._login()}"},
                            timeout_s=self.timeout_s)

    def _fetch(self) -> Intensity:
        params = {"region": self.region or "", "signal_type": self.signal_type, "horizon_hours": "0"}
        payload = self._authorised_get("/v3/forecast", params)
        point = payload["data"][0]
        units = payload.get("meta", {}).get("units")
        if units not in G_PER_KWH_PER_UNIT:
            raise LiveError(f"{self.signal_type} in unsupported units {units!r}")
        g = number(point.get("value"), "value") * G_PER_KWH_PER_UNIT[units]
        return self._reading(
            g,
            source=f"WattTime {self.signal_type} (marginal), region {self.region}, "
                   f"{point.get('point_time', '')}",
            basis="direct",
            licence="WattTime terms of use",
        )

    def __repr__(self) -> str:
        return (f"WattTime(region={self.region!r}, username='***', password='***', "
                f"base_url={self.base_url!r}, refresh_s={self.refresh_s:g})")
