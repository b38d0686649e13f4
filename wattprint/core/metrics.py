"""The metric keys every framework callback logs at the end of an epoch.

One function builds them for Lightning, Keras and Hugging Face alike, so the names, units and
the set of keys cannot drift between frameworks.
"""

from __future__ import annotations

from wattprint.core.measurement import ordered
from wattprint.core.merge import Total
from wattprint.core.progress import RunningTotals


def epoch_metrics(prefix: str, epoch: Total, totals: RunningTotals, co2_kg_predicted: float | None = None) -> dict[str, float]:
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

    Keys come out in a fixed order.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {type(prefix).__name__}")
    m = epoch.measurement
    out = {
        f"{prefix}energy_kwh": float(m.energy_kwh),
        f"{prefix}co2_kg": float(epoch.footprint.co2_kg),
        f"{prefix}energy_kwh_total": float(totals.energy_kwh),
        f"{prefix}co2_kg_total": float(totals.co2_kg),
        f"{prefix}power_w": float(m.power_w),
    }
    for domain in ordered(m.energy_kwh_by_domain):
        out[f"{prefix}energy_kwh_{domain}"] = float(m.energy_kwh_by_domain[domain])
    if co2_kg_predicted is not None:
        out[f"{prefix}co2_kg_predicted"] = float(co2_kg_predicted)
    return out
