"""What step intervals cost: trainings with no callback, epoch-only logging, the default step cadence and every step.

Run:  python benchmarks/step_overhead.py [--repeats 7] [--steps 3000] [--hf-steps 600] [--epochs 3]
      [--hidden 128] [--layers 1] [--hf-logging-steps 50] [--frameworks lightning,hf] [--json FILE]
      python benchmarks/step_overhead.py --before B1.json B2.json --after A1.json A2.json

Lightning (the small MLP of ``training_overhead.py``, ``Trainer(log_every_n_steps=50)``, its
default; ``--hidden``/``--layers`` widen and deepen it, for steps of a few ms) and the Hugging
Face Trainer (its one-layer GPT-2, ``logging_steps=50``, tokens counted: ten times denser than
the Trainer's own default of 500, so that short trainings have intervals; ``--hf-logging-steps
500`` measures that default) each run four ways,
interleaved after a warm-up, in one process:

* no callback;
* ``EmissionsCallback(log_every_n_steps=0)``: epoch keys only;
* ``EmissionsCallback()``: step intervals on the framework's cadence (every 50 steps; HF:
  ``--hf-logging-steps``);
* ``EmissionsCallback(log_every_n_steps=1)``: a step interval at every optimizer step.

The callbacks' own hooks are timed inside the same runs (every method wattprint defines,
wrapped with ``perf_counter`` and ``thread_time``, as ``training_overhead.py`` does), which the
noise between runs does not blur; end to end, the median of the paired ratios and the fastest
against the fastest. The last table gives the hooks' own time as a share of the training's wall
time, with the timer's own cost per call (measured on a method that does nothing) taken off.
Prints Markdown tables; ``--json`` also writes the raw figures, for comparing two versions of
the package: run the script with each version first on ``PYTHONPATH`` (from a directory that
holds no ``wattprint/``), alternating, then ``--before``/``--after`` with the saved files
prints the medians of both, runs of the same version pooled.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from training_overhead import (
    HOOK_TIMES,
    Timing,
    hf_train,
    lightning_fit,
    measure,
    table,
    timer_cost,
    with_hook_timer,
)

#: The callback's step cadence per case (None: the framework's), after the case without a callback.
CADENCES = {"epoch keys only": 0, "steps, default cadence": None, "steps, every step": 1}


def with_cadences(prefix: str, run: Callable[[list], Timing], callback: Callable[..., object]) -> dict[str, Callable[[], Timing]]:
    """The four cases of one framework: no callback, then the callback at each cadence of :data:`CADENCES`."""
    cases: dict[str, Callable[[], Timing]] = {f"{prefix}, no callback": lambda: run([])}
    for label, every in CADENCES.items():
        name = f"{prefix}, {label}"
        cases[name] = with_hook_timer(name, lambda every=every: callback(log_every_n_steps=every), run)
    return cases


def lightning_cases(steps: int, epochs: int, workdir: Path, hidden: int = 128, layers: int = 1) -> dict[str, Callable[[], Timing]]:
    from wattprint.integrations.lightning import EmissionsCallback

    # Lightning's default Trainer(log_every_n_steps=50) is the default cadence.
    return with_cadences("lightning", lightning_fit(steps, epochs, workdir, hidden=hidden, layers=layers),
                         lambda **kw: EmissionsCallback(country="FR", output_file=workdir / "lightning.csv", **kw))


def hf_cases(steps: int, epochs: int, workdir: Path, logging_steps: int = 50) -> dict[str, Callable[[], Timing]]:
    from wattprint.integrations.transformers import EmissionsCallback

    train = hf_train(steps, epochs, workdir, logging_strategy="steps", logging_steps=logging_steps,
                     include_num_input_tokens_seen=True)
    return with_cadences("hf", lambda callbacks: train("none", callbacks),
                         lambda **kw: EmissionsCallback(country="FR", output_file=workdir / "hf.csv", **kw))


def shares(times: dict[str, list[Timing]], steps: int, cost: Timing) -> tuple[list[str], dict[str, dict]]:
    """The hooks' own time per training and as a share of its wall time (medians over the runs,
    the timer's own cost per call taken off); and the raw figures behind them."""
    names = list(times)
    base_wall = statistics.median(x[0] for x in times[names[0]])
    header = ("| case | training wall (s), median | a step (ms) | hook calls | hooks, CPU (ms) | hooks, wall (ms) "
              "| hooks' CPU, share of the training's wall time | hooks' wall, share |")
    lines = [
        header,
        "|---|---|---|---|---|---|---|---|",
        f"| {names[0]} | {base_wall:.3f} | {base_wall / steps * 1000:.2f} | - | - | - | - | - |",
    ]
    raw: dict[str, dict] = {names[0]: {"training_wall_s": [x[0] for x in times[names[0]]],
                                       "training_cpu_s": [x[1] for x in times[names[0]]]}}
    for name in names[1:]:
        timer = HOOK_TIMES[name]
        calls = timer.calls_per_run[1:]  # no warm-up
        cpu = [c - n * cost[1] for c, n in zip(timer.cpu_per_run[1:], calls, strict=True)]
        wall = [w - n * cost[0] for w, n in zip(timer.per_run[1:], calls, strict=True)]
        walls = [x[0] for x in times[name]]
        cpu_share = statistics.median(c / w for c, w in zip(cpu, walls, strict=True))
        wall_share = statistics.median(h / w for h, w in zip(wall, walls, strict=True))
        lines.append(f"| {name} | {statistics.median(walls):.3f} | {statistics.median(walls) / steps * 1000:.2f} "
                     f"| {statistics.median(calls):.0f} | {statistics.median(cpu) * 1000:.1f} | {statistics.median(wall) * 1000:.1f} "
                     f"| {cpu_share * 100:.2f} % | {wall_share * 100:.2f} % |")
        raw[name] = {"training_wall_s": walls, "training_cpu_s": [x[1] for x in times[name]], "hook_calls": calls,
                     "hooks_cpu_s": cpu, "hooks_wall_s": wall, "sampler_cpu_s": timer.sampler_per_run[1:]}
    return lines, raw


