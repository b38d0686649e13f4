"""What every exporter shows at one instant, derived from the run's record so far.

The Tracker hands its exporters the record of its own run window (this process's figures,
never a sum over ranks) at each export tick of the sampler thread and once more when the run
stops. :class:`Readings` turns each into a :class:`Reading`: cumulative energy per domain
(counters), mean power per domain since the previous reading (gauges) and cumulative CO2e.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from wattprint.core.measurement import weakest
from wattprint.core.record import EnergyRecord
from wattprint.core.units import G_PER_KG, J_PER_KWH

#: The labels of every series, in this order (Prometheus label names).
LABELS = ("project", "experiment", "run_id", "scope", "host", "rank", "location", "intensity_source")


@dataclass(frozen=True)
class Reading:
    """One instant of a run. Energy in joules, power in watts, CO2e in grams (PUE included)."""

    labels: dict[str, str]
    energy_j: dict[str, float]
    power_w: dict[str, float]
    method: dict[str, str]
    co2e_g: float
    intensity_g_per_kwh: float
    duration_s: float
    local_rank: int = 0
    world_size: int = 1

    @property
    def overall_method(self) -> str:
        """How the total was obtained: the weakest method of its domains ("" without any)."""
        return weakest(self.method.values()) if self.method else ""


def labels_of(record: EnergyRecord) -> dict[str, str]:
    """The labels every series of ``record``'s run carries."""
    return {
        "project": record.project_name,
        "experiment": record.experiment_description,
        "run_id": record.run_id,
        "scope": record.scope,
        "host": record.host,
        "rank": str(record.rank),
        "location": record.intensity_key,
        "intensity_source": record.intensity_source,
    }


class Readings:
    """Turns successive run records into readings; thread-safe. ``latest`` is the last one made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest: Reading | None = None

    def update(self, record: EnergyRecord) -> Reading:
        energy_j = {d: kwh * J_PER_KWH for d, kwh in record.energy_kwh_by_domain.items()}
        with self._lock:
            previous = self.latest
            power_w = {}
            for domain, joules in energy_j.items():
                if previous is None or previous.labels["run_id"] != record.run_id:
                    # The first reading of a run: its mean power so far.
                    power_w[domain] = joules / record.duration_s if record.duration_s > 0 else 0.0
                    continue
                dt = record.duration_s - previous.duration_s
                if dt > 0:
                    power_w[domain] = max(0.0, joules - previous.energy_j.get(domain, 0.0)) / dt
                else:  # no time passed (two readings at one instant): the power shown stays
                    power_w[domain] = previous.power_w.get(domain, 0.0)
            reading = Reading(
                labels=labels_of(record),
                energy_j=energy_j,
                power_w=power_w,
                method=dict(record.method_by_domain),
                co2e_g=record.co2_kg * G_PER_KG,
                intensity_g_per_kwh=float(record.intensity_g_per_kwh or 0.0),
                duration_s=record.duration_s,
                local_rank=record.local_rank,
                world_size=record.world_size,
            )
            self.latest = reading
            return reading
