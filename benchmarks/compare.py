"""wattprint side by side with CodeCarbon and ECO2AI: what tracking costs, and what each reports.

Run:
    python benchmarks/compare.py cost        [--repeats 15] [--idle 60] [--idle-rounds 3]
    python benchmarks/compare.py training    [--train-repeats 15] [--steps 3000] [--epochs 3] [--hf] [--hf-steps 1500]
    python benchmarks/compare.py estimates   [--seconds 20]
    python benchmarks/compare.py all         (the three, in that order)
    python benchmarks/compare.py table results/peers-cost.json ...   (Markdown from saved results)

Each tool runs from its own virtual environment (``benchmarks/peers.py`` creates them on first
use), CodeCarbon as ``OfflineEmissionsTracker(country_iso_code="FRA")`` and ECO2AI with
``alpha_2_code="FR"``, and every probe runs inside ``unshare -rn`` where that works, so no tool
can reach the network whatever it tries. Results go to ``benchmarks/results/peers-*.json``;
the Markdown tables are printed.

``cost``: for each tool, in fresh interpreters, interleaved (the order reverses every round),
medians of ``--repeats`` rounds: cold ``import`` (the OS file cache is warm: every tool alike),
construct + ``start()``, ``stop()``; then ``--idle-rounds`` rounds of ``--idle`` seconds of idle
tracking, every tool at once in its own process next to an untracked interpreter, at each
tool's default period and at 1 s: CPU time of the process and its children (ECO2AI runs
``top``) per second tracked, and peak RSS over the whole run (``VmHWM``: ``ru_maxrss`` would
also hold the peak of the process that spawned the probe); and the install size, what each
environment adds to a bare one. Ratios are peer / wattprint.

The shared machine is noisy: ``--wait-load 0.7`` waits (up to 15 min) for the 1-minute load
average to fall below 0.7 before each part, and the load is recorded with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers
from core_overhead import HEAVY

RESULTS = HERE / "results"
TOOL_NAMES = ("wattprint", "codecarbon", "eco2ai")
LABELS = {"wattprint": "wattprint", "codecarbon": "CodeCarbon", "eco2ai": "ECO2AI"}


@dataclass(frozen=True)
class Tool:
    """How a probe imports, builds, starts and stops one tool. ``OUT`` is the probe's directory."""

    name: str
    import_line: str
    construct: str  # an expression; ``{period}`` receives ", <kw>=<seconds>" or ""
    period_kw: str
    default_period_s: float
    start: str = "tracker.start()"
    stop: str = "tracker.stop()"

    def build(self, period_s: float | None = None) -> str:
        period = "" if period_s is None else f", {self.period_kw}={period_s!r}"
        return self.construct.format(period=period)


TOOLS: dict[str, Tool] = {
    "wattprint": Tool(
        "wattprint",
        "import wattprint",
        "wattprint.Tracker(project_name='bench', country='FR', output_file=os.path.join(OUT, 'wattprint.csv'){period})",
        "measure_period",
        1.0,
    ),
    "codecarbon": Tool(
        "codecarbon",
        "from codecarbon import OfflineEmissionsTracker",
        "OfflineEmissionsTracker(project_name='bench', country_iso_code='FRA', output_dir=OUT, log_level='error'{period})",
        "measure_power_secs",
        15.0,
    ),
    "eco2ai": Tool(
        "eco2ai",
        "import eco2ai",
        "eco2ai.Tracker(project_name='bench', experiment_description='bench', file_name=os.path.join(OUT, 'eco2ai.csv'), "
        "alpha_2_code='FR', ignore_warnings=True{period})",
        "measure_period",
        10.0,
    ),
}

