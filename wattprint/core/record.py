"""EnergyRecord: the frozen result of one measured window (a run, an epoch, any span)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EnergyRecord:
    """Energy and CO2e of one window. Units are in the field names.

    ``energy_kwh`` is IT energy (the devices measured); ``co2_kg`` already includes ``pue``:
    ``co2_kg = energy_kwh x pue x intensity_g_per_kwh / 1000`` for a constant intensity, and
    the interval-by-interval sum when a live intensity changed during the window.
    ``method_by_domain`` says how each domain was obtained: ``counter``, ``sampled`` or
    ``estimated``; domains whose sensor failed during the window are in ``failed_domains``
    and hold the energy measured before the failure.
    """

    window: str
    start_time: datetime
    duration_s: float
    energy_kwh_by_domain: Mapping[str, float]
    method_by_domain: Mapping[str, str]
    co2_kg: float
    intensity_g_per_kwh: float
    pue: float
    index: int | None = None
    project_name: str = ""
    experiment_description: str = ""
    run_id: str = ""
    failed_domains: tuple[str, ...] = ()
    intensity_key: str = ""
    intensity_name: str = ""
    intensity_source: str = ""
    intensity_basis: str = ""
    intensity_year: int | None = None
    located_by: str = ""
    intensity_readings: int = 1
    electricity_price: float | None = None
    currency: str = ""
    cpu_name: str = ""
    gpu_name: str = ""
    os: str = ""
    host: str = ""
    scope: str = "machine"
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    interrupted: bool = False
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def energy_kwh(self) -> float:
        """Total IT energy of the window, kWh (sum over domains)."""
        return sum(self.energy_kwh_by_domain.values())

    @property
    def power_w(self) -> float:
        """Mean power over the window, W (0 for an empty window)."""
        if self.duration_s <= 0:
            return 0.0
        return self.energy_kwh * 3_600_000.0 / self.duration_s

    @property
    def cost(self) -> float | None:
        """Electricity cost of the window (energy x PUE x price), in ``currency``; None without a price."""
        if self.electricity_price is None:
            return None
        return self.energy_kwh * self.pue * self.electricity_price

    @property
    def end_time(self) -> datetime:
        from datetime import timedelta

        return self.start_time + timedelta(seconds=self.duration_s)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every field, plus ``energy_kwh``, ``power_w`` and ``cost``."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        out["energy_kwh"] = self.energy_kwh
        out["power_w"] = self.power_w
        out["cost"] = self.cost
        return out
