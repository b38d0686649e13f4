"""Carbon-intensity forecasts from the services that publish them, for planning when to run.

    from wattprint.core.carbon.forecast import forecaster_for
    choice = forecaster_for(region="DK-DK2")          # Energi Data Service, no token
    choice.provider.forecast(12 * 3600).periods      # (Period(start, end, g_per_kwh), ...)

Providers: ``"uk"`` (Great Britain, national or by region; no token), ``"energidataservice"``
(Denmark DK1/DK2; no token), ``"electricitymaps"`` (token) and ``"watttime"`` (account; a
marginal signal). Each is the live provider of the same name plus ``forecast()``, under the same
rules: HTTPS only except loopback, a timeout, no redirects, tokens never shown, cached answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wattprint.core.carbon.forecast.curve import (
    Forecast,
    ForecastUnavailable,
    Period,
    Segment,
)
from wattprint.core.carbon.intensity import Intensity
from wattprint.core.errors import ConfigError
from wattprint.core.naming import PYTHON, Naming

__all__ = ["FORECASTERS", "Choice", "Forecast", "ForecastUnavailable", "Period", "Segment", "forecaster_for"]

#: Provider name -> "module:class", imported when chosen.
FORECASTERS = {
    "uk": "uk:UKForecast",
    "energidataservice": "energidataservice:EnergiDataServiceForecast",
    "electricitymaps": "electricitymaps:ElectricityMapsForecast",
    "watttime": "watttime:WattTimeForecast",
}


@dataclass(frozen=True)
class Choice:
    """The forecast provider for a location, or None with the reason there is none."""

    located: Intensity
    provider: Any | None
    reason: str = ""


def _provider_class(name: str) -> type:
    import importlib

    module, cls = FORECASTERS[name].split(":")
    return getattr(importlib.import_module(f"wattprint.core.carbon.forecast.{module}"), cls)


def forecaster_for(
    forecast: str | Any | None = None,
    *,
    country: str | None = None,
    region: str | None = None,
    cloud: str | None = None,
    environ: Mapping[str, str] | None = None,
    timezone: str | None = None,
    naming: Naming = PYTHON,
) -> Choice:
    """The forecast provider for a location: ``forecast`` by name (``"uk"``; ``"uk:RG10"`` or
    ``"uk:13"`` for a GB postcode area or region, ``"watttime:CAISO_NORTH"``, ``"electricitymaps:DE"``,
    ``"energidataservice:DK2"``) or as an object with a
    ``forecast(horizon_s)`` method, else the one that serves the location without a token
    (Great Britain, Danish price areas), else Electricity Maps or WattTime when their
    credentials are in the environment.

    Raises:
        ConfigError: an unknown provider name, a provider that cannot serve the location, or
            one without its credentials.
        CarbonDataError: an unknown location key.
    """
    import os

    from wattprint.core.carbon.live.base import provider_name
    from wattprint.core.carbon.live.electricitymaps import TOKEN_ENVS
    from wattprint.core.carbon.live.energidataservice import AREA_OF_REGION
    from wattprint.core.carbon.location import locate
    from wattprint.core.carbon.table import row_for

    env = os.environ if environ is None else environ
    located = locate(country=country, region=region, cloud=cloud, environ=env, timezone=timezone, naming=naming)
    if forecast is not None and not isinstance(forecast, str):
        if not callable(getattr(forecast, "forecast", None)):
            raise ConfigError(f"{naming('forecast')} must be a provider name ({', '.join(map(repr, FORECASTERS))}) "
                              f"or an object with a forecast() method, got {type(forecast).__name__}")
        bind = getattr(forecast, "bind", None)
        if callable(bind):
            located = bind(located) or located  # a provider may know its place better (UK without a location)
        return Choice(located, forecast)
    if isinstance(forecast, str):
        name, _, where = forecast.partition(":")
        name = provider_name(name)
        if name not in FORECASTERS:
            raise ConfigError(f"unknown forecast provider {forecast!r}; choose one of {', '.join(map(repr, FORECASTERS))}")
        provider = _provider_class(name)(**_area(name, where.strip()), environ=env)
        return Choice(provider.bind(located), provider)
    if located.key == "custom":
        return Choice(located, None, "a fixed carbon intensity was given, so there is nothing to forecast")
    row = row_for(located.key)
    if row is None:
        return Choice(located, None, f"no location is known; pass {naming('country')}, {naming('region')} or {naming('cloud')}")
    if row.country_iso3 == "GBR" and row.key != "GB-NIR":
        name = "uk"
    elif row.key in AREA_OF_REGION:
        name = "energidataservice"
    elif any(env.get(v, "").strip() for v in TOKEN_ENVS):
        name = "electricitymaps"
    elif all(env.get(v, "").strip() or env.get(f"WATTPRINT_{v}", "").strip()
             for v in ("WATTTIME_USERNAME", "WATTTIME_PASSWORD", "WATTTIME_REGION")):
        name = "watttime"
    else:
        hint = (f" (Energi Data Service forecasts each price area: pass {naming.example('region', 'DK-DK1')} "
                f"or {naming.example('region', 'DK-DK2')})" if row.country_iso3 == "DNK" else "")
        return Choice(located, None,
                      f"no forecast for {row.name} without a token{hint}; set ELECTRICITYMAPS_TOKEN "
                      f"(or WattTime's WATTTIME_USERNAME, WATTTIME_PASSWORD and WATTTIME_REGION)")
    try:
        provider = _provider_class(name)(environ=env)
        provider.bind(located)
    except ConfigError as exc:
        return Choice(located, None, str(exc))
    return Choice(located, provider)


def _area(name: str, where: str) -> dict[str, Any]:
    """The provider's own area from ``name:AREA``: a GB region id (1-17) or outward postcode for
    ``uk``, a price area for ``energidataservice``, a zone for ``electricitymaps``, a region for
    ``watttime``."""
    if not where:
        return {}
    if name == "uk":
        return {"region_id": int(where)} if where.isdigit() else {"postcode": where}
    return {{"energidataservice": "price_area", "electricitymaps": "zone", "watttime": "region"}[name]: where}