# One fresh interpreter: import, build + start, an idle wait while tracking, stop. CPU time is
# the process's (all threads) plus its reaped children's; peak RSS is the process's own (VmHWM).
PROBE = textwrap.dedent(
    """
    import json, os, resource, sys, threading, time
    OUT = {out!r}
    def peak_rss_kb():
        # VmHWM belongs to this program's memory map; ru_maxrss would also hold the peak of the
        # parent that spawned it (Linux carries it across vfork + exec).
        try:
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        except (OSError, StopIteration):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    def cpu_s():
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + c.ru_utime + c.ru_stime
    t0 = time.perf_counter()
    {import_line}
    t1 = time.perf_counter()
    result = {{"import_s": t1 - t0, "heavy": sorted(m for m in {heavy!r} if m in sys.modules)}}
    if {track}:
        t2 = time.perf_counter()
        tracker = {construct}
        {start}
        t3 = time.perf_counter()
    c0 = cpu_s(); w0 = time.monotonic()
    threading.Event().wait({idle})
    c1 = cpu_s(); w1 = time.monotonic()
    if {track}:
        t4 = time.perf_counter()
        {stop}
        t5 = time.perf_counter()
        result.update(start_s=t3 - t2, stop_s=t5 - t4)
    result.update(cpu_s=c1 - c0, wall_s=w1 - w0, maxrss_kb=peak_rss_kb())
    result["heavy_at_end"] = sorted(m for m in {heavy!r} if m in sys.modules)
    print("RESULT " + json.dumps(result))
    """
)


def probe_code(tool: Tool | None, out: str, *, idle_s: float = 0.0, period_s: float | None = None) -> str:
    """The probe for ``tool`` (``None``: a bare interpreter that imports and tracks nothing)."""
    return PROBE.format(
        out=out,
        import_line=tool.import_line if tool else "pass",
        heavy=HEAVY,
        track=tool is not None,
        construct=tool.build(period_s) if tool else "None",
        start=tool.start if tool else "pass",
        stop=tool.stop if tool else "pass",
        idle=idle_s,
    )


