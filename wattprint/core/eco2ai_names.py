"""ECO2AI's constructor argument names, accepted by :class:`wattprint.Tracker`.

Code written for ``eco2ai.Tracker(project_name=..., experiment_description=...,
file_name="emission.csv", alpha_2_code="FR")`` runs unchanged: each ECO2AI name is mapped to
wattprint's. ECO2AI features wattprint does not have fail with a message naming the nearest
wattprint setting; any other unknown name is a ``TypeError``, as for any Python function.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from wattprint.core.errors import ConfigError

__all__ = ["translate"]

# ECO2AI name -> wattprint name. emission_level is kg CO2 per MWh, the same number as g/kWh.
_RENAMED = {
    "file_name": "output_file",
    "alpha_2_code": "country",
    "emission_level": "carbon_intensity",
    "cpu_processes": "scope",
}
_CPU_PROCESSES = {"current": "process", "all": "machine"}
_UNSUPPORTED = {
    "encode_file": "wattprint writes no encoded copy of the CSV; leave encode_file out",
    "electricity_pricing": "pass electricity_price= (one price per kWh) instead of a table of hours",
    "ignore_warnings": "filter them with the warnings module (category RuntimeWarning, module 'wattprint')",
}


def translate(eco2ai: Mapping[str, Any], given: Set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """wattprint options for ECO2AI's keyword arguments, and the ECO2AI name each came from.

    ``given`` names the wattprint options passed explicitly, so that the same setting passed
    under both names is refused rather than silently picked. The second dict (option -> the
    ECO2AI name) lets messages about a value name it as the caller wrote it.
    """
    out: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    for name, value in eco2ai.items():
        if name in _UNSUPPORTED:
            if name == "ignore_warnings" and not value or name != "ignore_warnings" and value is None:
                continue  # ECO2AI's default: nothing to do
            raise ConfigError(f"{name}= is an ECO2AI option wattprint does not have: {_UNSUPPORTED[name]}.")
        if name not in _RENAMED:
            raise TypeError(f"Tracker() got an unexpected keyword argument {name!r}")
        ours = _RENAMED[name]
        if value is None:
            continue  # ECO2AI's "not given"
        if ours in given:
            raise ConfigError(f"{name}= (ECO2AI's name) and {ours}= set the same thing; pass only {ours}=.")
        if name == "cpu_processes":
            if value not in _CPU_PROCESSES:
                raise ConfigError(f"cpu_processes= must be 'current' or 'all' (ECO2AI's values), got {value!r}.")
            value = _CPU_PROCESSES[value]
        out[ours] = value
        aliases[ours] = name
    return out, aliases
