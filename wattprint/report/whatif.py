"""The "what if" block: the same energy at other grids' carbon intensity.

It answers "what would moving this job save?": the facility energy of the report (energy x
PUE, kWh) priced at a few reference grids and at the cleanest bundled region of each cloud
provider, from the tables in :mod:`wattprint.core.carbon`. Annual averages, so a guide to
where to run, not a forecast of one job's emissions.

Bases differ between sources: Google's own figures are direct emissions (combustion only),
Ember's and Electricity Maps' are lifecycle (also building the plants and mining the fuel),
several times higher for the same low-carbon grid. So each line carries its basis, lines of
the reported figure's basis come first, and only those are compared with the reported CO2e
(``change``); a line of another basis is shown for what it is, not as a saving.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from wattprint.core.errors import CarbonDataError
from wattprint.core.footprint import Carbon, account

__all__ = ["CLOUD_PROVIDERS", "REFERENCE_GRIDS", "Alternative", "reported_basis", "what_if"]

log = logging.getLogger(__name__)

#: The world average, the three largest grids and two contrasting European ones.
REFERENCE_GRIDS = ("world", "US", "CN", "IN", "DE", "FR")
CLOUD_PROVIDERS = ("aws", "azure", "gcp")


@dataclass(frozen=True)
class Alternative:
    """One line of the block: a grid, its intensity (gCO2e/kWh) and the CO2e (kg) there.

    ``change`` is ``co2_kg / measured - 1`` (``-0.9`` is 90 % less); None when nothing was
    emitted, or when ``comparable`` is False: the line's basis is not the reported figure's.
    """

    kind: str  # "grid" or "cloud"
    key: str
    name: str
    g_per_kwh: float
    basis: str
    year: int | None
    source: str
    co2_kg: float
    change: float | None
    comparable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def what_if(
    facility_kwh: float,
    measured_co2_kg: float,
    *,
    basis: str | None = None,
    grids: Sequence[str] = REFERENCE_GRIDS,
    providers: Sequence[str] = CLOUD_PROVIDERS,
) -> list[Alternative]:
    """The reference ``grids`` (in order), then the cleanest cloud region of each provider;
    lines of the reported ``basis`` first, then those of another basis.

    Args:
        facility_kwh: energy including PUE, kWh (:attr:`Totals.facility_kwh`).
        measured_co2_kg: the CO2e actually reported for that energy, kg.
        basis: the basis of the reported figure (``"lifecycle"``, ``"direct"``); None when it
            is unknown or mixed (a fixed intensity, ECO2AI rows): every line is then compared.
        grids: location keys for :func:`wattprint.core.carbon.lookup`; unknown keys are skipped.
        providers: cloud providers whose cleanest bundled region is listed.
    """
    from wattprint.core.carbon import lookup
    from wattprint.core.carbon.table import rows

    out: list[Alternative] = []

    def add(kind: str, intensity) -> None:
        # pue=None: the energy given already includes the facility's overhead.
        co2_kg = account(facility_kwh, Carbon(pue=None, intensity_g_per_kwh=intensity.g_per_kwh)).co2_kg
        comparable = basis is None or intensity.basis == basis
        change = co2_kg / measured_co2_kg - 1.0 if measured_co2_kg > 0 and comparable else None
        out.append(Alternative(kind, intensity.key, intensity.name, intensity.g_per_kwh,
                               intensity.basis, intensity.year, intensity.source, co2_kg, change, comparable))

    for key in grids:
        try:
            add("grid", lookup(key))
        except CarbonDataError as exc:  # a table without that key: show the others
            log.debug("what-if: skipping %s: %s", key, exc)
    try:
        cloud = rows("cloud")
    except CarbonDataError as exc:
        log.debug("what-if: no cloud table: %s", exc)
        cloud = ()
    for provider in providers:
        mine = [r for r in cloud if r.key.startswith(provider + ":")]
        if mine:
            add("cloud", min(mine, key=lambda r: (r.g_per_kwh, r.key)).intensity())
    return sorted(out, key=lambda a: not a.comparable)  # stable: the order above within each part


def reported_basis(bases: Iterable[str]) -> str | None:
    """The one basis of the reported intensities, or None when unknown or mixed."""
    known = set(bases)
    return known.pop() if len(known) == 1 and known <= {"lifecycle", "direct"} else None
