"""Exact unit conversions. Names carry their unit as a suffix (``_j``, ``_kwh``, ``_g``, ...)."""

from __future__ import annotations

J_PER_KWH = 3_600_000.0
J_PER_WH = 3_600.0
UJ_PER_J = 1_000_000.0
MJ_PER_J = 1_000.0  # millijoules per joule (NVML reports mJ)
G_PER_KG = 1_000.0


def j_to_kwh(energy_j: float) -> float:
    """Joules to kilowatt-hours."""
    return energy_j / J_PER_KWH


def kwh_to_j(energy_kwh: float) -> float:
    """Kilowatt-hours to joules."""
    return energy_kwh * J_PER_KWH


def uj_to_j(energy_uj: float) -> float:
    """Microjoules (RAPL ``energy_uj``) to joules."""
    return energy_uj / UJ_PER_J


def mj_to_j(energy_mj: float) -> float:
    """Millijoules (NVML total energy) to joules."""
    return energy_mj / MJ_PER_J


def mw_to_w(power_mw: float) -> float:
    """Milliwatts (NVML power) to watts."""
    return power_mw / 1_000.0


def g_to_kg(mass_g: float) -> float:
    """Grams to kilograms."""
    return mass_g / G_PER_KG


def co2_g(energy_kwh: float, intensity_g_per_kwh: float, pue: float = 1.0) -> float:
    """Grams of CO2e for an IT energy (kWh) at a grid intensity (g/kWh) and a facility PUE."""
    return energy_kwh * pue * intensity_g_per_kwh
