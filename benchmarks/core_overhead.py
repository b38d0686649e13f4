"""Cost of wattprint itself: import time, start, stop, sampler CPU, peak memory.

``import wattprint`` loads the Tracker (and psutil and the host sensors) on the first use of
``wattprint.Tracker``, so the import figure is ``import wattprint`` with that first use:
everything loaded before a tracker is built, as a training script does it. The bare
``import wattprint`` (what ``wattprint report`` and ``wattprint intensity`` pay) is its own row.

Run:  python benchmarks/core_overhead.py [--repeats 15] [--idle 20] [--against DIR [DIR ...]] [--python PATH [PATH ...]]

With one ``--python`` every probe runs in that interpreter, and each ``--against`` checkout is
imported through ``PYTHONPATH``. With one interpreter per tree (this tree's first, then one per
``--against`` checkout), each tree is the wattprint installed in its own interpreter (such as
``pip install --no-deps DIR`` into a fresh virtual environment: a wheel install, as from PyPI),
and each is compared with bare runs of its own interpreter.

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
        out["start_rss_kb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
        record = tracker.stop()
        t4 = time.perf_counter()
        out.update(start_s=t3 - t2, stop_s=t4 - t3)
    out["heavy"] = [m for m in {heavy!r} if m in sys.modules]
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's peak on Linux.
    out["maxrss_kb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
    # VmHWM and VmRSS come from counters the kernel sums lazily (per CPU, up to 64 pages behind);
    # smaps_rollup counts the resident pages one by one (current memory, not the peak).
    try:
        out["rss_exact_kb"] = next(int(l.split()[1]) for l in open("/proc/self/smaps_rollup") if l.startswith("Rss:"))
    except OSError:
        out["rss_exact_kb"] = out["maxrss_kb"]
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
    wattprint ahead of ``PYTHONPATH``. A tree with an interpreter of its own (:data:`PYTHON`)
    runs there, with the wattprint installed in it.
    """
    python = PYTHON.get(tree, PYTHON[None])
    env = dict(os.environ, PYTHONPATH=tree) if tree and tree not in PYTHON else None
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=_EMPTY_DIR)
    return json.loads(out.stdout.strip().splitlines()[-1])


_EMPTY_DIR = tempfile.mkdtemp(prefix="wattprint-bench-")
#: The interpreter of each tree (None: this one); ``--python`` gives a clean virtual environment's.
PYTHON: dict[str | None, str] = {None: sys.executable}


def median(xs):
    return statistics.median(xs)