def parse_result(stdout: str) -> dict[str, Any]:
    """The ``RESULT {json}`` line a probe prints (tools may print their own lines around it)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"probe printed no result:\n{stdout[-2000:]}")


#: ``unshare -rn`` when it works (set by :func:`main`): probes then have no network at all.
NO_NETWORK: list[str] = []


def _command(env: str, code: str) -> list[str]:
    return [*NO_NETWORK, str(peers.python(env)), "-W", "ignore", "-c", code]


def run_probe(env: str, code: str, *, timeout: float = 600) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wp-probe-") as out:
        done = subprocess.run(
            _command(env, code.replace("@OUT@", out)), capture_output=True, text=True, cwd=out, timeout=timeout, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{env} probe failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return parse_result(done.stdout)


def run_concurrently(jobs: Mapping[str, tuple[str, str]], *, timeout: float = 900) -> dict[str, dict[str, Any]]:
    """Start every ``label: (env, code)`` probe at once and wait for all of them."""
    with tempfile.TemporaryDirectory(prefix="wp-idle-") as root:
        procs = {}
        for label, (env, code) in jobs.items():
            out = os.path.join(root, label.replace("@", "-"))
            os.mkdir(out)
            procs[label] = subprocess.Popen(
                _command(env, code.replace("@OUT@", out)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out
            )
        results = {}
        for label, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"{label} probe failed ({proc.returncode}):\n{stderr[-3000:]}")
            results[label] = parse_result(stdout)
    return results


# -- machine and load ----------------------------------------------------------------------


def loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def wait_for_quiet(threshold: float | None, *, max_wait_s: float = 900, step_s: float = 60) -> dict[str, float]:
    """Wait until the 1-minute load average is below ``threshold`` (``None``: do not wait)."""
    start = time.monotonic()
    first = loadavg()
    while threshold is not None and loadavg() > threshold and time.monotonic() - start < max_wait_s:
        print(f"load {loadavg():.2f} > {threshold}: waiting", file=sys.stderr)
        time.sleep(step_s)
    return {"load_first": first, "load_at_start": loadavg(), "waited_s": round(time.monotonic() - start, 1)}


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        import psutil

        mem_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": model,
        "logical_cpus": os.cpu_count(),
        "memory_gib": mem_gb,
        "date": time.strftime("%Y-%m-%d"),
    }


def tool_versions() -> dict[str, dict[str, str]]:
    keep = ("wattprint", "codecarbon", "eco2ai", "pandas", "numpy", "setuptools", "psutil", "nvidia-ml-py", "pynvml")
    out = {}
    for env in ("wattprint", "codecarbon", "eco2ai"):
        v = peers.versions(env)
        out[env] = {k: v[k] for k in keep if k in v}
    return out


# -- cost ------------------------------------------------------------------------------------


def measure_cost(repeats: int, idle_s: float, idle_rounds: int) -> dict[str, Any]:
    envs = ["bare", *TOOL_NAMES]
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in envs}
    for r in range(repeats):
        for env in envs if r % 2 == 0 else reversed(envs):
            tool = TOOLS.get(env)
            runs[env].append(run_probe(env, probe_code(tool, "@OUT@")))
    idle_jobs: dict[str, tuple[str, str]] = {"bare": ("bare", probe_code(None, "@OUT@", idle_s=idle_s))}
    for name in TOOL_NAMES:
        tool = TOOLS[name]
        for period in sorted({tool.default_period_s, 1.0}):
            idle_jobs[f"{name}@{period:g}"] = (name, probe_code(tool, "@OUT@", idle_s=idle_s, period_s=period))
    idle: dict[str, list[dict[str, Any]]] = {label: [] for label in idle_jobs}
    for _ in range(idle_rounds):
        for label, res in run_concurrently(idle_jobs, timeout=idle_s * 3 + 300).items():
            idle[label].append(res)
    install = {name: peers.install_size(name) for name in TOOL_NAMES}
    return {
        "repeats": repeats,
        "runs": runs,
        "idle_s": idle_s,
        "idle_rounds": idle_rounds,
        "idle": idle,
        "default_period_s": {n: TOOLS[n].default_period_s for n in TOOL_NAMES},
        "install": install,
    }


def _median(rows: Sequence[Mapping[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def cost_summary(cost: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per tool: the medians the cost table shows (ms, %, MB), from raw probe results."""
    runs, idle = cost["runs"], cost["idle"]
    bare_import = _median(runs["bare"], "import_s")
    bare_cpu = statistics.median(r["cpu_s"] / r["wall_s"] for r in idle["bare"])
    bare_rss = _median(idle["bare"], "maxrss_kb")
    out: dict[str, dict[str, Any]] = {}
    for name in TOOL_NAMES:
        if name not in runs:
            continue
        default = f"{name}@{cost['default_period_s'][name]:g}"

        def bg(label: str) -> float | None:
            rows = idle.get(label)
            if not rows:
                return None
            return 100 * (statistics.median(r["cpu_s"] / r["wall_s"] for r in rows) - bare_cpu)

        out[name] = {
            "import_ms": 1e3 * (_median(runs[name], "import_s") - bare_import),
            "start_ms": 1e3 * _median(runs[name], "start_s"),
            "stop_ms": 1e3 * _median(runs[name], "stop_s"),
            "bg_cpu_pct_default": bg(default),
            "bg_cpu_pct_1s": bg(f"{name}@1"),
            "rss_mb": (_median(idle[default], "maxrss_kb") - bare_rss) / 1024,
            "install_mb": cost["install"][name]["mb"],
            "distributions": cost["install"][name]["distributions"],
            "heavy": runs[name][0].get("heavy", []),
            "heavy_at_end": runs[name][0].get("heavy_at_end", []),
            "period_s": cost["default_period_s"][name],
        }
    return out


