"""EnergyRecord: one measured window (a run, an epoch, any span), composed of its parts.

    record = labels (what and where) + measurement (duration, energy and method per domain)
           + carbon (PUE, intensity and its provenance, price) + footprint (facility energy, CO2e, cost)

The parts' fields can be read on the record itself (``record.co2_kg`` is
``record.footprint.co2_kg``, ``record.project_name`` is ``record.labels.project_name``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from operator import attrgetter

from wattprint.core.footprint import Carbon, Footprint, account
from wattprint.core.measurement import Measurement
from wattprint.core.units import J_PER_KWH

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class Labels:
    """What a record is of: run, window, who measured it and on what. Times are UTC."""

    project_name: str = ""
    experiment_description: str = ""
    run_id: str = ""
    window: str = "run"
    index: int | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    start_time: datetime | None = None
    interrupted: bool = False
    scope: str = "machine"
    host: str = ""
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    cpu_name: str = ""
    gpu_name: str = ""
    os: str = ""
    exit_status: int | None = None  # of the command a `wattprint run` row measured; None otherwise
    #: What part of the work the window measured: ``train``, ``validation``, ``predict``... ("" unsaid).
    stage: str = ""
    #: Units of work done in the window (samples, tokens, requests: ``work_unit`` says which), or None.
    work: float | None = None
    work_unit: str = ""


@dataclass(frozen=True, init=False)
class EnergyRecord:
    """Energy and CO2e of one window. Units are in the field names.

    ``energy_kwh`` is IT energy (the devices measured); ``co2_kg`` includes the PUE:
    ``co2_kg = energy_kwh x pue x intensity_g_per_kwh / 1000`` (see :mod:`wattprint.core.footprint`),
    with the energy-weighted mean intensity when a live intensity changed during the window.
    ``method_by_domain`` says how each domain was obtained: ``counter``, ``sampled`` or
    ``estimated``; domains whose sensor failed during the window are in ``failed_domains``
    and hold the energy measured before the failure.
    """

    labels: Labels
    measurement: Measurement
    carbon: Carbon
    footprint: Footprint

    def __init__(
        self,
        labels: Labels | None = None,
        measurement: Measurement | None = None,
        carbon: Carbon | None = None,
        footprint: Footprint | None = None,
        **fields_by_name: Any,
    ) -> None:
        """From its four parts, or from the parts' fields by name (``EnergyRecord(window="epoch",
        duration_s=10.0, energy_kwh_by_domain={"gpu": 0.01}, co2_kg=0.001, ...)``), for tests
        and producers of records outside wattprint. Left out, ``energy_kwh`` is the sum of the
        domains and the footprint is accounted from the carbon part."""
        if fields_by_name:
            if any(p is not None for p in (labels, measurement, carbon, footprint)):
                raise TypeError("EnergyRecord() takes either its parts or their fields by name, not both")
            labels, measurement, carbon, footprint = _parts(fields_by_name)
        if labels is None or measurement is None or carbon is None:
            raise TypeError("EnergyRecord() needs labels, measurement and carbon (or their fields by name)")
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "measurement", measurement)
        object.__setattr__(self, "carbon", carbon)
        object.__setattr__(self, "footprint", footprint or account(measurement.energy_kwh, carbon))

    def relabel(self, **changes: Any) -> EnergyRecord:
        """The same figures under other labels (``record.relabel(rank=3, interrupted=True)``)."""
        return replace(self, labels=replace(self.labels, **changes))

    @property
    def energy_j_per_unit(self) -> float | None:
        """IT energy per unit of work, J (None without a positive work count)."""
        work = self.labels.work
        return self.measurement.energy_kwh * J_PER_KWH / work if work else None

    @property
    def co2_kg_per_unit(self) -> float | None:
        """CO2e per unit of work, kg (None without a positive work count)."""
        work = self.labels.work
        return self.footprint.co2_kg / work if work else None

    @property
    def end_time(self) -> datetime | None:
        start = self.labels.start_time
        return None if start is None else start + timedelta(seconds=self.measurement.duration_s)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready flat dict: every field of every part, plus ``power_w`` and the per-unit figures."""
        out: dict[str, Any] = {}
        for part in (self.labels, self.measurement, self.carbon, self.footprint):
            for f in fields(part):
                out[f.name] = _plain(getattr(part, f.name))
        out["power_w"] = self.measurement.power_w
        out["energy_j_per_unit"] = self.energy_j_per_unit
        out["co2_kg_per_unit"] = self.co2_kg_per_unit
        return out


def _parts(given: dict[str, Any]) -> tuple[Labels, Measurement, Carbon, Footprint | None]:
    """Sort fields given by name into the record's parts; TypeError for a name no part has."""
    names = {cls: {f.name for f in fields(cls)} for cls in (Labels, Measurement, Carbon, Footprint)}
    unknown = set(given) - set().union(*names.values())
    if unknown:
        raise TypeError(f"EnergyRecord() got unexpected field(s): {', '.join(sorted(unknown))}")

    def pick(cls: type) -> dict[str, Any]:
        return {k: v for k, v in given.items() if k in names[cls]}

    m = pick(Measurement)
    measured = Measurement.of(m.get("duration_s", 0.0), m.get("energy_kwh_by_domain", {}),
                              m.get("method_by_domain", {}), m.get("failed_domains", ()))
    if "energy_kwh" in m:
        measured = replace(measured, energy_kwh=float(m["energy_kwh"]))
    carbon = Carbon(**pick(Carbon))
    footprint = None
    if pick(Footprint):
        accounted = account(measured.energy_kwh, carbon)
        footprint = replace(accounted, **pick(Footprint))
    return Labels(**pick(Labels)), measured, carbon, footprint


def made(cls: type, **values: Any) -> Any:
    """``cls(**values)`` for a frozen dataclass given every one of its fields, built without the
    generated ``__init__``'s one ``object.__setattr__`` per field: for readers that make one per
    row (a third of decoding a row). Only for classes with no ``__post_init__``."""
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def expose(cls: type, part: str, names: Iterable[str]) -> None:
    """Make each of ``names`` readable on ``cls`` itself: ``obj.name`` is ``obj.<part>.name``.

    Generated, so that a field added to a part is readable on the whole at once, and no list of
    forwarding properties is kept by hand.
    """
    for name in names:
        setattr(cls, name, property(attrgetter(f"{part}.{name}"), doc=f"``{part}.{name}``"))


for _part, _cls in (("labels", Labels), ("measurement", Measurement), ("carbon", Carbon), ("footprint", Footprint)):
    expose(EnergyRecord, _part, (f.name for f in fields(_cls)))
expose(EnergyRecord, "measurement", ("power_w",))
del _part, _cls
