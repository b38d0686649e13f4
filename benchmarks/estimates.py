"""Estimates side by side: one CPU workload, what wattprint, CodeCarbon and ECO2AI each report.

Run:  python benchmarks/compare.py estimates [--seconds 20]

The workload: two threads hashing a 1 MiB buffer with SHA-256 for ``--seconds`` (``hashlib``
releases the GIL on large buffers, so two threads keep two cores busy; stdlib only, identical
in every environment). Each tool measures it in a fresh interpreter of its own environment,
one tool after another, twice: in its default mode and in its per-process mode
(wattprint ``scope="machine"|"process"``, CodeCarbon ``tracking_mode="machine"|"process"``,
ECO2AI ``cpu_processes="all"|"current"``; ECO2AI's default is ``"current"``). Country France
for all three, each with its own intensity figure. PUE 1.

Per-domain energy is what each tool exposes after ``stop()``: wattprint's record,
CodeCarbon's ``final_emissions_data``, ECO2AI's per-device accumulators (``_cpu``, ``_ram``,
``_gpu``: it writes only the total to its CSV).

Nothing here is the truth: this machine is a VM with no energy counter readable, so every
figure is a model: a power per CPU and a load curve, and a RAM rule.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import Any

WORKLOAD = textwrap.dedent(
    """
    import hashlib, os, threading, time
    def workload(seconds, threads=2):
        buf = os.urandom(1 << 20)
        end = time.monotonic() + seconds
        def spin():
            while time.monotonic() < end:
                hashlib.sha256(buf).digest()
        pool = [threading.Thread(target=spin) for _ in range(threads)]
        for t in pool: t.start()
        for t in pool: t.join()
    """
)

# Per tool: import, build (``@MODE@`` becomes the tool's own mode value), run, stop, and what to report.
SPECS: dict[str, dict[str, Any]] = {
    "wattprint": {
        "modes": {"machine": "machine", "process": "process"},
        "code": """
import wattprint
tracker = wattprint.Tracker(project_name='bench', country='FR', output_file=None, scope=@MODE@)
tracker.start()
@RUN@
rec = tracker.stop()
out = dict(
    cpu_kwh=rec.energy_kwh_by_domain.get('cpu', 0.0), ram_kwh=rec.energy_kwh_by_domain.get('ram', 0.0),
    gpu_kwh=rec.energy_kwh_by_domain.get('gpu', 0.0), total_kwh=rec.energy_kwh, co2_kg=rec.co2_kg,
    intensity_g_per_kwh=rec.intensity_g_per_kwh, duration_s=rec.duration_s,
    method=dict(rec.method_by_domain),
    model=[n for n in tracker.notes if n.startswith(('cpu:', 'ram:'))],
)
""",
    },
    "codecarbon": {
        "modes": {"machine": "machine", "process": "process"},
        "code": """
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(project_name='bench', country_iso_code='FRA', output_dir=OUT, log_level='error', tracking_mode=@MODE@)
tracker.start()
@RUN@
tracker.stop()
d = tracker.final_emissions_data
cpu = [h for h in tracker._hardware if type(h).__name__ == 'CPU']
out = dict(
    cpu_kwh=d.cpu_energy, ram_kwh=d.ram_energy, gpu_kwh=d.gpu_energy, total_kwh=d.energy_consumed,
    co2_kg=d.emissions, intensity_g_per_kwh=1000 * d.emissions / d.energy_consumed if d.energy_consumed else None,
    duration_s=d.duration, method=dict(cpu=getattr(cpu[0], '_mode', '?') if cpu else 'none', ram='RAM model'),
    model=[f"CPU TDP {getattr(cpu[0], '_tdp', '?')} W ({d.cpu_model}), last CPU power {d.cpu_power:.2f} W" if cpu else '',
           f"RAM power {d.ram_power:.1f} W for {d.ram_total_size:.1f} GB"],
)
""",
    },
    "eco2ai": {
        "modes": {"machine": "all", "process": "current"},
        "code": """
