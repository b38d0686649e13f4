"""Exact unit conversions. Names carry their unit as a suffix (``_j``, ``_kwh``, ``_g``, ...)."""

from __future__ import annotations

J_PER_KWH = 3_600_000.0
G_PER_KG = 1_000.0
_UJ_PER_J = 1_000_000.0
_MJ_PER_J = 1_000.0  # millijoules per joule (NVML reports mJ)
_MW_PER_W = 1_000.0


def uj_to_j(energy_uj: float) -> float:
    """Microjoules (RAPL ``energy_uj``) to joules."""
    return energy_uj / _UJ_PER_J


def mj_to_j(energy_mj: float) -> float:
    """Millijoules (NVML total energy) to joules."""
    return energy_mj / _MJ_PER_J


def mw_to_w(power_mw: float) -> float:
    """Milliwatts (NVML power) to watts."""
    return power_mw / _MW_PER_W
