"""Regional carbon intensity: bundled tables, location detection, live providers, PUE.

    from wattprint.core.carbon import lookup, resolve_source
    lookup("FR").g_per_kwh                   # 44.18 (Ember 2024, lifecycle)
    source = resolve_source(cloud="aws:eu-west-3")
    source.current()                         # Intensity(g_per_kwh=31.0, key="aws:eu-west-3", ...)

Nothing here touches the network unless a live provider is asked for, and the data files are
read on the first lookup, not at import.
"""

from __future__ import annotations

from wattprint.core.carbon.intensity import (
    WORLD_AVERAGE,
    Intensity,
    StaticIntensity,
    custom_intensity,
)
from wattprint.core.carbon.location import locate, resolve_source
from wattprint.core.carbon.pue import PUE_PRESETS, validate_price, validate_pue
from wattprint.core.carbon.table import lookup

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from wattprint.core.carbon.source import IntensitySource

__all__ = [
    "PUE_PRESETS",
    "WORLD_AVERAGE",
    "Intensity",
    "IntensitySource",
    "StaticIntensity",
    "custom_intensity",
    "locate",
    "lookup",
    "resolve_source",
    "validate_price",
    "validate_pue",
]


def __getattr__(name: str) -> object:
    # IntensitySource on first use: the Protocol's module imports typing (see its docstring).
    if name == "IntensitySource":
        from wattprint.core.carbon.source import IntensitySource

        return IntensitySource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
