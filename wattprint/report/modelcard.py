"""The Hugging Face model card's ``co2_eq_emissions`` block, from a run's records.

    co2_eq_emissions:
      emissions: 412.7
      source: "wattprint 0.1.0: ..."
      training_type: "fine-tuning"
      geographical_location: "France"
      hardware_used: "GPU: NVIDIA A100-SXM4-80GB; CPU: AMD EPYC 7763; 4 processes"

``emissions`` is in grams of CO2e, as the Hub expects. The text is YAML ready to paste into the
header of a model card's README.md (strings are double-quoted with JSON escapes, which YAML
reads the same); what is not known is left as a comment, never guessed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from wattprint.core.errors import ConfigError
from wattprint.core.record import EnergyRecord
from wattprint.core.units import G_PER_KG

__all__ = ["FILE_NAME", "TRAINING_TYPES", "co2_eq_emissions", "render_yaml"]

TRAINING_TYPES = ("pre-training", "fine-tuning")
FILE_NAME = "co2_eq_emissions.yaml"
#: The Hub's field names, in the order its documentation lists them.
FIELDS = ("emissions", "source", "training_type", "geographical_location", "hardware_used")


def check_training_type(value: object, opt: str = "training_type=") -> str | None:
    if value is None:
        return None
    if value not in TRAINING_TYPES:
        raise ConfigError(f"{opt} must be 'pre-training' or 'fine-tuning', got {value!r}")
    return str(value)


def co2_eq_emissions(records: Sequence[EnergyRecord], training_type: str | None = None) -> dict[str, Any]:
    """The block's fields for records that together cover the training once (a run's run rows,
    or several runs': see :func:`wattprint.report.runrecords.whole_run`). Unknown fields are
    left out."""
    from wattprint import __version__

    training_type = check_training_type(training_type)
    from wattprint.core.merge import combine

    grams = combine(records, parallel=True).footprint.co2_kg * G_PER_KG  # the report's merge rule
    block: dict[str, Any] = {"emissions": _significant(grams)}
    intensities = _unique(
        f"{r.carbon.intensity_g_per_kwh:.4g} gCO2e/kWh ({r.carbon.intensity_source}"
        + (f", {r.carbon.intensity_basis}" if r.carbon.intensity_basis and r.carbon.intensity_basis != "unknown" else "")
        + ")" for r in records if r.carbon.intensity_g_per_kwh is not None)
    pues = _unique(f"{r.carbon.pue:g}" for r in records if r.carbon.pue is not None)
    methods = _unique(f"{d} {m}" for r in records for d, m in sorted(r.measurement.method_by_domain.items()))
    parts = [f"wattprint {__version__}: measured energy"]
    if methods:
        parts[0] += f" ({', '.join(methods)})"
    if pues:
        parts.append(f"PUE {', '.join(pues)}")
    if intensities:
        parts.append(f"grid intensity {'; '.join(intensities)}")
    block["source"] = " x ".join(parts)
    if training_type:
        block["training_type"] = training_type
    # ECO2AI rows name "country/region" and no key; a fixed or world-average figure names no place.
    places = _unique(", ".join(p for p in (r.carbon.intensity_name or r.carbon.intensity_key).split("/") if p)
                     for r in records if r.carbon.intensity_key not in ("custom", "world")
                     and (r.carbon.intensity_name or r.carbon.intensity_key))
    if places:
        block["geographical_location"] = "; ".join(places)
    gpus = _unique(n.strip() for r in records for n in r.labels.gpu_name.split(",") if n.strip())
    cpus = _unique(r.labels.cpu_name for r in records if r.labels.cpu_name)
    processes = max([r.labels.world_size for r in records] + [len({(r.labels.host, r.labels.rank) for r in records})])
    hardware = ([f"GPU: {', '.join(gpus)}"] if gpus else []) + ([f"CPU: {', '.join(cpus)}"] if cpus else [])
    if hardware:
        if processes > 1:
            hardware.append(f"{processes} processes")
        block["hardware_used"] = "; ".join(hardware)
    return block


def render_yaml(block: dict[str, Any]) -> str:
    """The block as YAML, with a comment for each field left out."""
    hints = {
        "training_type": "pre-training or fine-tuning (pass it: --training-type, or model_card='fine-tuning')",
        "geographical_location": "not known: the run used a fixed or world-average intensity",
        "hardware_used": "not recorded in the run's rows",
    }
    lines = ["co2_eq_emissions:"]
    for name in FIELDS:
        if name not in block:
            lines.append(f"  # {name}: {hints.get(name, 'not known')}")
            continue
        value = block[name]
        text = _number(value) if isinstance(value, (int, float)) else json.dumps(str(value), ensure_ascii=False)
        lines.append(f"  {name}: {text}")
    return "\n".join(lines) + "\n"


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def _significant(value: float, digits: int = 6) -> float:
    if value == 0 or not math.isfinite(value):
        return 0.0
    return round(value, max(0, digits - 1 - math.floor(math.log10(abs(value)))))


def _number(value: float) -> str:
    """A plain decimal (no exponent: YAML 1.1 readers take ``1e-05`` for a string)."""
    if float(value).is_integer():
        return str(int(value))
    places = max(1, 12 - max(0, math.floor(math.log10(abs(value))) + 1))
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def card_for_rows(rows: Sequence[Any], where: str, run: str | None = None, training_type: str | None = None,
                  naming_run: str = "--run") -> str:
    """The YAML block for the rows of emission CSVs: every run in them (a training resumed or
    continued over several runs counts them all), or the run ``run`` starts.

    Raises:
        ConfigError: no runs, an unknown or ambiguous ``run``, a bad ``training_type``.
    """
    from wattprint.report.runrecords import choose_run, records_by_run, whole_run

    check_training_type(training_type, "--training-type" if naming_run.startswith("--") else "training_type=")
    if not rows:
        raise ConfigError(f"{where} holds no runs")
    by_run = records_by_run(rows)
    chosen = [choose_run(rows, run, where, naming_run)] if run is not None else list(by_run)
    records = [r for run_id in chosen for r in whole_run(by_run[run_id])]
    return render_yaml(co2_eq_emissions(records, training_type))
