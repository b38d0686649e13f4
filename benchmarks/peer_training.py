"""Training slowdown side by side: no tracking, wattprint's EmissionsCallback, CodeCarbon.

Run (``compare.py training`` does this for you, in the ``codecarbon-ml`` environment that
``peers.py`` builds: this interpreter's torch and Lightning plus CodeCarbon):
    benchmarks/.venvs/codecarbon-ml/bin/python benchmarks/peer_training.py [--repeats 15] [--steps 3000] [--epochs 3] [--hf] [--hf-steps 1500] [--json FILE]

The trainings, the interleaving and the warm-up are ``training_overhead.py``'s (imported, not
copied). Added here:

* ``lightning, CodeCarbon around fit``: ``OfflineEmissionsTracker(country_iso_code="FRA")``
  built and started before ``trainer.fit`` and stopped after it, as its docs show for code
  without a callback; its construct + start and stop times are added to the fit's time
  (wall and CPU).
* ``hf, report_to=codecarbon``: transformers' own ``CodeCarbonCallback``. It builds the online
  ``codecarbon.EmissionsTracker``, which looks up the location over HTTP and probes cloud
  metadata addresses; here ``codecarbon.EmissionsTracker`` is replaced by
  ``OfflineEmissionsTracker`` with ``CODECARBON_COUNTRY_ISO_CODE=FRA`` (CodeCarbon's own
  environment configuration), so nothing goes to the network and the callback is otherwise unchanged.

The slowdown of a case is the median over rounds of (case time / untracked time of the same
round) - 1, with the spread of those ratios, for wall time and for the process's CPU time
(all threads: a tracker's background work counts even where it hides in an idle core).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_SLOWDOWN = 0.01  # issue target for wattprint's callback: under 1 %
BASELINES = {"lightning": "lightning, no tracking", "hf": "hf, no tracking"}
OURS = ("lightning, EmissionsCallback", "hf, EmissionsCallback")


def use_offline_codecarbon() -> None:
    """Make every ``codecarbon.EmissionsTracker`` an offline one for France (no network)."""
    os.environ.setdefault("CODECARBON_COUNTRY_ISO_CODE", "FRA")
    os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")
    import codecarbon

    codecarbon.EmissionsTracker = codecarbon.OfflineEmissionsTracker


def codecarbon_around(fit: Callable[[], Any], workdir: Path) -> Callable[[], tuple[float, float]]:
    """A case that runs ``fit`` inside a CodeCarbon tracker: (wall s, CPU s) of start + fit + stop."""
    from codecarbon import OfflineEmissionsTracker

    def run() -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        tracker = OfflineEmissionsTracker(
            project_name="bench", country_iso_code="FRA", output_dir=str(workdir), log_level="error"
        )
        tracker.start()
        w1, c1 = time.perf_counter(), time.process_time()
        fit_wall, fit_cpu = clocks(fit())
        w2, c2 = time.perf_counter(), time.process_time()
        tracker.stop()
        w3, c3 = time.perf_counter(), time.process_time()
        return (w1 - w0) + fit_wall + (w3 - w2), (c1 - c0) + (fit_cpu or 0.0) + (c3 - c2)

    return run


def clocks(timing: Any) -> tuple[float, float | None]:
    """(wall s, CPU s) from what a case returns: a (wall, CPU) pair, or wall seconds alone."""
    if isinstance(timing, (tuple, list)):
        return float(timing[0]), float(timing[1])
    return float(timing), None


def measure_all(repeats: int, steps: int, epochs: int, hf_steps: int | None) -> dict[str, Any]:
    import training_overhead as to

    use_offline_codecarbon()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    groups: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cases = to.lightning_cases(steps, epochs, workdir)
        cases["lightning, CodeCarbon around fit"] = codecarbon_around(cases[BASELINES["lightning"]], workdir)
        groups["lightning"] = to.measure(cases, repeats)
        if hf_steps:
            groups["hf"] = to.measure(to.hf_cases(hf_steps, epochs, workdir), repeats)
    return {"repeats": repeats, "steps": steps, "hf_steps": hf_steps, "epochs": epochs, "times_s": groups}


def slowdowns(times: Mapping[str, Sequence[float]], baseline: str) -> dict[str, tuple[float, float, float]]:
    """Per case: (median, min, max) of the per-round ratio to the baseline, minus one."""
    base = times[baseline]
    out = {}
    for name, t in times.items():
        if name == baseline:
            continue
        ratios = [a / b - 1.0 for a, b in zip(t, base, strict=True)]
        out[name] = (statistics.median(ratios), min(ratios), max(ratios))
    return out


def _cell(slow: tuple[float, float, float]) -> str:
    med, lo, hi = slow
    return f"{med * 100:+.2f} % ({lo * 100:+.1f} .. {hi * 100:+.1f} %)"


def _verdict(slow: tuple[float, float, float]) -> str:
    """The 1 % target against the median, unless the rounds' spread is too wide to tell."""
    med, lo, hi = slow
    side = "under" if med < TARGET_SLOWDOWN else "over"
    if hi - lo > 4 * TARGET_SLOWDOWN:
        return f"< 1 %: median {side}, spread too wide to resolve"
    return f"< 1 %: {'met' if med < TARGET_SLOWDOWN else '**missed**'}"


def training_tables(training: Mapping[str, Any]) -> list[str]:
    """Markdown: one row per case, slowdowns of wall and CPU time against the untracked run."""
    hf = f" (Hugging Face Trainer: {training['hf_steps']} steps)" if training.get("hf_steps") else ""
    lines = [
        f"{training['steps']} optimizer steps{hf} in {training['epochs']} epochs per run, {training['repeats']} interleaved rounds after a warm-up.",
        "",
        "| case | median wall (s) | min-max (s) | wall slowdown vs no tracking, median (spread) | CPU-time slowdown, median (spread) | target |",
        "|---|---|---|---|---|---|",
    ]
    for group, raw in training["times_s"].items():
        baseline = BASELINES[group]
        wall = {name: [clocks(x)[0] for x in t] for name, t in raw.items()}
        cpu = {name: [clocks(x)[1] for x in t] for name, t in raw.items()}
        has_cpu = all(v is not None for t in cpu.values() for v in t)
        slow_wall = slowdowns(wall, baseline)
        slow_cpu = slowdowns(cpu, baseline) if has_cpu else {}
        for name, t in wall.items():
            if name == baseline:
                wall_cell = cpu_cell = "-"
                target = ""
            else:
                wall_cell = _cell(slow_wall[name])
                cpu_cell = _cell(slow_cpu[name]) if name in slow_cpu else "-"
                target = _verdict(slow_wall[name]) if name in OURS else ""
            lines.append(f"| {name} | {statistics.median(t):.2f} | {min(t):.2f}-{max(t):.2f} | {wall_cell} | {cpu_cell} | {target} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hf", action="store_true", help="also the Hugging Face Trainer")
    parser.add_argument("--hf-steps", type=int, default=1500, help="optimizer steps per Trainer run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    training = measure_all(args.repeats, args.steps, args.epochs, args.hf_steps if args.hf else None)
    print("\n".join(training_tables(training)))
    if args.json:
        args.json.write_text(json.dumps(training, indent=1))


if __name__ == "__main__":
    main()
