"""One process's figures as a fixed-length list of floats, for the collectives of distributed training.

Every rank encodes its :class:`~wattprint.core.merge.Total` (or ``None`` when it could not
measure), the framework gathers the lists from all ranks, and each rank decodes them and sums
them with :func:`~wattprint.core.merge.combine` -- the same function ``wattprint report`` uses
for the processes of a run. A fixed length keeps every rank's collective call identical, even
on a rank whose measurement failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from wattprint.core.errors import StateError
from wattprint.core.footprint import Footprint
from wattprint.core.measurement import DOMAINS, ESTIMATED, METHODS, Measurement
from wattprint.core.merge import Total, combine

# [measured, count, interrupted, duration_s, energy_kwh, facility_kwh, co2_kg, has_cost, cost],
# then per domain of DOMAINS: [present, energy_kwh, failed, method index in METHODS].
_HEAD = 9
_PER_DOMAIN = 4
LENGTH = _HEAD + _PER_DOMAIN * len(DOMAINS)


def encode(total: Total | None) -> list[float]:
    """``total`` as a list of :data:`LENGTH` floats; ``None`` says this process measured nothing."""
    out = [0.0] * LENGTH
    if total is None:
        return out
    m, f = total.measurement, total.footprint
    out[:_HEAD] = [1.0, float(total.count), float(total.interrupted), m.duration_s, m.energy_kwh,
                   f.facility_kwh, f.co2_kg, float(f.cost is not None), f.cost or 0.0]
    for i, domain in enumerate(DOMAINS):
        if domain in m.energy_kwh_by_domain:
            method = m.method_by_domain.get(domain, ESTIMATED)
            base = _HEAD + i * _PER_DOMAIN
            out[base : base + _PER_DOMAIN] = [
                1.0,
                float(m.energy_kwh_by_domain[domain]),
                float(domain in m.failed_domains),
                float(METHODS.index(method if method in METHODS else ESTIMATED)),
            ]
    return out


def decode(vector: Sequence[float]) -> Total | None:
    """The :class:`Total` one process encoded, or ``None`` if it measured nothing."""
    if len(vector) != LENGTH:
        raise StateError(f"a rank sent {len(vector)} values, expected {LENGTH}: do all ranks run the same wattprint?")
    v = [float(x) for x in vector]
    if v[0] < 0.5:
        return None
    by_domain: dict[str, float] = {}
    methods: dict[str, str] = {}
    failed: list[str] = []
    for i, domain in enumerate(DOMAINS):
        present, kwh, domain_failed, method = v[_HEAD + i * _PER_DOMAIN : _HEAD + (i + 1) * _PER_DOMAIN]
        if present >= 0.5:
            by_domain[domain] = kwh
            methods[domain] = METHODS[min(len(METHODS) - 1, max(0, round(method)))]
            if domain_failed >= 0.5:
                failed.append(domain)
    measurement = Measurement(v[3], v[4], by_domain, methods, tuple(failed))
    footprint = Footprint(v[5], v[6], v[8] if v[7] >= 0.5 else None)
    return Total(measurement, footprint, v[2] >= 0.5, round(v[1]))


def combine_vectors(vectors: Sequence[Sequence[float]]) -> Total | None:
    """The sum of every process's figures (one vector each), or None if any measured nothing."""
    parts = [decode(v) for v in vectors]
    if any(p is None for p in parts):
        return None
    return combine(parts, parallel=True)  # type: ignore[arg-type]


def encode_run_id(run_id: str | None) -> list[float]:
    """A UUID run id as 4 floats (32 bits each, exact in float64); zeros for none."""
    try:
        value = uuid.UUID(run_id).int  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        return [0.0] * 4
    return [float((value >> (32 * i)) & 0xFFFFFFFF) for i in range(4)]


def decode_run_id(values: Sequence[float]) -> str | None:
    """The run id :func:`encode_run_id` encoded, or None for none."""
    if len(values) != 4 or not any(values):
        return None
    return str(uuid.UUID(int=sum(int(v) << (32 * i) for i, v in enumerate(values))))
