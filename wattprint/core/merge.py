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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import reduce
from math import isnan
from operator import add
from typing import Any

from wattprint.core.footprint import Footprint
from wattprint.core.measurement import METHOD_RANK, Measurement, ordered, weakest
from wattprint.core.record import EnergyRecord, expose, made
from wattprint.core.units import G_PER_KG, J_PER_KWH


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
        return _as_dict(m.duration_s, m.energy_kwh, f.facility_kwh, f.co2_kg, f.cost, f.intensity_g_per_kwh, m.power_w,
                        dict(m.energy_kwh_by_domain), dict(m.method_by_domain), list(m.failed_domains), self.interrupted,
                        self.count)


def _as_dict(duration_s: float, energy_kwh: float, facility_kwh: float, co2_kg: float, cost: float | None,
             intensity_g_per_kwh: float | None, power_w: float, by_domain: dict[str, float], methods: dict[str, str],
             failed: list[str], interrupted: bool, rows: int) -> dict[str, Any]:
    return {
        "duration_s": duration_s,
        "energy_kwh": energy_kwh,
        "facility_kwh": facility_kwh,
        "co2_kg": co2_kg,
        "cost": cost,
        "intensity_g_per_kwh": intensity_g_per_kwh,
        "power_w": power_w,
        "energy_kwh_by_domain": by_domain,
        "method_by_domain": methods,
        "failed_domains": failed,
        "interrupted": interrupted,
        "rows": rows,
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
        self.parts.append(0)
        self.rows.append(0)
        self.duration_s.append(0.0)
        self.energy_kwh.append(0.0)
        self.facility_kwh.append(0.0)
        self.co2_kg.append(0.0)
        self.cost.append(0.0)
        for column in self.by_domain.values():
            column.append(_NONE)
        for names in self.methods.values():
            names.append(None)
        self.interrupted.append(0)
        return len(self.parts) - 1

    def new_with(self, duration_s: float, energy_kwh: float, facility_kwh: float, co2_kg: float, cost: float | None,
                 by_domain: Mapping[str, float], methods: Mapping[str, str], failed: Iterable[str] = (),
                 interrupted: bool = False, rows: int = 1) -> int:
        """:meth:`new` and :meth:`add_figures` of one part at once (the figures go in as the sum
        of one part holds them): a report opens a position per epoch."""
        i = len(self.parts)
        self.parts.append(1)
        self.rows.append(rows)
        self.duration_s.append(duration_s if self.parallel else 0.0 + duration_s)  # (0.0 + -0.0 is 0.0)
        self.energy_kwh.append(0.0 + energy_kwh)
        self.facility_kwh.append(0.0 + facility_kwh)
        self.co2_kg.append(0.0 + co2_kg)
        self.cost.append(_NONE if cost is None else 0.0 + cost)
        columns = self.by_domain
        for domain, column in columns.items():
            column.append(by_domain.get(domain, _NONE))
        kept = self.methods
        for domain, names in kept.items():
            method = methods.get(domain)
            names.append(None if method is None else _METHOD_NAMES.get(method, method))
        if not (columns.keys() >= by_domain.keys() and kept.keys() >= methods.keys()):  # a domain not seen before
            for domain, kwh in by_domain.items():
                if domain not in columns:
                    columns[domain] = array("d", (_NONE,)) * i
                    columns[domain].append(kwh)
            for domain, method in methods.items():
                if domain not in kept:
                    kept[domain] = [None] * i
                    kept[domain].append(_METHOD_NAMES.get(method, method))
        if failed:
            self.failed[i] = set(failed)
        self.interrupted.append(1 if interrupted else 0)
        return i

    def add(self, i: int, part: Total | EnergyRecord) -> None:
        """Add a record or a :class:`Total` to the sum at position ``i``."""
        if isinstance(part, Total):
            m, f, interrupted, rows = part.measurement, part.footprint, part.interrupted, part.count
        else:
            m, f, interrupted, rows = part.measurement, part.footprint, part.labels.interrupted, 1
        self.add_figures(i, m.duration_s, m.energy_kwh, f.facility_kwh, f.co2_kg, f.cost, m.energy_kwh_by_domain,
                         m.method_by_domain, m.failed_domains, interrupted, rows)

    def add_figures(self, i: int, duration_s: float, energy_kwh: float, facility_kwh: float, co2_kg: float,
                    cost: float | None, by_domain: Mapping[str, float], methods: Mapping[str, str],
                    failed: Iterable[str] = (), interrupted: bool = False, rows: int = 1) -> None:
        """:meth:`add` of a part given by its figures (s, kWh, kg, money): what a reader that
        decodes no record per row adds."""
        parts = self.parts
        n = parts[i] = parts[i] + 1
        self.rows[i] += rows
        durations = self.duration_s
        if not self.parallel:
            durations[i] += duration_s
        elif n == 1 or duration_s > durations[i]:
            durations[i] = duration_s
        self.energy_kwh[i] += energy_kwh
        self.facility_kwh[i] += facility_kwh
        self.co2_kg[i] += co2_kg
        costs = self.cost
        now_cost = costs[i]
        if not isnan(now_cost):
            costs[i] = _NONE if cost is None else now_cost + cost
        columns = self.by_domain
        for domain, kwh in by_domain.items():
            column = columns.get(domain)
            if column is None:
                column = columns[domain] = array("d", (_NONE,)) * len(parts)
            now = column[i]
            column[i] = kwh if isnan(now) else now + kwh
        kept = self.methods
        for domain, method in methods.items():
            names = kept.get(domain)
            if names is None:
                names = kept[domain] = [None] * len(parts)
            now = names[i]
            # measurement.weakest's rule, inline (a report adds a row at a time): the same method
            # as kept, the common case, changes nothing, and needs no ranking.
            if now is None or (now != method and METHOD_RANK.get(method, -1) < METHOD_RANK.get(now, -1)):
                # The vocabulary's own string where it is one: a file's cell would be kept per sum.
                names[i] = _METHOD_NAMES.get(method, method)
        if failed:
            self.failed.setdefault(i, set()).update(failed)
        if interrupted:
            self.interrupted[i] = 1

    def add_sum(self, i: int, other: Sums, j: int) -> None:
        """Add the sum at position ``j`` of ``other`` to the sum at ``i``, as :meth:`add` of
        ``other.total(j)`` would, without building the total."""
        cost = other.cost[j]
        self.add_figures(
            i, other.duration_s[j], other.energy_kwh[j], other.facility_kwh[j], other.co2_kg[j],
            None if isnan(cost) else cost,
            {d: kwh for d, column in other.by_domain.items() if not isnan(kwh := column[j])},
            {d: name for d, names in other.methods.items() if (name := names[j]) is not None},
            other.failed.get(j, ()), other.interrupted[j], other.rows[j],
        )

    def sum_of(self, positions: Sequence[int]) -> Total:
        """``combine(self.total(i) for i in positions)`` (windows one after another) for positions
        that each have a part, summed column by column: a report sums every run's epochs."""
        if not positions:
            return EMPTY

        def column(values: Sequence[float]) -> float:  # added in order, as add() would: 0.0 + a + b ...
            return reduce(add, [values[i] for i in positions], 0.0)

        by_domain = {}
        for domain in ordered(self.by_domain):
            values = self.by_domain[domain]
            reported = [kwh for i in positions if not isnan(kwh := values[i])]
            if reported:  # the first as it is, then added (add() replaces the NaN of "none yet")
                by_domain[domain] = reduce(add, reported)
        methods = {}
        for domain in ordered(self.methods):
            names = [name for i in positions if (name := self.methods[domain][i]) is not None]
            if names:
                methods[domain] = weakest(names)
        failed: set[str] = set().union(*(self.failed.get(i, ()) for i in positions))
        costs = [self.cost[i] for i in positions]
        measurement = made(Measurement, duration_s=column(self.duration_s), energy_kwh=column(self.energy_kwh),
                           energy_kwh_by_domain=by_domain, method_by_domain=methods,
                           failed_domains=tuple(ordered(failed)) if failed else ())
        footprint = made(Footprint, facility_kwh=column(self.facility_kwh), co2_kg=column(self.co2_kg),
                         cost=None if any(map(isnan, costs)) else reduce(add, costs, 0.0))
        return made(Total, measurement=measurement, footprint=footprint,
                    interrupted=any(self.interrupted[i] for i in positions),
                    count=sum(self.rows[i] for i in positions))

    def intensity_g_per_kwh(self, i: int) -> float | None:
        """``self.total(i).intensity_g_per_kwh``: gCO2e per facility kWh; None without energy."""
        facility = self.facility_kwh[i]
        return self.co2_kg[i] * G_PER_KG / facility if facility > 0 else None

    def as_dict(self, i: int) -> dict[str, Any]:
        """``self.total(i).as_dict()``, without the total."""
        return next(self.dicts((i,)))

    def dicts(self, positions: Iterable[int]) -> Iterator[dict[str, Any]]:
        """:meth:`as_dict` of each of ``positions``, the domains' order worked out once (a report writes one per epoch)."""
        domains = [(d, self.by_domain[d]) for d in ordered(self.by_domain)]
        methods = [(d, self.methods[d]) for d in ordered(self.methods)]
        duration_s, energy_kwh, facility_kwh, co2_kg, costs = (self.duration_s, self.energy_kwh, self.facility_kwh,
                                                               self.co2_kg, self.cost)
        for i in positions:
            if not self.parts[i]:
                yield EMPTY.as_dict()
                continue
            duration, energy, cost, failed = duration_s[i], energy_kwh[i], costs[i], self.failed.get(i)
            yield _as_dict(
                duration, energy, facility_kwh[i], co2_kg[i], None if isnan(cost) else cost,
                self.intensity_g_per_kwh(i),
                energy * J_PER_KWH / duration if duration > 0 else 0.0,  # Measurement.power_w
                {d: kwh for d, column in domains if not isnan(kwh := column[i])},
                {d: name for d, names in methods if (name := names[i]) is not None},
                ordered(failed) if failed else [], bool(self.interrupted[i]), self.rows[i],
            )

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
