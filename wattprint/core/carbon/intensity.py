"""The carbon-intensity value type and the interface the meter reads it through.

Intensities are grams of CO2-equivalent per kilowatt-hour of electricity (g/kWh). Every value
carries where it came from (source, year, basis, licence) and how its location was found, so a
record can always say which figure produced its CO2.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattprint.core.errors import ConfigError
from wattprint.core.validate import nonnegative

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from wattprint.core.carbon.source import IntensitySource

__all__ = [
    "BASES",
    "Intensity",
    "IntensitySource",
    "StaticIntensity",
    "WORLD_AVERAGE",
    "custom_intensity",
    "validate_g_per_kwh",
]

BASES = ("lifecycle", "direct", "unknown")
"""``lifecycle`` counts upstream fuel supply and plant construction (Ember, Electricity Maps);
``direct`` counts combustion only (Google Cloud, Ember US/India state series, grid operators)."""

# Sanity bound: the dirtiest national grids are near 1,300 g/kWh and pure lignite plants near
# 1,200; a figure far beyond that is almost certainly a unit mistake (lb/MWh, kg/MWh x 1000).
MAX_PLAUSIBLE_G_PER_KWH = 5000.0


@dataclass(frozen=True)
class Intensity:
    """A grid carbon intensity with its provenance.

    Attributes:
        g_per_kwh: grams CO2e per kWh of electricity drawn from the grid.
        key: canonical location key: ``"FR"``, ``"US-CA"``, ``"SE-SE3"``, ``"aws:us-east-1"``,
            ``"world"`` or ``"custom"``.
        name: human-readable location (``"France"``, ``"AWS us-east-1 (N. Virginia)"``).
        source: the dataset or live service the figure comes from.
        year: the data year of an annual average; ``None`` for live or user values.
        basis: ``"lifecycle"``, ``"direct"`` or ``"unknown"``.
        licence: licence of the figure (``"CC BY 4.0"``, ``"ODbL 1.0"``, ...).
        located_by: how the location was found (``"argument"``, ``"env:WATTPRINT_COUNTRY"``,
            ``"env:AWS_REGION"``, ``"timezone:Europe/Paris"``, ``"default"``,
            ``"live:electricitymaps"``, ``"argument:carbon_intensity"``, ...).
    """

    g_per_kwh: float
    key: str
    name: str
    source: str
    year: int | None
    basis: str
    licence: str
    located_by: str

    @property
    def kg_per_kwh(self) -> float:
        """The same intensity in kilograms CO2e per kWh."""
        return self.g_per_kwh / 1000.0

    def describe(self) -> str:
        """One line for logs and the CLI, e.g. ``France (FR): 44.18 g/kWh, lifecycle, 2024, Ember ...``."""
        year = f", {self.year}" if self.year is not None else ""
        return (
            f"{self.name} ({self.key}): {self.g_per_kwh:g} gCO2e/kWh, {self.basis}{year}, "
            f"{self.source} [{self.licence}]; location from {self.located_by}"
        )


class StaticIntensity:
    """An :class:`IntensitySource` that always returns one fixed :class:`Intensity`."""

    refresh_s: float | None = None

    def __init__(self, intensity: Intensity) -> None:
        self.intensity = intensity

    def current(self) -> Intensity:
        return self.intensity

    def __repr__(self) -> str:
        return f"StaticIntensity({self.intensity!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StaticIntensity):
            return NotImplemented
        return self.intensity == other.intensity

    def __hash__(self) -> int:
        return hash(self.intensity)


def validate_g_per_kwh(value: object, opt: str = "carbon_intensity=") -> float:
    """Return ``value`` as a float g/kWh, or raise :class:`ConfigError` naming ``opt``, saying how to fix it.

    Accepts a non-negative finite number (zero is allowed: an off-grid renewable supply).
    """
    g = nonnegative(value, opt, "gCO2e/kWh")
    if g > MAX_PLAUSIBLE_G_PER_KWH:
        raise ConfigError(
            f"{opt} {g:g} gCO2e/kWh is implausibly high (the dirtiest grids are near 1,300); "
            "check the unit: 1 kg/kWh = 1000 g/kWh, 1 lb/MWh = 0.4536 g/kWh"
        )
    return g


def custom_intensity(value: object, located_by: str = "argument:carbon_intensity", opt: str = "carbon_intensity=") -> Intensity:
    """A user-supplied intensity in g/kWh, validated (see :func:`validate_g_per_kwh`)."""
    return Intensity(
        g_per_kwh=validate_g_per_kwh(value, opt),
        key="custom",
        name="user value",
        source="user value",
        year=None,
        basis="unknown",
        licence="n/a",
        located_by=located_by,
    )


WORLD_AVERAGE = Intensity(
    g_per_kwh=473.0,
    key="world",
    name="World average",
    source="Ember Yearly Electricity Data (2025 release)",
    year=2024,
    basis="lifecycle",
    licence="CC BY 4.0",
    located_by="default",
)
"""Used when no location is given or found: Ember, World, 2024, lifecycle (472.99 rounded).
Keep it in the same release as the bundled country table and update both together."""


def __getattr__(name: str) -> object:
    # IntensitySource on first use: the Protocol's module imports typing (see its docstring).
    if name == "IntensitySource":
        from wattprint.core.carbon.source import IntensitySource

        return IntensitySource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
