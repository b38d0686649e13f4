"""Power usage effectiveness (PUE) presets and validation of PUE and electricity price.

PUE is the facility's total energy divided by the energy of its IT equipment (dimensionless,
>= 1.0). wattprint measures IT energy, so CO2 = energy x PUE x intensity. The default is 1.0
(nothing added): right for a desktop or a laptop, an underestimate in any data centre.

Presets are fleet-wide annual averages the operators publish; a single site can differ:

* ``aws`` 1.14 (2025): AWS sustainability page ("The Cloud", sustainability.aboutamazon.com),
  average global PUE 1.14 in 2025 and 1.15 in 2024.
* ``gcp`` 1.10 (2023): Google 2024 Environmental Report, average annual PUE of its data centres.
* ``azure`` 1.18 (2024): Microsoft's global facility average as reported by DatacenterDynamics
  ("AWS global data centers achieved PUE of 1.15 in 2023", December 2024); Microsoft states 1.12
  for its newest designs.
* ``industry`` 1.58 (2023): the industry average Google's 2024 Environmental Report compares its
  own 1.10 against; a fair default for colocation or on-premises server rooms.
"""

from __future__ import annotations

from wattprint.core.errors import ConfigError
from wattprint.core.validate import nonnegative, real_number

__all__ = ["PUE_PRESETS", "PUE_SOURCES", "validate_price", "validate_pue"]

PUE_PRESETS: dict[str, float] = {
    "aws": 1.14,
    "gcp": 1.10,
    "azure": 1.18,
    "industry": 1.58,
}

PUE_SOURCES: dict[str, str] = {
    "aws": "AWS sustainability report, global average PUE, 2025",
    "gcp": "Google 2024 Environmental Report, average annual PUE, 2023",
    "azure": "Microsoft global facility average PUE, reported by DatacenterDynamics, 2024",
    "industry": "industry average PUE, 2023, as cited by Google's 2024 Environmental Report",
}

# A PUE above this is almost surely a percentage or an overhead typed by mistake (115, 0.15).
MAX_PLAUSIBLE_PUE = 5.0


def validate_pue(pue: object, opt: str = "pue=") -> float:
    """Return a PUE as a float, from a number >= 1.0 or a preset name (``"aws"``, ``"gcp"``, ...).

    ``opt`` is the option as the caller spells it, for the message (``"pue="``, ``"--pue"``).

    Raises:
        ConfigError: a negative, NaN, infinite, below-1.0 or implausibly large value, a string
            that is not a preset name (numbers are given as numbers), or anything else.
    """
    presets = ", ".join(f"{k!r} ({v:g})" for k, v in PUE_PRESETS.items())
    if isinstance(pue, str) and not _looks_numeric(pue):
        name = pue.strip().lower()
        if name in PUE_PRESETS:
            return PUE_PRESETS[name]
        raise ConfigError(f"unknown PUE preset {pue!r}; {opt} takes a number >= 1.0 or one of {presets}")
    value = real_number(pue, opt, f" >= 1.0 (or a preset: {presets})")
    if value < 1.0:
        raise ConfigError(
            f"{opt} must be >= 1.0 (facility energy / IT energy; 1.0 adds nothing), got {pue!r}; "
            "an overhead of 15 % is a PUE of 1.15"
        )
    if value > MAX_PLAUSIBLE_PUE:
        raise ConfigError(
            f"{opt} {value:g} is implausibly high (data centres run at 1.1-2.5); "
            "an overhead of 15 % is a PUE of 1.15"
        )
    return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def validate_price(price: object, opt: str = "electricity_price=") -> float | None:
    """Return an electricity price per kWh as a float, or ``None`` when no price is given.

    The price is in the user's currency per kWh; zero is allowed.

    Raises:
        ConfigError: a negative, NaN, infinite or non-numeric price.
    """
    if price is None:
        return None
    return nonnegative(price, opt, "per kWh")