def _ratio(peer: float | None, ours: float | None) -> str:
    if peer is None or ours is None:
        return "-"
    if ours <= 0:
        return "n/a (wattprint ~0)" if peer > 0 else "-"
    return f"{peer / ours:.1f}x"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def cost_table(results: Mapping[str, Any]) -> list[str]:
    """The Markdown cost table: each tool's figure, the ratio to wattprint, the issue's targets."""
    s = cost_summary(results["cost"])
    w = s["wattprint"]
    peers_here = [n for n in ("codecarbon", "eco2ai") if n in s]
    head = "| per process | wattprint | " + " | ".join(f"{LABELS[n]} | {LABELS[n]} / wattprint" for n in peers_here)
    lines = [head + " | target (vs CodeCarbon) |", "|---" * (2 + 2 * len(peers_here) + 1) + "|"]

    def row(label: str, key: str, fmt: str, target: str = "") -> None:
        cells = [label, fmt.format(w[key]) if w[key] is not None else "-"]
        for n in peers_here:
            v = s[n][key]
            cells += [fmt.format(v) if v is not None else "-", _ratio(v, w[key])]
        lines.append("| " + " | ".join(cells) + f" | {target} |")

    cc = s.get("codecarbon")
    start_target = rss_target = cpu_target = ""
    if cc is not None:
        start_target = f">= 10x: {_verdict(cc['start_ms'] >= 10 * w['start_ms'])}"
        rss_target = f">= 5x less: {_verdict(cc['rss_mb'] >= 5 * w['rss_mb'])}"
        if cc["bg_cpu_pct_default"] is not None and w["bg_cpu_pct_default"] is not None:
            cpu_target = f"no higher: {_verdict(w['bg_cpu_pct_default'] <= cc['bg_cpu_pct_default'])}"
    row("cold `import`, more than a bare interpreter (ms)", "import_ms", "{:.0f}")
    row("construct + `start()` (ms)", "start_ms", "{:.1f}", start_target)
    row("`stop()` (ms)", "stop_ms", "{:.1f}")
    periods = ", ".join(f"{LABELS[n]} {s[n]['period_s']:g} s" for n in s)
    row(f"background CPU, % of one core, default period ({periods})", "bg_cpu_pct_default", "{:.3f}", cpu_target)
    row("background CPU, % of one core, every tool at a 1 s period", "bg_cpu_pct_1s", "{:.3f}")
    row("extra peak RSS over a tracked run (MB)", "rss_mb", "{:.1f}", rss_target)
    row("install size beyond a bare venv (MB)", "install_mb", "{:.1f}")
    row("distributions installed", "distributions", "{:d}")
    for label, key in (("heavy modules after `import`", "heavy"), ("heavy modules after start + stop", "heavy_at_end")):
        cells = [label, ", ".join(w[key]) or "none"]
        for n in peers_here:
            cells += [", ".join(s[n][key]) or "none", ""]
        lines.append("| " + " | ".join(cells) + " | |")
    return lines


def describe_run(results: Mapping[str, Any]) -> list[str]:
    m = results.get("machine", {})
    v = results.get("versions", {})
    load = results.get("load", {})
    parts = [
        (
            f"Machine: {m.get('cpu_model', '?')}, {m.get('logical_cpus', '?')} logical CPUs, {m.get('memory_gib', '?')} GiB, "
            f"{m.get('platform', '?')}, Python {m.get('python', '?')}, {m.get('date', '')}."
        ),
        "Versions: " + "; ".join(f"{env}: " + ", ".join(f"{k} {x}" for k, x in pkgs.items()) for env, pkgs in v.items()) + ".",
    ]
    if load:
        parts.append(
            "1-minute load average: "
            + ", ".join(f"{part} {info.get('load_at_start', float('nan')):.2f} at start (waited {info.get('waited_s', 0):.0f} s)" for part, info in load.items())
            + "."
        )
    return parts


# -- training and estimates (their own modules) -----------------------------------------------


