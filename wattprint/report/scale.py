"""Display units for a report: one energy unit and one CO2e unit chosen for the numbers shown."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CO2_UNITS", "ENERGY_UNITS", "Unit", "fmt", "pick"]

Unit = tuple[str, float]  # (name, size in the base unit)

ENERGY_UNITS: tuple[Unit, ...] = (("kWh", 1.0), ("Wh", 1e-3), ("mWh", 1e-6))
CO2_UNITS: tuple[Unit, ...] = (("kg", 1.0), ("g", 1e-3), ("mg", 1e-6))


def pick(values: Iterable[float], units: tuple[Unit, ...]) -> Unit:
    """The largest unit in which the largest value is at least 0.1 (else the smallest unit).

    ``values`` are in the base unit (kWh, kg).
    """
    top = max((abs(v) for v in values), default=0.0)
    for unit in units:
        if top >= 0.1 * unit[1]:
            return unit
    return units[-1]


def fmt(value: float, unit: Unit, decimals: int = 3) -> str:
    """``value`` (base unit) in ``unit``, fixed decimals, without the unit name."""
    return f"{value / unit[1]:,.{decimals}f}"
