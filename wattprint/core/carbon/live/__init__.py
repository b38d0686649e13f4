"""Opt-in live carbon intensity, one module per service, stdlib HTTP only.

    resolve_source(country="DE", live="electricitymaps")          # token from ELECTRICITYMAPS_TOKEN
    resolve_source(live="uk")                                      # Great Britain, no token
    resolve_source(region="DK-DK2", live="energidataservice")     # Denmark, no token
    resolve_source(region="US-CAL-CISO", live=WattTime(region="CAISO_NORTH"))

Every provider validates its settings at construction, opens no connection until the first
``current()``, times out after a few seconds, caches, backs off after failures, and falls back to
the bundled figure for the same location with one warning. Base URLs come from an argument or a
``WATTPRINT_<PROVIDER>_URL`` environment variable; HTTPS only, except plain HTTP to loopback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wattprint.core.carbon.live._http import LiveError
from wattprint.core.carbon.live.base import LiveProvider, provider_name
from wattprint.core.carbon.live.electricitymaps import ElectricityMaps
from wattprint.core.carbon.live.energidataservice import EnergiDataService
from wattprint.core.carbon.live.uk import UKCarbonIntensity
from wattprint.core.carbon.live.watttime import WattTime
from wattprint.core.errors import ConfigError

__all__ = [
    "PROVIDERS",
    "ElectricityMaps",
    "EnergiDataService",
    "LiveError",
    "LiveProvider",
    "UKCarbonIntensity",
    "WattTime",
    "make_provider",
]

PROVIDERS: dict[str, type[LiveProvider]] = {
    "electricitymaps": ElectricityMaps,
    "uk": UKCarbonIntensity,
    "energidataservice": EnergiDataService,
    "watttime": WattTime,
}


def make_provider(live: Any, *, environ: Mapping[str, str] | None = None) -> Any:
    """A provider from its name (``"electricitymaps"``, ``"uk"``, ``"energidataservice"``,
    ``"watttime"``), or ``live`` itself when it already has a ``current()`` method.

    Raises:
        ConfigError: an unknown name, an object that is no intensity source, or a provider
            whose settings are incomplete (such as a missing token).
    """
    if isinstance(live, str):
        cls = PROVIDERS.get(provider_name(live))
        if cls is None:
            raise ConfigError(
                f"unknown live provider {live!r}; choose one of {', '.join(map(repr, PROVIDERS))} "
                "or pass a provider object"
            )
        return cls(environ=environ)
    if callable(getattr(live, "current", None)):
        return live
    raise ConfigError(
        f"live must be a provider name ({', '.join(map(repr, PROVIDERS))}) or an object with a "
        f"current() method, got {type(live).__name__}"
    )