def measure_training(repeats: int, steps: int, epochs: int, hf_steps: int | None) -> dict[str, Any]:
    """Run :mod:`peer_training` in the ``codecarbon-ml`` environment (torch + CodeCarbon)."""
    peers.ensure("codecarbon-ml")
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [*NO_NETWORK, str(peers.python("codecarbon-ml")), str(HERE / "peer_training.py"),
               "--repeats", str(repeats), "--steps", str(steps), "--epochs", str(epochs), "--json", f.name]
        if hf_steps:
            cmd += ["--hf", "--hf-steps", str(hf_steps)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # the trainers' own logs; the JSON has the numbers
        return json.loads(Path(f.name).read_text())


# -- command line ----------------------------------------------------------------------------


def save(kind: str, results: Mapping[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"peers-{kind}.json"
    target.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return target


def tables(results: Mapping[str, Any]) -> list[str]:
    """Markdown for whichever parts ``results`` holds."""
    out = describe_run(results) + [""]
    if "cost" in results:
        out += cost_table(results) + [""]
    if "training" in results:
        from peer_training import training_tables

        out += training_tables(results["training"]) + [""]
    if "estimates" in results:
        from estimates import estimates_table

        out += estimates_table(results["estimates"]) + [""]
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--wait-load", type=float, default=None, metavar="LOAD", help="wait for the 1-minute load average to fall below LOAD")
    common.add_argument("--max-wait", type=float, default=900.0, metavar="SECONDS", help="give up waiting for a quiet machine after this long")
    common.add_argument("--no-save", action="store_true", help="print the tables only")
    p_cost = sub.add_parser("cost", parents=[common])
    p_train = sub.add_parser("training", parents=[common])
    p_est = sub.add_parser("estimates", parents=[common])
    p_all = sub.add_parser("all", parents=[common])
    for p in (p_cost, p_all):
        p.add_argument("--repeats", type=int, default=15, help="interleaved rounds for import/start/stop")
        p.add_argument("--idle", type=float, default=60.0, help="seconds of idle tracking per background-CPU round")
        p.add_argument("--idle-rounds", type=int, default=3)
    for p in (p_train, p_all):
        p.add_argument("--train-repeats", dest="train_repeats", type=int, default=15)
        p.add_argument("--steps", type=int, default=3000)
        p.add_argument("--epochs", type=int, default=3)
        p.add_argument("--hf", action="store_true", help="also the Hugging Face Trainer")
        p.add_argument("--hf-steps", type=int, default=1500)
    for p in (p_est, p_all):
        p.add_argument("--seconds", type=float, default=20.0, help="length of the two-thread CPU workload")
    p_table = sub.add_parser("table")
    p_table.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)

    if args.part == "table":
        merged: dict[str, Any] = {}
        for f in args.files:
            for key, value in json.loads(f.read_text()).items():
                if key in ("load", "versions"):  # one entry per part or environment: keep them all
                    merged.setdefault(key, {}).update(value)
                else:
                    merged[key] = value
        print("\n".join(tables(merged)))
        return

    NO_NETWORK[:] = peers.no_network_prefix()
    if not NO_NETWORK:
        print("note: unshare -rn is unavailable; the probes run with the network as it is", file=sys.stderr)
    for env in ("bare", *TOOL_NAMES):
        peers.ensure(env)
    base = {"machine": machine(), "versions": tool_versions(), "network_isolated": bool(NO_NETWORK)}
    parts = ["cost", "training", "estimates"] if args.part == "all" else [args.part]
    for part in parts:
        results = dict(base, load={part: wait_for_quiet(args.wait_load, max_wait_s=args.max_wait)})
        if part == "cost":
            results["cost"] = measure_cost(args.repeats, args.idle, args.idle_rounds)
        elif part == "training":
            results["training"] = measure_training(args.train_repeats, args.steps, args.epochs, args.hf_steps if args.hf else None)
            results["versions"]["codecarbon-ml"] = {k: v for k, v in peers.versions("codecarbon-ml").items() if k == "codecarbon"}
        else:
            from estimates import measure_estimates

            results["estimates"] = measure_estimates(args.seconds, run_probe)
        results["load"][part]["load_at_end"] = loadavg()
        if not args.no_save:
            print(f"saved {save(part, results)}", file=sys.stderr)
        print("\n".join(tables(results)))


if __name__ == "__main__":
    main()
