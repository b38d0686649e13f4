"""What step intervals cost: trainings with no callback, epoch-only logging, the default step cadence and every step.

Run:  python benchmarks/step_overhead.py [--repeats 7] [--steps 3000] [--hf-steps 600] [--epochs 3]

Lightning (the small MLP of ``training_overhead.py``, ``Trainer(log_every_n_steps=50)``, its
default) and the Hugging Face Trainer (its one-layer GPT-2, ``logging_steps=50``, tokens
counted) each run four ways,
interleaved after a warm-up, in one process:

* no callback;
* ``EmissionsCallback(log_every_n_steps=0)``: epoch keys only;
* ``EmissionsCallback()``: step intervals on the framework's cadence (every 50 steps);
* ``EmissionsCallback(log_every_n_steps=1)``: a step interval at every optimizer step.

The callbacks' own hooks are timed inside the same runs (every method wattprint defines,
wrapped with ``perf_counter``, as ``training_overhead.py`` does), which the noise between runs
does not blur; end to end, the median of the paired ratios and the fastest against the fastest.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from training_overhead import (
    Timing,
    hf_train,
    lightning_fit,
    measure,
    table,
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


def lightning_cases(steps: int, epochs: int, workdir: Path) -> dict[str, Callable[[], Timing]]:
    from wattprint.integrations.lightning import EmissionsCallback

    # Lightning's default Trainer(log_every_n_steps=50) is the default cadence.
    return with_cadences("lightning", lightning_fit(steps, epochs, workdir),
                         lambda **kw: EmissionsCallback(country="FR", output_file=workdir / "lightning.csv", **kw))


def hf_cases(steps: int, epochs: int, workdir: Path) -> dict[str, Callable[[], Timing]]:
    from wattprint.integrations.transformers import EmissionsCallback

    train = hf_train(steps, epochs, workdir, logging_strategy="steps", logging_steps=50, include_num_input_tokens_seen=True)
    return with_cadences("hf", lambda callbacks: train("none", callbacks),
                         lambda **kw: EmissionsCallback(country="FR", output_file=workdir / "hf.csv", **kw))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3000, help="optimizer steps per Lightning fit")
    parser.add_argument("--hf-steps", type=int, default=600, help="optimizer steps per Hugging Face training")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("\n".join(table(measure(lightning_cases(args.steps, args.epochs, workdir), args.repeats))) + "\n")
        print("\n".join(table(measure(hf_cases(args.hf_steps, args.epochs, workdir), args.repeats))))
    print(f"\nLightning {args.steps} steps, HF {args.hf_steps} steps, in {args.epochs} epochs; {args.repeats} "
          f"interleaved repeats after a warm-up; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f} at the end.")


if __name__ == "__main__":
    main()