import csv, eco2ai
path = os.path.join(OUT, 'eco2ai.csv')
tracker = eco2ai.Tracker(project_name='bench', experiment_description='bench', file_name=path, alpha_2_code='FR', ignore_warnings=True, cpu_processes=@MODE@)
tracker.start()
@RUN@
tracker.stop()
row = list(csv.DictReader(open(path)))[-1]
gpu = getattr(tracker._gpu, '_consumption', 0.0) if tracker._gpu.is_gpu_available else 0.0
out = dict(
    cpu_kwh=tracker._cpu._consumption, ram_kwh=tracker._ram._consumption, gpu_kwh=gpu,
    total_kwh=float(row['power_consumption(kWh)']), co2_kg=float(row['CO2_emissions(kg)']),
    intensity_g_per_kwh=tracker.emission_level(), duration_s=float(row['duration(s)']),
    method=dict(cpu='TDP x CPU share', ram='0.375 W/GB'),
    model=[f"CPU TDP {tracker._cpu.tdp()} W x {tracker._cpu.cpu_num()} socket(s) ({tracker._cpu.name()})"],
)
""",
    },
}

PROBE = textwrap.dedent(
    """
    import json, os, resource, time
    OUT = {out!r}
    {workload}
    c0 = time.process_time(); w0 = time.monotonic()
    {body}
    out['workload_cpu_share'] = (time.process_time() - c0) / (time.monotonic() - w0)
    print('RESULT ' + json.dumps(out))
    """
)


def estimate_probe(tool: str, mode: str, seconds: float, out: str = "@OUT@") -> str:
    spec = SPECS[tool]
    body = spec["code"].replace("@MODE@", repr(spec["modes"][mode])).replace("@RUN@", f"workload({seconds!r})")
    return PROBE.format(out=out, workload=WORKLOAD, body=body.strip())


def measure_estimates(seconds: float, run_probe: Callable[[str, str], dict[str, Any]]) -> dict[str, Any]:
    """Each tool in each mode, one after the other; ``run_probe(env, code)`` runs a probe."""
    runs: dict[str, dict[str, Any]] = {}
    for mode in ("machine", "process"):
        for tool in SPECS:
            runs[f"{tool}/{mode}"] = run_probe(tool, estimate_probe(tool, mode, seconds))
    return {"seconds": seconds, "threads": 2, "country": "FR", "runs": runs}


LABELS = {"wattprint": "wattprint", "codecarbon": "CodeCarbon", "eco2ai": "ECO2AI"}


def _w(kwh: float | None, seconds: float) -> str:
    return "-" if kwh is None or seconds <= 0 else f"{kwh * 3.6e6 / seconds:.2f}"


def estimates_table(est: Mapping[str, Any]) -> list[str]:
    """Markdown: per tool and mode, energy per domain (Wh), mean power (W), CO2 (g), intensity, method."""
    lines = [
        f"Workload: {est['threads']} threads of SHA-256 for {est['seconds']:g} s; country {est['country']}; PUE 1.",
        "",
        "| tool, mode | CPU Wh (mean W) | RAM Wh (mean W) | total Wh | CO2 g | intensity g/kWh | CPU busy (cores) | method and model |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, r in est["runs"].items():
        tool, mode = key.split("/")
        dur = float(r.get("duration_s") or est["seconds"])
        method = ", ".join(f"{d} {m}" for d, m in r.get("method", {}).items())
        model = "; ".join(m for m in r.get("model", []) if m)
        intensity = r.get("intensity_g_per_kwh")
        lines.append(
            f"| {LABELS[tool]}, {mode} | {r['cpu_kwh'] * 1e3:.4f} ({_w(r['cpu_kwh'], dur)}) | {r['ram_kwh'] * 1e3:.4f} ({_w(r['ram_kwh'], dur)}) "
            f"| {r['total_kwh'] * 1e3:.4f} | {r['co2_kg'] * 1e3:.4f} | {'-' if intensity is None else f'{intensity:.0f}'} "
            f"| {r.get('workload_cpu_share', float('nan')):.2f} | {method}: {model} |"
        )
    return lines
