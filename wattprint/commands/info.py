"""``wattprint info``: what this machine can measure, how, and at which carbon intensity."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings

from wattprint import __version__


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="show detected hardware, measurement methods, location and intensity")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--scope", choices=("machine", "process"), default="machine")
    p.add_argument("--country")
    p.add_argument("--region")
    p.add_argument("--cloud")
    p.set_defaults(func=run)


def gather(scope: str = "machine", **location) -> dict:
    """Everything ``info`` shows, as a dict (also used by tests)."""
    from wattprint.core.carbon import resolve_source
    from wattprint.core.clock import SYSTEM_CLOCK
    from wattprint.core.discovery import discover
    from wattprint.core.distributed import rank_info
    from wattprint.core.errors import WattprintError
    from wattprint.core.naming import CLI

    ranks = rank_info()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = discover(scope=scope, clock=SYSTEM_CLOCK, measure_host=True, gpu=True, ranks=ranks)
        try:
            intensity = resolve_source(**{k: v for k, v in location.items() if v}, naming=CLI).current()
            location_info = {
                "key": intensity.key,
                "name": intensity.name,
                "g_per_kwh": intensity.g_per_kwh,
                "basis": intensity.basis,
                "year": intensity.year,
                "source": intensity.source,
                "licence": intensity.licence,
                "located_by": intensity.located_by,
            }
        except WattprintError as exc:
            location_info = {"error": str(exc)}
    sensors = [
        {"domain": s.domain, "method": s.method, "name": s.name, "key": s.key, "note": s.note}
        for s in found.sensors
    ]
    for s in found.sensors:
        s.close()
    cpu = {}
    try:
        from wattprint.core.sensors.cpu_info import cpu_info

        info = cpu_info()
        cpu = info._asdict()
        cpu["row"] = info.row._asdict() if info.row is not None else None  # named tuples: JSON objects
    except Exception as exc:  # info must always print something useful
        cpu = {"error": str(exc)}
    return {
        "wattprint": __version__,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "rank": {"rank": ranks.rank, "local_rank": ranks.local_rank, "world_size": ranks.world_size},
        "sensors": sensors,
        "notes": found.notes + [str(w.message) for w in caught],
        "cpu": cpu,
        "location": location_info,
    }


def run(args: argparse.Namespace) -> int:
    from wattprint.commands.intensity import located_by_words

    data = gather(args.scope, country=args.country, region=args.region, cloud=args.cloud)
    # A location that cannot be resolved is a usage error (status 2, as `wattprint intensity`
    # gives), after everything else has been shown.
    status = 2 if "error" in data["location"] else 0
    if args.json:
        json.dump(data, sys.stdout, indent=2, default=str)
        print()
        return status
    out = [f"wattprint {data['wattprint']} on Python {data['python']}, {data['os']}"]
    out.append("")
    out.append("Measured domains:")
    if not data["sensors"]:
        out.append("  (none)")
    for s in data["sensors"]:
        out.append(f"  {s['domain']:<4} {s['method']:<10} {s['name']}")
        if s["note"]:
            out.append(f"       {s['note']}")
    if data["notes"]:
        out.append("")
        out.append("Detection notes:")
        out.extend(f"  - {n}" for n in data["notes"])
    if data["cpu"]:
        out.append("")
        out.append("CPU:")
        out.extend(f"  {line}" for line in _cpu_lines(data["cpu"]))
    loc = data["location"]
    out.append("")
    out.append("Carbon intensity:")
    if "error" in loc:
        out.append(f"  error: {loc['error']}")
    else:
        year = f", {loc['year']}" if loc["year"] else ""
        out.append(f"  {loc['name']} ({loc['key']}): {loc['g_per_kwh']:g} gCO2e/kWh ({loc['basis']}{year})")
        out.append(f"  source: {loc['source']} [{loc['licence']}]")
        out.append(f"  location found by: {located_by_words(loc['located_by'])}")
    print("\n".join(out))
    return status


def _cpu_lines(cpu: dict) -> list[str]:
    """The CPU as the estimate sees it, in words (``--json`` keeps the raw fields)."""
    if "error" in cpu:
        return [f"not identified: {cpu['error']}"]
    name = " ".join(p for p in (cpu.get("vendor"), cpu.get("model")) if p) or "unknown CPU"
    raw = cpu.get("model_raw") or ""
    lines = [name + (f" (reported as {raw!r})" if raw and raw != name else "")]
    visible = f"{cpu['visible_cpus']:g} of {cpu['logical_cpus']} logical CPUs visible to this process"
    if cpu.get("quota_cpus") is not None:
        visible += f" (cgroup CPU quota: {cpu['quota_cpus']:g})"
    lines.append(visible)
    row = cpu.get("row")
    if row:
        threads = f", {row['threads']} threads" if row.get("threads") else ""
        lines.append(f"TDP table: {row['vendor']} {row['model']}, {row['tdp_w']:g} W per socket{threads} "
                     f"({cpu['match_level']} match)")
    else:
        lines.append("TDP table: no row for this model")
    lines.append(f"estimate: {cpu['w_per_thread']:g} W per logical CPU at full load ({cpu['basis']})")
    if cpu.get("hypervisor"):
        lines.append("runs in a virtual machine (hypervisor detected)")
    return lines
