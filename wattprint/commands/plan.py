"""``wattprint plan``: the start time with the lowest expected CO2e before a deadline.

    wattprint plan --duration 3h --power 300 --country GB --deadline 12h
    wattprint plan --from-csv wattprint.csv --region DK-DK1 --deadline 2026-12-07T06:00 --json

Plain text by default, one JSON object with ``--json``; the start is also given in the forms
``sbatch --begin`` and ``at -t`` take (this machine's local time). Without a forecast (none for
the location, the service down) the plan is "start now" and says why; the exit status is 0
either way, 2 for bad options.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from wattprint.commands._measure_options import number_or_name

if TYPE_CHECKING:
    from wattprint.planner import Plan

_PROG = "wattprint plan"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plan",
        help="when to start a job for the lowest CO2e before a deadline, from a grid forecast",
        description=(
            "Find the start time with the lowest expected CO2e for a job of known duration and power "
            "(or the energy profile of a previous run) that must finish before a deadline, from a "
            "carbon-intensity forecast for its location."
        ),
    )
    job = p.add_argument_group("the job (either --duration, with --power, or --from-csv)")
    job.add_argument("--duration", metavar="D", help="how long it runs: 90m, 3h, 1h30m, 2d")
    job.add_argument("--power", type=float, metavar="W",
                     help="its mean power draw in watts (optional: without it the saving is a percentage)")
    job.add_argument("--from-csv", metavar="FILE", help="reuse the energy profile of a run in this wattprint CSV")
    job.add_argument("--run", metavar="ID", help="which run of --from-csv (an id or its start; default: the last)")
    add_location_options(p)
    p.add_argument("--deadline", default="24h", metavar="D|TIME",
                   help="when it must have finished: a duration from now (12h) or a local time "
                        "(2026-12-07T06:00); default 24h")
    p.add_argument("--pue", type=number_or_name, default=1.0, metavar="N",
                   help="power usage effectiveness applied to --power (number or preset); default 1.0")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def add_location_options(p: argparse.ArgumentParser, *, location: bool = True) -> None:
    """``--forecast`` (and the location options, unless the command has its own)."""
    if location:
        from wattprint.commands._measure_options import add_location

        add_location(p, intensity=False)  # a forecast is of a place's grid, never of a fixed figure
    p.add_argument("--forecast", metavar="PROVIDER",
                   help="uk, energidataservice, electricitymaps (ELECTRICITYMAPS_TOKEN) or watttime "
                        "(WATTTIME_USERNAME, WATTTIME_PASSWORD, WATTTIME_REGION), optionally with its own "
                        "area: uk:RG10 (a GB postcode area), uk:13 (a GB region id), watttime:CAISO_NORTH; "
                        "default: the one that serves the location (GB and DK-DK1/DK-DK2 need no token)")


def run(args: argparse.Namespace) -> int:
    from wattprint.core.errors import WattprintError
    from wattprint.core.naming import CLI
    from wattprint.planner import plan

    naming = CLI.aliased({"power_w": "power"})
    try:
        result = plan(duration=args.duration, power_w=args.power, from_csv=args.from_csv, run=args.run,
                      deadline=args.deadline, country=args.country, region=args.region, cloud=args.cloud,
                      forecast=args.forecast, pue=args.pue, naming=naming)
    except WattprintError as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(render_text(result, _PROG)) + "\n")
    return 0


def render_text(plan: Plan, prog: str) -> list[str]:
    """The plan in a few lines: when, CO2e then and now, the saving, the intensities, and the
    scheduler forms of the start."""
    from wattprint.planner import _clock, _span
    from wattprint.report.scale import CO2_UNITS, fmt, pick

    unit = pick([v for v in (plan.co2_kg_now, plan.co2_kg_start) if v is not None], CO2_UNITS)

    def kg(value: float | None) -> str:  # one unit for the figures compared
        return f"{fmt(value, unit)} {unit[0]}" if value is not None else "?"

    where = plan.location_name or plan.location_key
    if not plan.planned:
        lines = [f"{prog}: start now ({plan.reason})"]
        if plan.co2_kg_now is not None:
            lines.append(f"  CO2e expected: {kg(plan.co2_kg_now)} at {plan.g_per_kwh_now:.4g} gCO2e/kWh, "
                         f"{where}, {plan.source}")
        return lines
    when = "now" if plan.wait_s == 0 else f"in {_span(plan.wait_s)}"
    head = (f"{prog}: start at {_clock(plan.start)} ({when}); the job ends at {_clock(plan.end)}, "
            f"before the deadline {_clock(plan.deadline)}")
    lines = [head]
    fraction = plan.saving_fraction or 0.0
    if plan.co2_kg_now is not None:
        lines.append(f"  CO2e expected: {kg(plan.co2_kg_start)} if started then, {kg(plan.co2_kg_now)} if "
                     f"started now: {kg(plan.saving_kg)} less ({fraction:.0%})")
        lines.append(f"  energy: {plan.energy_kwh:.4g} kWh over {_span(plan.duration_s)}")
    else:
        lines.append(f"  CO2e expected: {fraction:.0%} less than if started now (give --power for kilograms)")
    signal = ", marginal" if plan.signal == "marginal" else ""
    lines.append(f"  intensity over the job: {plan.g_per_kwh_start:.4g} gCO2e/kWh then, "
                 f"{plan.g_per_kwh_now:.4g} now; {plan.source} ({plan.basis}{signal})")
    lines.extend(f"  note: {note}" for note in plan.notes)
    lines.append(f"  SLURM: sbatch {plan.slurm_begin} ...")
    lines.append(f"  at:    {plan.at_command}")
    return lines