def pooled(files: list[Path]) -> dict[str, dict[str, list[float]]]:
    """The runs of every case in saved ``--json`` files, pooled."""
    cases: dict[str, dict[str, list[float]]] = {}
    for file in files:
        for name, figures in json.loads(file.read_text())["cases"].items():
            for key, values in figures.items():
                cases.setdefault(name, {}).setdefault(key, []).extend(values)
    return cases


def compare(before: list[Path], after: list[Path]) -> list[str]:
    """Medians before and after, per case: training wall time, and the hooks' CPU and wall time,
    each also as a share of the training's own time.

    On a shared machine a training's wall time swings with the other work (identical runs here
    differed by up to 10x), and a share of it swings with it: the training's own time is taken
    as the fastest run of the same training without a callback, of either version (the least
    disturbed one; the training without a callback is the same in both).
    """
    old, new = pooled(before), pooled(after)
    header = ("| case | runs | training wall (s), median | hooks, CPU (ms) | hooks' CPU, share of the training's own time "
              "| hooks, wall (ms) | hooks' wall, share |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    med = statistics.median

    def pair(case: str, figure: str, scale: float = 1.0, share: bool = False) -> str:
        out = []
        for x in (old, new):
            if case not in x or figure not in x[case]:
                out.append("-")
                continue
            value = med(x[case][figure]) * scale
            if share:
                untracked = f"{case.split(',')[0]}, no callback"
                own = min(w for y in (old, new) for w in y.get(untracked, {}).get("training_wall_s", []))
                out.append(f"{value / scale / own * 100:.2f} %")
            else:
                out.append(f"{value:.3g}")
        return " / ".join(out)

    for case in new:
        runs = " / ".join(str(len(x[case]["training_wall_s"])) if case in x else "0" for x in (old, new))
        lines.append(f"| {case} | {runs} | {pair(case, 'training_wall_s')} | {pair(case, 'hooks_cpu_s', 1000)} "
                     f"| {pair(case, 'hooks_cpu_s', 1000, share=True)} | {pair(case, 'hooks_wall_s', 1000)} "
                     f"| {pair(case, 'hooks_wall_s', 1000, share=True)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3000, help="optimizer steps per Lightning fit")
    parser.add_argument("--hf-steps", type=int, default=600, help="optimizer steps per Hugging Face training")
    parser.add_argument("--hf-logging-steps", type=int, default=50,
                        help="the Trainer's logging_steps (its own default is 500)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=128, help="width of the Lightning MLP's hidden layers")
    parser.add_argument("--layers", type=int, default=1, help="hidden layers of the Lightning MLP")
    parser.add_argument("--frameworks", default="lightning,hf", help="which trainings: lightning, hf or both")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--before", type=Path, nargs="+", help="saved --json files of one version: compare, run nothing")
    parser.add_argument("--after", type=Path, nargs="+", help="saved --json files of the other version")
    args = parser.parse_args()
    if args.before or args.after:
        if not (args.before and args.after):
            parser.error("--before and --after go together")
        print("\n".join(compare(args.before, args.after)))
        return
    warnings.filterwarnings("ignore")
    import logging

    import wattprint

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    chosen = {f.strip() for f in args.frameworks.split(",")}
    cost = timer_cost()
    out: dict[str, object] = {"args": {k: str(v) for k, v in vars(args).items()}, "timer_cost_s": cost,
                              "wattprint": str(Path(wattprint.__file__).parent), "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        runs = []
        if "lightning" in chosen:
            runs.append((lightning_cases(args.steps, args.epochs, workdir, args.hidden, args.layers), args.steps))
        if "hf" in chosen:
            runs.append((hf_cases(args.hf_steps, args.epochs, workdir, args.hf_logging_steps), args.hf_steps))
        for cases, steps in runs:
            times = measure(cases, args.repeats)
            lines, raw = shares(times, steps, cost)
            print("\n".join(table(times)) + "\n")
            print("\n".join(lines) + "\n")
            out["cases"].update(raw)  # type: ignore[union-attr]
    load = os.getloadavg()[0]
    out["load_at_end"] = load
    print(f"Lightning {args.steps} steps (MLP 64-{'-'.join([str(args.hidden)] * args.layers)}-1), HF {args.hf_steps} steps (logging_steps={args.hf_logging_steps}), "
          f"in {args.epochs} epochs; {args.repeats} interleaved repeats after a warm-up; {os.cpu_count()} CPUs; "
          f"load {load:.1f} at the end; the timer's own cost per call, taken off: {cost[1] * 1e6:.2f} us CPU, "
          f"{cost[0] * 1e6:.2f} us wall; the package from {out['wattprint']}.")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
