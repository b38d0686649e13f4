"""Suggestions for a smaller footprint, computed from each run's own energy, with their arithmetic.

For one run (its records), three kinds, each only where the data support it:

* ``region``: the same facility energy in the cleanest regions of the cloud the run used,
  compared on the bundled annual figures of both regions, which share one source and so one
  basis (Google's direct figures with Google's, Electricity Maps' lifecycle ones with theirs);
* ``time``: the same energy profile started at the best time before a deadline, from a grid
  forecast (only when one is asked for: annual averages cannot tell one hour from another);
* ``pue``: the same IT energy in a facility with the lowest published fleet PUE, at the
  intensity the run was accounted with.

Ranked by saving (kg CO2e), largest first; a kind that saves nothing is not shown.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from wattprint.core.merge import combine
from wattprint.core.record import EnergyRecord
from wattprint.core.units import G_PER_KG
from wattprint.report.runrecords import records_by_run, whole_run

__all__ = ["RunSuggestions", "Suggestion", "suggest", "suggest_rows"]

MAX_REGIONS = 3
DEFAULT_DEADLINE_S = 24 * 3600.0


@dataclass(frozen=True)
class Suggestion:
    """One change and what it saves: ``saving_kg`` (kg CO2e), ``co2_kg_after`` (kg CO2e after
    the change), ``arithmetic`` (how the saving was computed), ``basis`` (the data behind it)."""

    kind: str
    action: str
    saving_kg: float
    co2_kg_after: float
    arithmetic: str
    basis: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunSuggestions:
    """The suggestions for one run, largest saving first, and notes on what could not be suggested."""

    run_id: str
    label: str
    co2_kg: float
    facility_kwh: float
    suggestions: list[Suggestion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "label": self.label, "co2_kg": self.co2_kg,
                "facility_kwh": self.facility_kwh,
                "suggestions": [s.as_dict() for s in self.suggestions], "notes": list(self.notes)}


def suggest_rows(rows: Sequence[Any], **options: Any) -> list[RunSuggestions]:
    """:func:`suggest` for every run of the rows read by :func:`wattprint.report.load_files`."""
    choices: dict[str, Any] = {}  # one forecast provider (and its cached forecast) per location
    return [suggest(records, _choices=choices, **options) for records in records_by_run(rows).values()]


def suggest(
    records: Sequence[EnergyRecord],
    *,
    forecast: Any = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
    now: float | None = None,
    environ: Any = None,
    _choices: dict[str, Any] | None = None,
) -> RunSuggestions:
    """The suggestions for one run's records.

    Args:
        forecast: a forecast provider name or object for the ``time`` suggestion; None for none.
        deadline_s: how far ahead the best start may be, seconds (default a day).
        now: the current time, Unix seconds (tests).
        environ: environment for the forecast provider's settings (tests).
    """
    whole = whole_run(records)
    labels = records[0].labels if records else None
    label = ""
    if labels is not None:
        label = " / ".join(x for x in (labels.project_name, labels.experiment_description) if x)
    total = combine(whole, parallel=True)  # the report's one merge rule for a run's processes
    facility, co2 = total.footprint.facility_kwh, total.footprint.co2_kg
    out = RunSuggestions(labels.run_id if labels else "", label, co2, facility)
    if not whole or facility <= 0 or co2 <= 0:
        return out
    keys = {r.carbon.intensity_key for r in whole}
    key = keys.pop() if len(keys) == 1 else None
    if key is None:
        out.notes.append("the run's rows name several locations, so no other location is compared")
    else:
        _regions(out, key)
        if forecast is not None:
            _time_shift(out, key, records, forecast, deadline_s, now, environ, {} if _choices is None else _choices)
    _pue(out, whole, key)
    out.suggestions.sort(key=lambda s: -s.saving_kg)
    return out


def _kg(value: float) -> str:
    from wattprint.report.scale import CO2_UNITS, amount

    return amount(value, CO2_UNITS)


def _regions(out: RunSuggestions, key: str) -> None:
    from wattprint.core.carbon.table import row_for, rows

    here = row_for(key)
    if here is None or here.kind != "cloud":
        return
    provider = here.key.split(":", 1)[0]
    cleaner = sorted((r for r in rows("cloud") if r.key.startswith(provider + ":") and r.key != here.key
                      and r.source.basis == here.source.basis and r.g_per_kwh < here.g_per_kwh),
                     key=lambda r: (r.g_per_kwh, r.key))
    for alt in cleaner[:MAX_REGIONS]:
        saving = out.facility_kwh * (here.g_per_kwh - alt.g_per_kwh) / G_PER_KG
        out.suggestions.append(Suggestion(
            kind="region",
            action=f"run in {alt.name} instead of {here.name}",
            saving_kg=saving,
            co2_kg_after=out.facility_kwh * alt.g_per_kwh / G_PER_KG,
            arithmetic=f"{out.facility_kwh:.4g} kWh x ({here.g_per_kwh:g} - {alt.g_per_kwh:g}) gCO2e/kWh "
                       f"= {_kg(saving)}",
            basis=f"annual averages of both regions, {alt.source.name}, {alt.source.basis}",
        ))


def _time_shift(out: RunSuggestions, key: str, records: Sequence[EnergyRecord], forecast: Any,
                deadline_s: float, now: float | None, environ: Any, choices: dict[str, Any]) -> None:
    from wattprint.core.carbon.forecast import ForecastUnavailable, forecaster_for
    from wattprint.core.carbon.table import row_for
    from wattprint.core.errors import WattprintError
    from wattprint.planner import _clock, _span, best_start, profile_of

    row = row_for(key)
    if row is None:
        out.notes.append(f"no start-time suggestion: {key!r} is not a location a forecast can serve")
        return
    t_now = time.time() if now is None else now
    try:
        choice = choices.get(row.key)
        if choice is None:
            choice = choices[row.key] = forecaster_for(forecast, **{row.kind: row.key}, environ=environ)
        if choice.provider is None:
            out.notes.append(f"no start-time suggestion: {choice.reason}")
            return
        plan = best_start(choice.provider.forecast(deadline_s), profile_of(records), t_now, t_now + deadline_s)
    except (WattprintError, ForecastUnavailable) as exc:
        out.notes.append(f"no start-time suggestion: {exc}")
        return
    if not plan.saving_kg or plan.saving_kg <= 0:
        out.notes.append(f"starting now is already the greenest time in the next {_span(deadline_s)} ({plan.source})")
        return
    marginal = ", marginal" if plan.signal == "marginal" else ""
    out.suggestions.append(Suggestion(
        kind="time",
        action=f"start the next run at {_clock(plan.start)} instead of now (it ends by {_clock(plan.end)})",
        saving_kg=plan.saving_kg,
        co2_kg_after=plan.co2_kg_start or 0.0,
        arithmetic=f"{plan.energy_kwh:.4g} kWh x ({plan.g_per_kwh_now:.4g} - {plan.g_per_kwh_start:.4g}) gCO2e/kWh "
                   f"= {_kg(plan.saving_kg)}, intensities energy-weighted over the run's profile",
        basis=f"{plan.source} ({plan.basis}{marginal})",
    ))


def _pue(out: RunSuggestions, whole: Sequence[EnergyRecord], key: str | None) -> None:
    from wattprint.core.carbon.pue import PUE_PRESETS, PUE_SOURCES
    from wattprint.core.carbon.table import row_for

    pues = {r.carbon.pue for r in whole}
    if len(pues) != 1 or None in pues:
        return  # ECO2AI rows include an unknown PUE; mixed PUEs have no one figure to improve
    pue = float(pues.pop())  # type: ignore[arg-type]
    it_kwh = combine(whole, parallel=True).measurement.energy_kwh
    g = out.co2_kg * G_PER_KG / out.facility_kwh
    best_name = min(PUE_PRESETS, key=lambda n: PUE_PRESETS[n])
    best = PUE_PRESETS[best_name]
    if pue > best + 1e-9:
        saving = it_kwh * (pue - best) * g / G_PER_KG
        out.suggestions.append(Suggestion(
            kind="pue",
            action=f"run in a facility with PUE {best:g} instead of {pue:g}",
            saving_kg=saving,
            co2_kg_after=out.co2_kg - saving,
            arithmetic=f"{it_kwh:.4g} kWh x ({pue:g} - {best:g}) x {g:.4g} gCO2e/kWh = {_kg(saving)}",
            basis=f"PUE {best:g}: {PUE_SOURCES[best_name]}",
        ))
        return
    row = row_for(key) if key else None
    provider = row.key.split(":", 1)[0] if row is not None and row.kind == "cloud" else None
    if pue == 1.0 and provider in PUE_PRESETS:
        fleet = PUE_PRESETS[provider]
        out.notes.append(
            f"PUE 1.0 was assumed, so the facility's overhead is not counted: at {provider}'s fleet PUE "
            f"{fleet:g} (--pue {provider}) this run emitted {_kg(out.co2_kg * fleet)}")


def render_text(results: Sequence[RunSuggestions], forecast_asked: bool) -> str:
    """The suggestions block of the text report ("" when there is nothing to say)."""
    from wattprint.report.scale import printable
    shown = [r for r in results if r.suggestions or r.notes]
    if not shown:
        return ""
    out = ["", "Suggestions, computed from each run's own energy (largest saving first):"]
    for r in shown:
        out.append(f"  Run {r.run_id[:8]} ({printable(r.label)}): {_kg(r.co2_kg)} CO2e")
        for i, s in enumerate(r.suggestions, 1):
            share = f" ({s.saving_kg / r.co2_kg:.0%})" if r.co2_kg > 0 else ""
            out.append(f"    {i}. {s.action}: {_kg(s.saving_kg)} less{share}")
            out.append(f"       {s.arithmetic}; {s.basis}")
        out.extend(f"    note: {n}" for n in r.notes)
    if not forecast_asked:
        out.append("  No start-time suggestions: annual averages cannot tell one hour from another "
                   "(pass --forecast to use a grid forecast).")
    return "\n".join(out) + "\n"
