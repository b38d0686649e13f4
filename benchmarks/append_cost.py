"""Cost of one CSV append (``CsvSink.write``): the checks a row goes through before it is on disk.

Run:  python benchmarks/append_cost.py [--rows 1000] [--repeats 7] [--dir /dev/shm] [--against DIR]

Each probe is a fresh interpreter that appends ``--rows`` rows to a new file in ``--dir`` and
prints the mean microseconds per row. ``--dir`` on a tmpfs (``/dev/shm``) leaves out the disk's
``fsync``, which otherwise dominates; on a disk the figure is mostly the disk. With
``--against DIR`` (a checkout of another version, e.g. ``git archive <commit> wattprint | tar -x
-C DIR``), the probes of both trees alternate, and the table gives both medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

PROBE = textwrap.dedent(
    """
    import os, sys, time
    from datetime import datetime, timezone
    from wattprint.core.record import EnergyRecord
    from wattprint.core.sinks import CsvSink
    rows, directory = int(sys.argv[1]), sys.argv[2]
    record = EnergyRecord(window="epoch", index=1, start_time=datetime.now(timezone.utc), duration_s=1.0,
                          energy_kwh_by_domain={"cpu": 1e-6}, method_by_domain={"cpu": "estimated"}, co2_kg=1e-7,
                          intensity_g_per_kwh=100.0, pue=1.0, run_id="r", parameters={"lr": 0.1})
    sink = CsvSink(os.path.join(directory, "e.csv"))
    for _ in range(20):  # warm up: the header is written, the codec loaded
        sink.write(record)
    started = time.perf_counter()
    for _ in range(rows):
        sink.write(record)
    print((time.perf_counter() - started) / rows * 1e6)
    """
)


def probe(tree: str | None, rows: int, directory: str) -> float:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory(dir=directory) as d:
        out = subprocess.run([sys.executable, "-c", PROBE, str(rows), d], env=env, capture_output=True,
                             text=True, check=True)
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the files go (a tmpfs leaves out fsync)")
    parser.add_argument("--against", metavar="DIR", help="another tree whose wattprint/ to compare with")
    args = parser.parse_args()
    this: list[float] = []
    other: list[float] = []
    for _ in range(args.repeats):
        this.append(probe(None, args.rows, args.dir))
        if args.against:
            other.append(probe(args.against, args.rows, args.dir))
    print(f"| per-row append, {args.rows} rows in {args.dir}, median of {args.repeats} | this tree |"
          + (" other tree | ratio |" if args.against else ""))
    print("|---|---|" + ("---|---|" if args.against else ""))
    mine = statistics.median(this)
    line = f"| microseconds per row | {mine:.1f} |"
    if args.against:
        theirs = statistics.median(other)
        line += f" {theirs:.1f} | {mine / theirs:.2f} |"
    print(line)


if __name__ == "__main__":
    main()
