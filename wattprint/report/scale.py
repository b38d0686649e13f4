"""Display units and precision for the report's figures.

The rule, the same in text, HTML and the chart:

* every table, total line and chart panel picks its own unit from its largest figure
  (:func:`pick`), so a mWh run next to a kWh run is shown in mWh, not as ``0.000 kWh``;
* every figure is shown to :data:`SIGNIFICANT` significant figures (``5.417``, ``17.15``,
  ``0.02730``), never to fixed decimals: a small figure next to a large one keeps its digits,
  and a large one does not claim a precision the data do not have;
* a non-zero figure too small even for :data:`MAX_DECIMALS` is shown as ``<0.000001``, never as 0.

JSON output is not formatted here: it keeps the base units (kWh, kg) at full precision.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import floor, isfinite, log10

__all__ = ["CO2_UNITS", "ENERGY_UNITS", "MAX_DECIMALS", "SIGNIFICANT", "Unit", "amount", "fmt", "pick", "seconds"]

Unit = tuple[str, float]  # (name, size in the base unit)

ENERGY_UNITS: tuple[Unit, ...] = (("kWh", 1.0), ("Wh", 1e-3), ("mWh", 1e-6))
CO2_UNITS: tuple[Unit, ...] = (("kg", 1.0), ("g", 1e-3), ("mg", 1e-6))

SIGNIFICANT = 4
#: Beyond this a figure is more zeros than digits; smaller ones show as ``<0.000001``.
MAX_DECIMALS = 6


def pick(values: Iterable[float], units: tuple[Unit, ...]) -> Unit:
    """The largest unit in which the largest value is at least 0.1 (else the smallest unit).

    ``values`` are in the base unit (kWh, kg).
    """
    top = max((abs(v) for v in values), default=0.0)
    for unit in units:
        if top >= 0.1 * unit[1]:
            return unit
    return units[-1]


def fmt(value: float, unit: Unit, significant: int = SIGNIFICANT) -> str:
    """``value`` (base unit) in ``unit`` to ``significant`` figures, without the unit name.

    ``fmt(0.0171527, ("Wh", 1e-3))`` is ``"17.15"``; an exact zero is ``"0"``. Large figures keep
    every integer digit (``"12,345"``), with no exponent.
    """
    scaled = value / unit[1]
    if not scaled or not isfinite(scaled):
        return "0" if scaled == 0 else str(scaled)
    magnitude = abs(scaled)
    places = significant - 1 - floor(log10(magnitude))
    if places <= 0:
        return format(scaled, ",.0f")
    if places >= MAX_DECIMALS:
        # Only here can it round to zero: with fewer decimals its first digit is among them.
        places = MAX_DECIMALS
        if round(magnitude, places) == 0:
            return f"<{10.0 ** -places:.{places}f}"
    return format(scaled, _SPECS[places])  # a table formats hundreds of thousands


_SPECS = tuple(f",.{places}f" for places in range(MAX_DECIMALS + 1))


def amount(value: float, units: tuple[Unit, ...]) -> str:
    """``value`` (base unit) in the unit that suits it, with the unit name: ``"17.15 Wh"``."""
    unit = pick((value,), units)
    return f"{fmt(value, unit)} {unit[0]}"


def seconds(value: float) -> str:
    """A duration in seconds, without the unit: ``"1,234.5"``, ``"2.5"``, ``"0.034"``.

    One decimal from 1 s up; below that two significant figures, so a short epoch never reads
    ``"0.0"``; an exact zero is ``"0"``.
    """
    if value >= 1.0 or not isfinite(value):
        return f"{value:,.1f}"
    if value <= 0.0:
        return "0"
    return fmt(value, ("s", 1.0), significant=2)


def printable(text: str) -> str:
    """Names come from files: keep control characters (terminal escapes) out of the output."""
    return "".join(c if c.isprintable() else "?" for c in text)
