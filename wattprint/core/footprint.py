"""From IT energy to facility energy, CO2e and cost: the one place that applies PUE, intensity and price.

    facility_kwh = energy_kwh x pue
    co2_kg       = facility_kwh x intensity_g_per_kwh / 1000
    cost         = facility_kwh x electricity_price

Every producer (the Tracker, the callbacks' sum over ranks) and every reader (the CSV codec,
``wattprint report`` and its "what if") goes through :func:`account`, :func:`facility_kwh` and
:class:`Footprint`, so the arithmetic cannot drift between them.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattprint.core.units import G_PER_KG


@dataclass(frozen=True)
class Carbon:
    """The factors applied to a window's IT energy, and where the intensity came from.

    ``pue`` is the facility's power usage effectiveness (>= 1); ``None`` where it is unknown
    because the energy already includes it (rows of ECO2AI files). ``intensity_g_per_kwh`` is
    gCO2e per kWh of facility energy: the figure in force for a static source, the
    energy-weighted mean over the window for a live one (``intensity_readings`` > 1).
    ``electricity_price`` is per kWh of facility energy, in ``currency``.
    """

    pue: float | None = 1.0
    intensity_g_per_kwh: float | None = None
    electricity_price: float | None = None
    currency: str = ""
    intensity_key: str = ""
    intensity_name: str = ""
    intensity_source: str = ""
    intensity_basis: str = ""
    intensity_year: int | None = None
    located_by: str = ""
    intensity_readings: int = 1


@dataclass(frozen=True)
class Footprint:
    """Facility energy (kWh), CO2e (kg) and cost (in the record's currency; None without a price)."""

    facility_kwh: float
    co2_kg: float
    cost: float | None = None

    @property
    def intensity_g_per_kwh(self) -> float | None:
        """The intensity these figures imply: gCO2e per facility kWh; None without energy."""
        return self.co2_kg * G_PER_KG / self.facility_kwh if self.facility_kwh > 0 else None


def facility_kwh(energy_kwh: float, pue: float | None) -> float:
    """IT energy (kWh) with the facility overhead; ``pue=None`` means it is already included."""
    return energy_kwh if pue is None else energy_kwh * pue


def account(energy_kwh: float, carbon: Carbon) -> Footprint:
    """The footprint of ``energy_kwh`` of IT energy under ``carbon``'s PUE, intensity and price."""
    facility = facility_kwh(energy_kwh, carbon.pue)
    g_per_kwh = carbon.intensity_g_per_kwh or 0.0
    price = carbon.electricity_price
    return Footprint(
        facility_kwh=facility,
        co2_kg=facility * g_per_kwh / G_PER_KG,
        cost=None if price is None else facility * price,
    )
