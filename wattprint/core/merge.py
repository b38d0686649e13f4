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

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, replace
from math import isnan
from typing import Any

from wattprint.core.footprint import Footprint
from wattprint.core.measurement import METHOD_RANK, Measurement, ordered
from wattprint.core.record import EnergyRecord, expose, made


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
    sums = Sums(parallel=parallel)
    i = sums.new()
    for part in parts:
        sums.add(i, part)
    return sums.total(i)


_NONE = float("nan")  # an absent figure (a domain not reported, a cost unknown) in a column of floats


class Sums:
    """Many sums side by side, each one :func:`combine` done one part at a time.

    What a reader that streams (``wattprint report``) keeps: a run's processes and its epochs are
    each a position here, and a position is a few numbers in columns (about 100 bytes with two
    domains), never the parts. ``Sums(parallel=True)`` sums parts measured side by side.
    """

    __slots__ = ("by_domain", "co2_kg", "cost", "duration_s", "energy_kwh", "facility_kwh", "failed", "interrupted",
                 "methods", "parallel", "parts", "rows")

    def __init__(self, *, parallel: bool = False) -> None:
        self.parallel = parallel
        self.parts = array("q")  # parts added at each position
        self.rows = array("q")  # rows (records) they sum
        self.duration_s = array("d")
        self.energy_kwh = array("d")
        self.facility_kwh = array("d")
        self.co2_kg = array("d")
        self.cost = array("d")  # NaN once any part has no cost
        self.by_domain: dict[str, array] = {}  # NaN where the domain was never reported
        self.methods: dict[str, list[str | None]] = {}  # the weakest; the first of equally weak ones
        self.failed: dict[int, set[str]] = {}  # only positions with a failed domain
        self.interrupted = bytearray()

    def __len__(self) -> int:
        return len(self.parts)

    def new(self) -> int:
        """Open a position (an empty sum) and return it."""
        for column in (self.parts, self.rows):
            column.append(0)
        for column in (self.duration_s, self.energy_kwh, self.facility_kwh, self.co2_kg, self.cost):
            column.append(0.0)
        for column in self.by_domain.values():
            column.append(_NONE)
        for names in self.methods.values():
            names.append(None)
        self.interrupted.append(0)
        return len(self.parts) - 1

    def add(self, i: int, part: Total | EnergyRecord) -> None:
        """Add a record or a :class:`Total` to the sum at position ``i``."""
        if isinstance(part, Total):
            m, f, interrupted, rows = part.measurement, part.footprint, part.interrupted, part.count
        else:
            m, f, interrupted, rows = part.measurement, part.footprint, part.labels.interrupted, 1
        parts = self.parts
        n = parts[i] = parts[i] + 1
        self.rows[i] += rows
        d = m.duration_s
        durations = self.duration_s
        if not self.parallel:
            durations[i] += d
        elif n == 1 or d > durations[i]:
            durations[i] = d
        self.energy_kwh[i] += m.energy_kwh
        self.facility_kwh[i] += f.facility_kwh
        self.co2_kg[i] += f.co2_kg
        costs = self.cost
        cost = costs[i]
        if not isnan(cost):
            costs[i] = _NONE if f.cost is None else cost + f.cost
        by_domain = self.by_domain
        for domain, kwh in m.energy_kwh_by_domain.items():
            column = by_domain.get(domain)
            if column is None:
                column = by_domain[domain] = array("d", (_NONE,)) * len(parts)
            now = column[i]
            column[i] = kwh if isnan(now) else now + kwh
        methods = self.methods
        for domain, method in m.method_by_domain.items():
            names = methods.get(domain)
            if names is None:
                names = methods[domain] = [None] * len(parts)
            now = names[i]
            # (the same method as kept, the common case, changes nothing: no ranking needed)
            if now is None or (now != method and METHOD_RANK.get(method, -1) < METHOD_RANK.get(now, -1)):
                # The vocabulary's own string where it is one: a file's cell would be kept per sum.
                names[i] = _METHOD_NAMES.get(method, method)
        if m.failed_domains:
            self.failed.setdefault(i, set()).update(m.failed_domains)
        if interrupted:
            self.interrupted[i] = 1

    def total(self, i: int) -> Total:
        """The sum at position ``i``; :data:`EMPTY` before its first part."""
        if not self.parts[i]:
            return EMPTY
        # In domain order at once (ordered() of all the columns, then those this sum has, is the
        # order ordered() gives the ones it has).
        columns, kept = self.by_domain, self.methods
        by_domain = {d: v for d in ordered(columns) if not isnan(v := columns[d][i])}
        methods = {d: name for d in ordered(kept) if (name := kept[d][i]) is not None}
        cost = self.cost[i]
        failed = self.failed.get(i)
        # Built as the decoder builds a row's parts (made): a report makes one per epoch.
        measurement = made(
            Measurement,
            duration_s=self.duration_s[i],
            energy_kwh=self.energy_kwh[i],
            energy_kwh_by_domain=by_domain,
            method_by_domain=methods,
            failed_domains=tuple(ordered(failed)) if failed else (),
        )
        footprint = made(Footprint, facility_kwh=self.facility_kwh[i], co2_kg=self.co2_kg[i],
                         cost=None if isnan(cost) else cost)
        return made(Total, measurement=measurement, footprint=footprint, interrupted=bool(self.interrupted[i]),
                    count=self.rows[i])


_METHOD_NAMES = {m: m for m in METHOD_RANK}


def as_record(total: Total, like: EnergyRecord, **labels: Any) -> EnergyRecord:
    """A record of ``total`` under ``like``'s labels (changed by ``labels``) and carbon provenance.

    Its intensity is the one the total implies (CO2e over facility energy), so a record of
    parts drawn at different intensities still satisfies ``co2 = facility x intensity``.
    """
    implied = total.footprint.intensity_g_per_kwh
    carbon = like.carbon if implied is None else replace(like.carbon, intensity_g_per_kwh=implied)
    return EnergyRecord(replace(like.labels, **labels), total.measurement, carbon, total.footprint)