def measure(trees: list[str | None], repeats: int, idle: float) -> dict[str | None, list[tuple[str, str]]]:
    """Every figure for each tree (None: the installed wattprint), all probes interleaved."""
    tmp = tempfile.mkdtemp()
    # The baselines run in each interpreter in use (one, or one per tree), every round.
    envs = {t if t in PYTHON else None for t in trees}
    bare: dict = {e: [] for e in envs}
    base: dict = {e: [] for e in envs}
    full: dict = {t: [] for t in trees}
    lazy: dict = {t: [] for t in trees}
    for _ in range(repeats):  # interleaved: the baselines, then every case, every round
        for e in envs:
            bare[e].append(probe(PROBE.format(import_line="pass", track=False, tmp=tmp, heavy=HEAVY), e))
            base[e].append(probe(PROBE.format(import_line="import psutil", track=False, tmp=tmp, heavy=HEAVY), e))
        for t in trees:
            full[t].append(probe(PROBE.format(import_line=TRACKER_IMPORT, track=True, tmp=tmp, heavy=HEAVY), t))
            lazy[t].append(probe(PROBE.format(import_line="import wattprint", track=False, tmp=tmp, heavy=HEAVY), t))
    std_base: dict = {e: [] for e in envs}
    std_full: dict = {t: [] for t in trees}
    for _ in range(5):
        for e in envs:
            std_base[e].append(probe(PROBE.format(import_line=STDLIB, track=False, tmp=tmp, heavy=HEAVY), e))
        for t in trees:
            std_full[t].append(probe(PROBE.format(import_line=STDLIB + "; " + TRACKER_IMPORT, track=True, tmp=tmp, heavy=HEAVY), t))
    extra_cpu: dict = {t: [] for t in trees}
    for _ in range(3):  # interleaved: idle without, then with a running tracker
        idle_base = {e: probe(IDLE.format(track=False, idle=idle), e) for e in envs}
        for t in trees:
            idle_track = probe(IDLE.format(track=True, idle=idle), t)
            cpu_base = idle_base[t if t in PYTHON else None]["cpu_s"]
            extra_cpu[t].append((idle_track["cpu_s"] - cpu_base) / idle_track["wall_s"])

    def ms(xs, ys=None):
        return f"{1e3 * (median(xs) - (median(ys) if ys else 0.0)):.1f} ms"

    def mb(xs, ys):
        return f"{(median(xs) - median(ys)) / 1024:.1f} MB"

    out = {}
    for t in trees:
        e = t if t in PYTHON else None
        f, z, sf, b0, b1, sb = full[t], lazy[t], std_full[t], bare[e], base[e], std_base[e]
        out[t] = [
            (ms([r["import_s"] + r["start_s"] for r in f], [b["import_s"] for b in b0]), "< 30 ms"),
            (ms([r["import_s"] for r in f], [b["import_s"] for b in b0]), "-"),
            (ms([r["import_s"] for r in z], [b["import_s"] for b in b0]), "-"),
            (ms([r["start_s"] for r in f]), "< 20 ms"),
            (ms([r["stop_s"] for r in f]), "< 20 ms"),
            (f"{100 * median(extra_cpu[t]):.3f} %", "< 0.1 %"),
            (mb([r["start_rss_kb"] for r in f], [b["maxrss_kb"] for b in b0]), "< 4 MB"),
            (mb([r["maxrss_kb"] for r in f], [b["maxrss_kb"] for b in b0]), "-"),
            (mb([r["rss_exact_kb"] for r in f], [b["rss_exact_kb"] for b in b0]), "-"),
            (mb([r["maxrss_kb"] for r in f], [b["maxrss_kb"] for b in b1]), "-"),
            (mb([r["maxrss_kb"] for r in sf], [b["maxrss_kb"] for b in sb]), "< 5 MB"),
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
    "extra peak RSS vs a bare interpreter, after `start()`",
    "extra peak RSS vs a bare interpreter, after `stop()` too (the CSV row written)",
    "extra resident memory vs a bare interpreter after `stop()`, pages counted exactly (smaps_rollup)",
    "extra peak RSS vs an interpreter that imported psutil (after `stop()`)",
    "extra peak RSS vs an interpreter with the stdlib modules a training process has (after `stop()`)",
    "heavy modules imported by `import wattprint`",
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of idle tracking per run for the sampler CPU figure (3 runs)")
    ap.add_argument("--against", metavar="DIR", nargs="+", default=[],
                    help="other checkouts of wattprint (such as `git worktree add DIR main`; several: one per "
                    "commit of a series), measured in the same rounds")
    ap.add_argument("--python", metavar="PATH", nargs="+", default=[],
                    help="the interpreter to probe with, such as a clean virtual environment's with only this tree "
                    "installed (default: this one); or one per tree, this tree's first, each with its tree installed")
    args = ap.parse_args()
    trees: list[str | None] = [None, *(os.path.abspath(tree) for tree in args.against)]
    if len(args.python) not in (0, 1, len(trees)):
        ap.error(f"--python takes one interpreter, or one per tree ({len(trees)})")
    PYTHON.update(zip(trees, args.python))
    compile_here = ("import compileall, os, wattprint; compileall.compile_dir(os.path.dirname(wattprint.__file__), quiet=1); "
                    "print(wattprint.__file__)")
    for tree in trees:
        if tree in PYTHON:
            where = subprocess.run([PYTHON[tree], "-c", compile_here], check=True, capture_output=True, text=True,
                                   cwd=_EMPTY_DIR).stdout.strip()
            print(f"{tree or 'this tree'}: {PYTHON[tree]} imports {where}")
        elif tree is not None:
            compile_package(tree)
    compile_package()
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
