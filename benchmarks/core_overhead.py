"""Cost of wattprint itself: import time, start, stop, sampler CPU, peak memory.

``import wattprint`` loads the Tracker (and psutil and the host sensors) on the first use of
``wattprint.Tracker``, so the import figure is ``import wattprint`` with that first use:
everything loaded before a tracker is built, as a training script does it. The bare
``import wattprint`` (what ``wattprint report`` and ``wattprint intensity`` pay) is its own row.

Run:  python benchmarks/core_overhead.py [--repeats 15] [--idle 20] [--against DIR [DIR ...]] [--python PATH]

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
# Everything a tracker needs, loaded as a script that builds one loads it.
TRACKER_IMPORT = "import wattprint; wattprint.Tracker"
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


def compile_package(tree: str | None = None) -> None:
    """Write wattprint's bytecode, as an install does.

    Without it (PYTHONDONTWRITEBYTECODE, or sources edited since the last import) every probe
    compiles the changed modules from source, and the import figure measures the compiler.
    """
    if tree is not None:
        compileall.compile_dir(os.path.join(tree, "wattprint"), quiet=1)
        return
    spec = importlib.util.find_spec("wattprint")
    if spec is None or spec.origin is None:
        raise SystemExit("wattprint is not importable here: pip install -e . first")
    compileall.compile_dir(os.path.dirname(spec.origin), quiet=1)


def probe(code: str, tree: str | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; ``tree`` is another checkout to import wattprint from.

    The probe runs in an empty directory: from a checkout, ``-c`` would import that checkout's
    wattprint ahead of ``PYTHONPATH``.
    """
    env = dict(os.environ, PYTHONPATH=tree) if tree else None
    out = subprocess.run([PYTHON[0], "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=_EMPTY_DIR)
    return json.loads(out.stdout.strip().splitlines()[-1])


_EMPTY_DIR = tempfile.mkdtemp(prefix="wattprint-bench-")
#: The interpreter the probes run in (``--python``: a clean virtual environment's).
PYTHON = [sys.executable]


def median(xs):
    return statistics.median(xs)


def measure(trees: list[str | None], repeats: int, idle: float) -> dict[str | None, list[tuple[str, str]]]:
    """Every figure for each tree (None: the installed wattprint), all probes interleaved."""
    tmp = tempfile.mkdtemp()
    bare, base = [], []
    full: dict = {t: [] for t in trees}
    lazy: dict = {t: [] for t in trees}
    for _ in range(repeats):  # interleaved: the baselines, then every case, every round
        bare.append(probe(PROBE.format(import_line="pass", track=False, tmp=tmp, heavy=HEAVY)))
        base.append(probe(PROBE.format(import_line="import psutil", track=False, tmp=tmp, heavy=HEAVY)))
        for t in trees:
            full[t].append(probe(PROBE.format(import_line=TRACKER_IMPORT, track=True, tmp=tmp, heavy=HEAVY), t))
            lazy[t].append(probe(PROBE.format(import_line="import wattprint", track=False, tmp=tmp, heavy=HEAVY), t))
    std_base = []
    std_full: dict = {t: [] for t in trees}
    for _ in range(5):
        std_base.append(probe(PROBE.format(import_line=STDLIB, track=False, tmp=tmp, heavy=HEAVY)))
        for t in trees:
            std_full[t].append(probe(PROBE.format(import_line=STDLIB + "; " + TRACKER_IMPORT, track=True, tmp=tmp, heavy=HEAVY), t))
    extra_cpu: dict = {t: [] for t in trees}
    for _ in range(3):  # interleaved: idle without, then with a running tracker
        idle_base = probe(IDLE.format(track=False, idle=idle))
        for t in trees:
            idle_track = probe(IDLE.format(track=True, idle=idle), t)
            extra_cpu[t].append((idle_track["cpu_s"] - idle_base["cpu_s"]) / idle_track["wall_s"])

    def ms(xs, ys=None):
        return f"{1e3 * (median(xs) - (median(ys) if ys else 0.0)):.1f} ms"

    def mb(xs, ys):
        return f"{(median(xs) - median(ys)) / 1024:.1f} MB"

    out = {}
    for t in trees:
        f, z, sf = full[t], lazy[t], std_full[t]
        out[t] = [
            (ms([r["import_s"] + r["start_s"] for r in f], [b["import_s"] for b in bare]), "< 30 ms"),
            (ms([r["import_s"] for r in f], [b["import_s"] for b in bare]), "-"),
            (ms([r["import_s"] for r in z], [b["import_s"] for b in bare]), "-"),
            (ms([r["start_s"] for r in f]), "< 20 ms"),
            (ms([r["stop_s"] for r in f]), "< 20 ms"),
            (f"{100 * median(extra_cpu[t]):.3f} %", "< 0.1 %"),
            (mb([r["maxrss_kb"] for r in f], [b["maxrss_kb"] for b in bare]), "< 4 MB"),
            (mb([r["maxrss_kb"] for r in f], [b["maxrss_kb"] for b in base]), "-"),
            (mb([r["maxrss_kb"] for r in sf], [b["maxrss_kb"] for b in std_base]), "< 5 MB"),
            (", ".join(f[0]["heavy"]) or "none", "none"),
        ]
    return out


ROWS = (
    "`import wattprint` + `Tracker(country='FR').start()`, more than a bare interpreter",
    "`import wattprint` and its first `wattprint.Tracker`, more than a bare interpreter",
    "`import wattprint` alone (what `wattprint report` and `intensity` load)",
    "`Tracker(country='FR')` + `start()` (first in a process)",
    "`stop()` (writes the CSV row)",
    "sampler CPU at a 1 s period, share of one core",
    "extra peak RSS vs a bare interpreter",
    "extra peak RSS vs an interpreter that imported psutil",
    "extra peak RSS vs an interpreter with the stdlib modules a training process has",
    "heavy modules imported by `import wattprint`",
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of idle tracking per run for the sampler CPU figure (3 runs)")
    ap.add_argument("--against", metavar="DIR", nargs="+", default=[],
                    help="other checkouts of wattprint (such as `git worktree add DIR main`; several: one per "
                    "commit of a series), measured in the same rounds")
    ap.add_argument("--python", metavar="PATH", help="the interpreter to probe with, such as a clean virtual "
                    "environment's with only this tree installed (default: this one)")
    args = ap.parse_args()
    if args.python:
        PYTHON[0] = args.python
        compile_here = "import compileall, os, wattprint; compileall.compile_dir(os.path.dirname(wattprint.__file__), quiet=1)"
        subprocess.run([args.python, "-c", compile_here], check=True)
    compile_package()
    trees: list[str | None] = [None]
    for tree in args.against:
        compile_package(tree)
        trees.append(os.path.abspath(tree))
    figures = measure(trees, args.repeats, args.idle)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.repeats} interleaved runs, medians\n")
    against = "".join(f" | {t}" for t in trees[1:])
    print(f"| what | this tree{against} | target |")
    print("|" + "---|" * (2 + len(trees)))
    for i, what in enumerate(ROWS):
        cells = [figures[t][i][0] for t in trees]
        print(f"| {what} | {' | '.join(cells)} | {figures[None][i][1]} |")


if __name__ == "__main__":
    main()
