"""The metric keys every framework callback logs at the end of an epoch.

One function builds them for Lightning, Keras and Hugging Face alike, so the names, units and
the set of keys cannot drift between frameworks.
"""

from __future__ import annotations

from collections.abc import Mapping

from wattprint.core.units import J_PER_KWH

#: Domains in the order their keys are emitted.
_DOMAINS = ("cpu", "gpu", "ram")


def epoch_metrics(
    *,
    prefix: str,
    energy_kwh: float,
    co2_kg: float,
    energy_kwh_total: float,
    co2_kg_total: float,
    duration_s: float,
    energy_kwh_by_domain: Mapping[str, float],
    co2_kg_predicted: float | None = None,
) -> dict[str, float]:
    """The per-epoch metrics, keyed ``{prefix}<name>``, as plain Python floats.

    Keys (``prefix`` defaults to ``"emissions/"`` in the callbacks):

    * ``{prefix}energy_kwh``: IT energy of this epoch, kWh (all domains).
    * ``{prefix}co2_kg``: CO2e of this epoch, kg (PUE and grid intensity applied).
    * ``{prefix}energy_kwh_total``: energy since training began, kWh.
    * ``{prefix}co2_kg_total``: CO2e since training began, kg.
    * ``{prefix}power_w``: mean power over this epoch, W (``energy_kwh`` / ``duration_s``;
      0 for an epoch of zero duration).
    * ``{prefix}energy_kwh_cpu``, ``{prefix}energy_kwh_gpu``, ``{prefix}energy_kwh_ram``:
      this epoch's energy per domain, kWh; only for the domains in ``energy_kwh_by_domain``.
    * ``{prefix}co2_kg_predicted``: predicted CO2e of the whole planned training, kg; only
      when ``co2_kg_predicted`` is given.

    Keys come out in a fixed order. ``duration_s`` is the epoch's wall duration in seconds.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {type(prefix).__name__}")
    power_w = energy_kwh * J_PER_KWH / duration_s if duration_s > 0 else 0.0
    out = {
        f"{prefix}energy_kwh": float(energy_kwh),
        f"{prefix}co2_kg": float(co2_kg),
        f"{prefix}energy_kwh_total": float(energy_kwh_total),
        f"{prefix}co2_kg_total": float(co2_kg_total),
        f"{prefix}power_w": float(power_w),
    }
    extra = sorted(d for d in energy_kwh_by_domain if d not in _DOMAINS)
    for domain in (*(d for d in _DOMAINS if d in energy_kwh_by_domain), *extra):
        out[f"{prefix}energy_kwh_{domain}"] = float(energy_kwh_by_domain[domain])
    if co2_kg_predicted is not None:
        out[f"{prefix}co2_kg_predicted"] = float(co2_kg_predicted)
    return out


def metric_names(prefix: str, domains: tuple[str, ...] = _DOMAINS, *, predicted: bool = True) -> list[str]:
    """The keys :func:`epoch_metrics` can produce for ``domains``, e.g. to declare them up front."""
    sample = epoch_metrics(
        prefix=prefix,
        energy_kwh=0.0,
        co2_kg=0.0,
        energy_kwh_total=0.0,
        co2_kg_total=0.0,
        duration_s=0.0,
        energy_kwh_by_domain={d: 0.0 for d in domains},
        co2_kg_predicted=0.0 if predicted else None,
    )
    return list(sample)
