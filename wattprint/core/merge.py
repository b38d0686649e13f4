"""Summing figures: windows one after another, or processes measured side by side.

One rule set, used by the callbacks when they sum an epoch over ranks and by ``wattprint
report`` when it sums a run's processes, its epochs, or several runs:

* energy (per domain and in total), facility energy, CO2e and cost add;
* a domain's method is the weakest any part reported (:func:`~wattprint.core.measurement.weakest`),
  and a domain failed if it failed in any part;
* durations add for windows one after another (``parallel=False``); for parts measured at the
  same time (``parallel=True``: the ranks of a job, the processes of a run) the result lasts as
  long as the longest part, since their durations overlap. Power is then the job's mean power:
  all its energy over the time it took.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from wattprint.core.footprint import Footprint
from wattprint.core.measurement import Measurement, ordered, weakest
from wattprint.core.record import EnergyRecord, expose


@dataclass(frozen=True)
class Total:
    """Figures summed over ``count`` windows (or records). ``interrupted`` if any part was."""

    measurement: Measurement
    footprint: Footprint
    interrupted: bool = False
    count: int = 0

    @classmethod
    def of(cls, record: EnergyRecord) -> Total:
        return cls(record.measurement, record.footprint, record.labels.interrupted, 1)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: kWh, kg, s, W and the intensity in gCO2e per facility kWh."""
        m, f = self.measurement, self.footprint
        return {
            "duration_s": m.duration_s,
            "energy_kwh": m.energy_kwh,
            "facility_kwh": f.facility_kwh,
            "co2_kg": f.co2_kg,
            "cost": f.cost,
            "intensity_g_per_kwh": f.intensity_g_per_kwh,
            "power_w": m.power_w,
            "energy_kwh_by_domain": dict(m.energy_kwh_by_domain),
            "method_by_domain": dict(m.method_by_domain),
            "failed_domains": list(m.failed_domains),
            "interrupted": self.interrupted,
            "rows": self.count,
        }


expose(Total, "measurement", ("duration_s", "energy_kwh", "energy_kwh_by_domain", "method_by_domain", "failed_domains", "power_w"))
expose(Total, "footprint", ("facility_kwh", "co2_kg", "cost", "intensity_g_per_kwh"))

EMPTY = Total(Measurement(0.0, 0.0), Footprint(0.0, 0.0))


def combine(parts: Iterable[Total | EnergyRecord], *, parallel: bool = False) -> Total:
    """The sum of ``parts`` (records or totals) by the rules above; :data:`EMPTY` for none."""
    totals = [p if isinstance(p, Total) else Total.of(p) for p in parts]
    if not totals:
        return EMPTY
    by_domain: dict[str, float] = {}
    methods: dict[str, list[str]] = {}
    for t in totals:
        for d, kwh in t.measurement.energy_kwh_by_domain.items():
            by_domain[d] = by_domain.get(d, 0.0) + kwh
        for d, method in t.measurement.method_by_domain.items():
            methods.setdefault(d, []).append(method)
    durations = [t.measurement.duration_s for t in totals]
    costs = [t.footprint.cost for t in totals]
    measurement = Measurement(
        duration_s=max(durations) if parallel else sum(durations),
        energy_kwh=sum(t.measurement.energy_kwh for t in totals),
        energy_kwh_by_domain={d: by_domain[d] for d in ordered(by_domain)},
        method_by_domain={d: weakest(methods[d]) for d in ordered(methods)},
        failed_domains=tuple(ordered({d for t in totals for d in t.measurement.failed_domains})),
    )
    footprint = Footprint(
        facility_kwh=sum(t.footprint.facility_kwh for t in totals),
        co2_kg=sum(t.footprint.co2_kg for t in totals),
        cost=None if any(c is None for c in costs) else sum(costs),  # type: ignore[arg-type]
    )
    return Total(measurement, footprint, any(t.interrupted for t in totals), sum(t.count for t in totals))


def as_record(total: Total, like: EnergyRecord, **labels: Any) -> EnergyRecord:
    """A record of ``total`` under ``like``'s labels (changed by ``labels``) and carbon provenance.

    Its intensity is the one the total implies (CO2e over facility energy), so a record of
    parts drawn at different intensities still satisfies ``co2 = facility x intensity``.
    """
    implied = total.footprint.intensity_g_per_kwh
    carbon = like.carbon if implied is None else replace(like.carbon, intensity_g_per_kwh=implied)
    return EnergyRecord(replace(like.labels, **labels), total.measurement, carbon, total.footprint)
