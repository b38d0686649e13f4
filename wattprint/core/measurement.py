"""What was measured in a window: its duration, and energy and method per domain.

No labels (project, run, rank) and no carbon: those are :mod:`wattprint.core.record` and
:mod:`wattprint.core.footprint`. This module also owns the vocabulary every other part uses:
the domains (``cpu``, ``gpu``, ``ram``) and the methods (``counter``, ``sampled``,
``estimated``) with their ranking. Sensors, the adapters and the report import it from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from wattprint.core.units import J_PER_KWH

CPU = "cpu"
GPU = "gpu"
RAM = "ram"
#: The domains every output knows by name, in the order they are shown.
DOMAINS = (CPU, GPU, RAM)

COUNTER = "counter"
SAMPLED = "sampled"
ESTIMATED = "estimated"
#: Weakest first.
METHODS = (ESTIMATED, SAMPLED, COUNTER)
#: A method's trust: higher is better. Unknown methods ("" in a foreign file) rank below all.
METHOD_RANK = {method: rank for rank, method in enumerate(METHODS)}


def weakest(methods: Iterable[str]) -> str:
    """The least trustworthy of ``methods``: a figure made of several is only as good as its worst part.

    An unknown method (an empty cell of a file) counts as weaker than every known one.
    """
    return min(methods, key=lambda m: METHOD_RANK.get(m, -1))


@dataclass(frozen=True)
class Measurement:
    """Duration (s) and energy (kWh) of a window, per domain with how each was obtained.

    ``energy_kwh`` is the window's total. For a window measured here it is the sum of
    ``energy_kwh_by_domain`` (:meth:`of`); a row read from a file keeps the file's own total,
    which may have no split by domain at all (ECO2AI files without device columns).
    ``failed_domains`` are domains whose sensor stopped answering; they hold the energy
    measured before the failure.
    """

    duration_s: float
    energy_kwh: float
    energy_kwh_by_domain: Mapping[str, float] = field(default_factory=dict)
    method_by_domain: Mapping[str, str] = field(default_factory=dict)
    failed_domains: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        duration_s: float,
        energy_kwh_by_domain: Mapping[str, float],
        method_by_domain: Mapping[str, str],
        failed_domains: Iterable[str] = (),
    ) -> Measurement:
        """A measurement whose total is the sum of its domains (domains in :data:`DOMAINS` order)."""
        by_domain = {d: float(energy_kwh_by_domain[d]) for d in ordered(energy_kwh_by_domain)}
        return cls(
            duration_s=float(duration_s),
            energy_kwh=float(sum(by_domain.values())),
            energy_kwh_by_domain=by_domain,
            method_by_domain={d: method_by_domain[d] for d in ordered(method_by_domain)},
            failed_domains=tuple(ordered(set(failed_domains))),
        )

    @property
    def power_w(self) -> float:
        """Mean power over the window, W (0 for a window of zero duration)."""
        return self.energy_kwh * J_PER_KWH / self.duration_s if self.duration_s > 0 else 0.0


def ordered(domains: Iterable[str]) -> list[str]:
    """``domains`` with cpu, gpu, ram first (in that order), any others after them by name."""
    present = set(domains)
    known = [d for d in DOMAINS if d in present]
    return known if len(known) == len(present) else known + sorted(present - _KNOWN)


_KNOWN = frozenset(DOMAINS)
