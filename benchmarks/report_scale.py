"""Cost of ``wattprint report`` against the number of rows: time, CPU time and peak memory.

Two shapes of file, each at 10k, 100k and 1M rows (``--sizes``):

* **many runs** (text, ``--json``): runs of 99 epoch rows and a run row, so 100 rows a run
  (1,000 runs at 100k rows), as a team's year of short trainings;
* **long runs** (``--html``, ``--png``): 10 runs of (rows / 10 - 1) epochs and a run row
  (10 runs x 9,999 epochs at 100k rows), as long trainings logged per epoch.

Each case runs ``wattprint report`` in a fresh interpreter (output to /dev/null or a temporary
file), in rounds that interleave the cases, and reports medians: wall time, CPU time (user +
system: on this shared machine the wall time also holds other people's work) and peak RSS
(``VmHWM``). The slope is the cost of one more row between the two largest sizes (linear cost:
the slope between 10k and 100k is about the one between 100k and 1M).

Run:  python benchmarks/report_scale.py [--sizes 10000 100000 1000000] [--repeats 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

PROBE = textwrap.dedent(
    """
    import json, os, resource, sys, time
    t0, c0 = time.perf_counter(), time.process_time()
    from wattprint.cli import main
    rc = main(sys.argv[1:])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
    os.write(int(os.environ["REPORT_SCALE_FD"]), json.dumps({"rc": rc, "wall_s": wall, "cpu_s": cpu, "peak_kb": hwm}).encode())
    """
)

FORMATS = {"text": "many", "json": "many", "html": "long", "png": "long"}


def write_csv(path: Path, rows: int, runs: int) -> None:
    """``runs`` runs of ``rows / runs - 1`` epoch rows and one run row each, as the Tracker writes them."""
    from wattprint.core import csvformat
    from wattprint.core.record import EnergyRecord

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    base = EnergyRecord(
        project_name="bench", experiment_description="scale", run_id="x", window="epoch", index=0, start_time=t0,
        duration_s=60.0, energy_kwh_by_domain={"cpu": 1e-3, "gpu": 5e-3, "ram": 1e-4},
        method_by_domain={"cpu": "estimated", "gpu": "counter", "ram": "estimated"}, pue=1.2,
        intensity_g_per_kwh=44.0, intensity_key="FR", intensity_name="France", intensity_source="Ember",
        host="node1", cpu_name="AMD EPYC", gpu_name="NVIDIA H100",
    )
    template = next(csv.reader(io.StringIO(csvformat.encode_row(base))))
    col = {c: i for i, c in enumerate(csvformat.COLUMNS)}
    epochs = rows // runs - 1
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(csvformat.line(csvformat.COLUMNS))
        for r in range(runs):
            run_id = f"{r:08x}-0000-4000-8000-{r:012x}"
            cells = list(template)
            cells[col["id"]] = run_id
            cells[col["experiment_description"]] = f"scale {r % 5}"
            for e in range(epochs + 1):
                last = e == epochs
                n = epochs if last else 1
                cpu, gpu, ram = 1e-3 * n * (1 + (e % 13) / 13), 5e-3 * n, 1e-4 * n
                total = cpu + gpu + ram
                cells[col["epoch"]] = "N/A" if last else str(e)
                cells[col["window"]] = "run" if last else "epoch"
                cells[col["start_time"]] = (t0 + timedelta(seconds=0 if last else 60 * e)).strftime(csvformat.TIME_FORMAT)
                cells[col["duration(s)"]] = repr(60.0 * n)
                cells[col["power_consumption(kWh)"]] = repr(total)
                cells[col["CO2_emissions(kg)"]] = repr(total * 1.2 * 44.0 / 1000)
                for d, v in (("cpu", cpu), ("gpu", gpu), ("ram", ram)):
                    cells[col[f"energy_kwh_{d}"]] = repr(v)
                cells[col["power_w"]] = repr(total * 3.6e6 / (60.0 * n))
                f.write(csvformat.line(cells))


def probe(fmt: str, path: Path, out_dir: Path) -> dict:
    args = [str(path)]
    if fmt == "json":
        args.append("--json")
    elif fmt in ("html", "png"):
        args += [f"--{fmt}", str(out_dir / f"out.{fmt}")]
    read, write = os.pipe()
    with open(os.devnull, "w") as null:
        proc = subprocess.Popen([sys.executable, "-c", PROBE, "report", *args], stdout=null,
                                stderr=subprocess.PIPE, pass_fds=(write,), cwd=out_dir,
                                env={**os.environ, "REPORT_SCALE_FD": str(write)})
        os.close(write)
        with os.fdopen(read) as r:
            result = json.loads(r.read() or "{}")
        err = proc.stderr.read().decode()
        proc.wait()
    if proc.returncode or result.get("rc"):
        raise SystemExit(f"wattprint report {' '.join(args)} failed: {err}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3, help="rounds for sizes below 1M (1M: one round)")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    parser.add_argument("--json", type=Path, help="write the raw results here")
    args = parser.parse_args()

    results: dict[str, dict[int, list[dict]]] = {f: {} for f in args.formats}
    with tempfile.TemporaryDirectory(prefix="wattprint-report-scale-") as tmp:
        tmp_dir = Path(tmp)
        for rows in args.sizes:
            files = {}
            for shape, runs in (("many", rows // 100), ("long", 10)):
                if any(FORMATS[f] == shape for f in args.formats):
                    files[shape] = tmp_dir / f"{shape}-{rows}.csv"
                    write_csv(files[shape], rows, runs)
            repeats = args.repeats if rows < 1_000_000 else 1
            for round_ in range(repeats):
                for fmt in args.formats:
                    r = probe(fmt, files[FORMATS[fmt]], tmp_dir)
                    results[fmt].setdefault(rows, []).append(r)
                    print(f"{rows:>9,} rows {fmt:<5} round {round_ + 1}: {r['wall_s']:.2f} s wall, "
                          f"{r['cpu_s']:.2f} s CPU, {r['peak_kb'] / 1024:.0f} MB", flush=True)
            for path in files.values():
                path.unlink()

    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}\n")
    print("| format | rows | wall (s) | CPU (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    med = {}
    for fmt in args.formats:
        for rows, runs in sorted(results[fmt].items()):
            m = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s", "peak_kb")}
            med[(fmt, rows)] = m
            print(f"| {fmt} | {rows:,} | {m['wall_s']:.2f} | {m['cpu_s']:.2f} | {m['peak_kb'] / 1024:.0f} |")
    print("\n| format | CPU per 1,000 rows (ms), small -> mid | mid -> large | memory per 1,000 rows (MB), mid -> large |")
    print("|---|---|---|---|")
    sizes = sorted(args.sizes)
    for fmt in args.formats:
        if len(sizes) < 3:
            break
        a, b, c = (med[(fmt, s)] for s in sizes[:3])
        s1 = (b["cpu_s"] - a["cpu_s"]) / (sizes[1] - sizes[0]) * 1e6
        s2 = (c["cpu_s"] - b["cpu_s"]) / (sizes[2] - sizes[1]) * 1e6
        m2 = (c["peak_kb"] - b["peak_kb"]) / 1024 / (sizes[2] - sizes[1]) * 1000
        print(f"| {fmt} | {s1:.1f} | {s2:.1f} | {m2:.3f} |")
    if args.json:
        args.json.write_text(json.dumps({f: {str(k): v for k, v in r.items()} for f, r in results.items()}, indent=1))


if __name__ == "__main__":
    main()
