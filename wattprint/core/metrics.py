"""The metric keys every framework callback logs: per epoch, per step interval, per stage.

The functions here build them for Lightning, Keras and Hugging Face alike, so the names, units
and the set of keys cannot drift between frameworks. Epoch keys are ``{prefix}<name>``; the
keys of a part of the training are ``{prefix}<part>/<name>`` (``emissions/step/energy_kwh``,
``emissions/validation/co2_kg``, ``emissions/predict/energy_j_per_sample``), so they never
clash with the epoch keys.
"""

from __future__ import annotations

from wattprint.core.measurement import ordered
from wattprint.core.merge import Total
from wattprint.core.progress import RunningTotals
from wattprint.core.units import J_PER_KWH

#: The part names of the step intervals and of the training part of an epoch.
STEP = "step"
TRAIN = "train"


def epoch_metrics(
    prefix: str,
    epoch: Total,
    totals: RunningTotals,
    co2_kg_predicted: float | None = None,
    *,
    work: float | None = None,
    unit: str = "",
) -> dict[str, float]:
    """The per-epoch metrics, keyed ``{prefix}<name>``, as plain Python floats.

    ``epoch`` is the epoch's figures (summed over ranks), ``totals`` the training's so far
    (this epoch included). Keys (``prefix`` defaults to ``"emissions/"`` in the callbacks):

    * ``{prefix}energy_kwh``: IT energy of this epoch, kWh (all domains).
    * ``{prefix}co2_kg``: CO2e of this epoch, kg (PUE and grid intensity applied).
    * ``{prefix}energy_kwh_total``: energy since training began, kWh.
    * ``{prefix}co2_kg_total``: CO2e since training began, kg.
    * ``{prefix}power_w``: mean power over this epoch, W (energy over the epoch's duration;
      0 for an epoch of zero duration).
    * ``{prefix}energy_kwh_cpu``, ``{prefix}energy_kwh_gpu``, ``{prefix}energy_kwh_ram``:
      this epoch's energy per domain, kWh; only for the domains measured.
    * ``{prefix}co2_kg_predicted``: predicted CO2e of the whole planned training, kg; only
      when ``co2_kg_predicted`` is given.
    * ``{prefix}energy_j_per_<unit>``, ``{prefix}co2_kg_per_1k_<unit>s``: energy per unit of
      work (J) and CO2e per 1,000 units (kg); only when ``work`` (units done this epoch) is given.

    Keys come out in a fixed order.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {type(prefix).__name__}")
    return _figures(prefix, epoch, (totals.energy_kwh, totals.co2_kg), co2_kg_predicted, work, unit)


def part_metrics(
    prefix: str, part: str, figures: Total, *, totals: tuple[float, float] | None = None, work: float | None = None, unit: str = ""
) -> dict[str, float]:
    """The metrics of one part of a training or of a stage run, keyed ``{prefix}{part}/<name>``.

    ``part`` is ``step`` (a step interval), ``train`` or ``validation`` (the parts of an
    epoch), or a stage run's name (``validate``, ``test``, ``evaluate``, ``predict``). The
    names are those of :func:`epoch_metrics`: ``energy_kwh``, ``co2_kg``, ``power_w``,
    ``energy_kwh_<domain>``, ``energy_j_per_<unit>`` and ``co2_kg_per_1k_<unit>s``, plus
    ``energy_kwh_total`` and ``co2_kg_total`` (since training began) when ``totals`` (kWh, kg)
    is given.
    """
    return _figures(part_keys(prefix, part), figures, totals, None, work, unit)


def part_keys(prefix: str, part: str) -> str:
    """What every key of ``part`` starts with: ``{prefix}{part}/``."""
    return f"{prefix}{part}/"


def _figures(
    keys: str, figures: Total, totals: tuple[float, float] | None, predicted: float | None, work: float | None, unit: str
) -> dict[str, float]:
    m = figures.measurement
    by_domain = m.energy_kwh_by_domain
    domains = tuple(ordered(by_domain))
    names = _names(keys, domains)
    out = {names.energy_kwh: float(m.energy_kwh), names.co2_kg: float(figures.footprint.co2_kg)}
    if totals is not None:
        out[names.energy_kwh_total], out[names.co2_kg_total] = float(totals[0]), float(totals[1])
    out[names.power_w] = float(m.power_w)
    for domain, name in zip(domains, names.by_domain):
        out[name] = float(by_domain[domain])
    if predicted is not None:
        out[names.co2_kg_predicted] = float(predicted)
    out.update(per_unit(keys, figures, work, unit))
    return out


class _Names:
    """The key names of one prefix and set of domains, built once: step intervals log them often."""

    __slots__ = ("by_domain", "co2_kg", "co2_kg_predicted", "co2_kg_total", "energy_kwh", "energy_kwh_total", "power_w")

    def __init__(self, keys: str, domains: tuple[str, ...]) -> None:
        self.energy_kwh, self.co2_kg = f"{keys}energy_kwh", f"{keys}co2_kg"
        self.energy_kwh_total, self.co2_kg_total = f"{keys}energy_kwh_total", f"{keys}co2_kg_total"
        self.power_w, self.co2_kg_predicted = f"{keys}power_w", f"{keys}co2_kg_predicted"
        self.by_domain = tuple(f"{keys}energy_kwh_{domain}" for domain in domains)


_NAMES: dict[tuple[str, tuple[str, ...]], _Names] = {}


def _names(keys: str, domains: tuple[str, ...]) -> _Names:
    names = _NAMES.get((keys, domains))
    if names is None:
        if len(_NAMES) >= 256:  # a bound, for prefixes made up on the fly
            _NAMES.clear()
        names = _NAMES[keys, domains] = _Names(keys, domains)
    return names


def per_unit(keys: str, figures: Total, work: float | None, unit: str) -> dict[str, float]:
    """``{keys}energy_j_per_<unit>`` (J) and ``{keys}co2_kg_per_1k_<unit>s`` (kg per 1,000
    units) for ``work`` units done; empty without a positive count and a unit."""
    if not work or work <= 0 or not unit:
        return {}
    return {
        f"{keys}energy_j_per_{unit}": float(figures.measurement.energy_kwh * J_PER_KWH / work),
        f"{keys}co2_kg_per_1k_{unit}s": float(figures.footprint.co2_kg * 1000.0 / work),
    }
