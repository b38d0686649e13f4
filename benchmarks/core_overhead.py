"""Cost of wattprint itself: import time, start, stop, sampler CPU, peak memory.

Run:  python benchmarks/core_overhead.py [--repeats 15] [--idle 20]

Every figure is a median of interleaved runs in fresh interpreters (this machine is shared and
noisy, so the baseline is measured alternately with the case, and results are ratios or
differences against it). Prints a Markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

# What any ML training process has loaded long before it builds a tracker.
STDLIB = "import logging, dataclasses, datetime, socket, uuid, json, csv, threading, pathlib, re, subprocess, tempfile, inspect"
HEAVY = ("numpy", "pandas", "torch", "keras", "transformers", "lightning", "pytorch_lightning", "matplotlib")

PROBE = textwrap.dedent(
    """
    import json, sys, time, os
    t0 = time.perf_counter()
    {import_line}
    t1 = time.perf_counter()
    out = {{"import_s": t1 - t0}}
    if {track}:
        import wattprint
        path = os.path.join({tmp!r}, "e%d.csv" % os.getpid())
        t2 = time.perf_counter()
        tracker = wattprint.Tracker(project_name="bench", country="FR", output_file=path)
        tracker.start()
        t3 = time.perf_counter()
        record = tracker.stop()
        t4 = time.perf_counter()
        out.update(start_s=t3 - t2, stop_s=t4 - t3)
    out["heavy"] = [m for m in {heavy!r} if m in sys.modules]
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's peak on Linux.
    out["maxrss_kb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
    print(json.dumps(out))
    """
)

IDLE = textwrap.dedent(
    """
    import json, threading, time, os
    import wattprint
    track = {track}
    if track:
        tracker = wattprint.Tracker(project_name="bench", country="FR", output_file=None, measure_period=1.0)
        tracker.start()
    c0 = time.process_time(); w0 = time.monotonic()
    threading.Event().wait({idle})
    c1 = time.process_time(); w1 = time.monotonic()
    if track:
        tracker.stop()
    print(json.dumps({{"cpu_s": c1 - c0, "wall_s": w1 - w0}}))
    """
)


def compile_package() -> None:
    """Write wattprint's bytecode, as an install does.

    Without it (PYTHONDONTWRITEBYTECODE, or sources edited since the last import) every probe
    compiles the changed modules from source, and the import figure measures the compiler.
    """
    spec = importlib.util.find_spec("wattprint")
    if spec is None or spec.origin is None:
        raise SystemExit("wattprint is not importable here: pip install -e . first")
    compileall.compile_dir(os.path.dirname(spec.origin), quiet=1)


def probe(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(xs):
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of idle tracking per run for the sampler CPU figure (3 runs)")
    args = ap.parse_args()
    compile_package()
    tmp = tempfile.mkdtemp()
    base, full = [], []
    for _ in range(args.repeats):  # interleaved: baseline, then the case, every round
        base.append(probe(PROBE.format(import_line="import psutil", track=False, tmp=tmp, heavy=HEAVY)))
        full.append(probe(PROBE.format(import_line="import wattprint", track=True, tmp=tmp, heavy=HEAVY)))
    bare = [probe(PROBE.format(import_line="pass", track=False, tmp=tmp, heavy=HEAVY)) for _ in range(args.repeats)]
    std_base, std_full = [], []
    for _ in range(5):
        std_base.append(probe(PROBE.format(import_line=STDLIB, track=False, tmp=tmp, heavy=HEAVY)))
        std_full.append(probe(PROBE.format(import_line=STDLIB + "; import wattprint", track=True, tmp=tmp, heavy=HEAVY)))
    extra_cpu = []
    for _ in range(3):  # interleaved pairs: idle without, then with a running tracker
        idle_base = probe(IDLE.format(track=False, idle=args.idle))
        idle_track = probe(IDLE.format(track=True, idle=args.idle))
        extra_cpu.append((idle_track["cpu_s"] - idle_base["cpu_s"]) / idle_track["wall_s"])
    sampler_cpu = median(extra_cpu)
    rows = [
        ("`import wattprint`, more than a bare interpreter", f"{1e3 * (median([f['import_s'] for f in full]) - median([b['import_s'] for b in bare])):.1f} ms", "< 50 ms"),
        ("`Tracker(country='FR')` + `start()` (first in a process)", f"{1e3 * median([f['start_s'] for f in full]):.1f} ms", "< 20 ms"),
        ("`stop()` (writes the CSV row)", f"{1e3 * median([f['stop_s'] for f in full]):.1f} ms", "< 20 ms"),
        ("sampler CPU at a 1 s period, share of one core", f"{100 * sampler_cpu:.3f} %", "< 0.1 %"),
        ("extra peak RSS vs a bare interpreter", f"{(median([f['maxrss_kb'] for f in full]) - median([b['maxrss_kb'] for b in bare])) / 1024:.1f} MB", "< 5 MB"),
        ("extra peak RSS vs an interpreter that imported psutil", f"{(median([f['maxrss_kb'] for f in full]) - median([b['maxrss_kb'] for b in base])) / 1024:.1f} MB", "-"),
        ("extra peak RSS vs an interpreter with the stdlib modules a training process has", f"{(median([f['maxrss_kb'] for f in std_full]) - median([b['maxrss_kb'] for b in std_base])) / 1024:.1f} MB", "< 5 MB"),
        ("heavy modules imported by `import wattprint`", ", ".join(full[0]["heavy"]) or "none", "none"),
    ]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.repeats} interleaved runs, medians\n")
    print("| what | measured | target |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    main()
