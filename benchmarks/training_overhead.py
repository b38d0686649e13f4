"""Slowdown of a real training from the framework callbacks.

Run:  python benchmarks/training_overhead.py [--repeats 7] [--steps 3000] [--epochs 3] [--keras] [--hf [--hf-steps 600]]

Lightning: a small MLP trained on the CPU for ``--steps`` optimizer steps over ``--epochs``
epochs, with no tracking and with ``EmissionsCallback`` (real sensors, sampler thread, CSV
rows), run alternately in one process after a warm-up fit, so drift on a shared machine hits
both alike. Reports, for wall time and for the process's CPU time (all its threads, so the
sampler's work counts), the median per case, the spread (min-max), and the slowdown as the
median of the paired ratios (each tracked fit against the untracked fit next to it).

On a shared or small machine the noise between two identical fits can exceed the effect, so
the script also times the callback's own work directly (tracker start and stop, one epoch
end: close the window, write the CSV row, build the metrics), which bounds the overhead of a
training of any length: (start + stop + epochs x epoch end) / training time, plus the sampler.

Inside the same runs it also measures the CPU time of the callback's hooks (each hook's own
thread CPU clock) and of the sampler thread (its own thread CPU clock), as a share of the
training's CPU time (the process's, all threads): the overhead in the unit that the noise of a
shared machine blurs least.

``--keras`` adds Keras 3 (torch backend) on the same MLP. ``--hf`` adds the Hugging Face Trainer on a tiny GPT-2: no tracking, ``EmissionsCallback``,
and ``report_to="codecarbon"`` (transformers' ``CodeCarbonCallback``) when codecarbon is
installed; without it that case is skipped. codecarbon is made offline (France) first, so the
benchmark makes no network call.

Prints a Markdown table (``--json FILE`` also writes the raw timings).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


Timing = tuple[float, float]  # (wall s, process CPU s)


def timed(fn: Callable[[], object]) -> Timing:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


class HookTimer:
    """Time inside the callback's own hooks (the methods wattprint defines) and the sampler thread's
    CPU time, summed per training.

    Measured in the same runs as the end-to-end times: a direct figure for the callback's work
    that the noise between runs does not blur. Per hook call: wall time (``perf_counter``) and
    the calling thread's CPU time (``thread_time``: the hook's own work, not the training's other
    threads). The sampler: its thread's own CPU clock, read as the thread ends (at the tracker's
    stop, inside the training). Not counted: the framework's dispatch to the callback.
    """

    def __init__(self) -> None:
        self.per_run: list[float] = []  # hooks, wall s
        self.cpu_per_run: list[float] = []  # hooks, CPU s of the calling thread
        self.sampler_per_run: list[float] = []  # sampler thread, CPU s
        self.calls_per_run: list[int] = []  # hook calls timed
        self._current = 0.0
        self._current_cpu = 0.0
        self._calls = 0
        self.sampler_current = 0.0

    def wrap(self, callback: object) -> object:
        for name in dir(type(callback)):
            method = getattr(callback, name, None)
            if name.startswith("on_") and callable(method) and getattr(method, "__module__", "").startswith("wattprint."):
                setattr(callback, name, self._timed(method))
        return callback

    def _timed(self, method: Callable[..., object]) -> Callable[..., object]:
        def timed(*args: object, **kwargs: object) -> object:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                self._current_cpu += time.thread_time() - c0
                self._current += time.perf_counter() - t0
                self._calls += 1

        return timed

    def end_run(self) -> None:
        self.per_run.append(self._current)
        self.cpu_per_run.append(self._current_cpu)
        self.sampler_per_run.append(self.sampler_current)
        self.calls_per_run.append(self._calls)
        self._current = self._current_cpu = self.sampler_current = 0.0
        self._calls = 0


def timer_cost(calls: int = 20000) -> Timing:
    """What :class:`HookTimer` itself adds to each timed call (wall s, CPU s): the figures it
    reports for a method that does nothing. Reading the thread's CPU clock is a system call
    (about 1 us on a virtual machine), so on a hook called at every batch this is not small."""
    import statistics

    class Nothing:
        __module__ = "wattprint.nothing"

        def on_nothing(self) -> None:
            pass

    Nothing.on_nothing.__module__ = "wattprint.nothing"
    timer = HookTimer()
    hook = timer.wrap(Nothing()).on_nothing  # type: ignore[attr-defined]
    walls, cpus = [], []
    for _ in range(5):
        for _ in range(calls):
            hook()
        timer.end_run()
        walls.append(timer.per_run[-1] / calls)
        cpus.append(timer.cpu_per_run[-1] / calls)
    return statistics.median(walls), statistics.median(cpus)


#: Case name -> the hook time of each of its runs (the warm-up run first).
HOOK_TIMES: dict[str, HookTimer] = {}
#: The timer of the training now running: the sampler thread adds its CPU time to it.
_RUNNING: list[HookTimer] = []


def _time_sampler_threads() -> None:
    """Make every sampler thread add its own CPU time to the running training's timer as it ends."""
    from wattprint.core.sampler import Sampler

    if getattr(Sampler._run, "_timed", False):
        return
    run = Sampler._run

    def timed_run(self: object) -> None:
        try:
            run(self)
        finally:
            if _RUNNING:
                _RUNNING[-1].sampler_current += time.thread_time()  # this thread's CPU since it started

    timed_run._timed = True  # type: ignore[attr-defined]
    Sampler._run = timed_run  # type: ignore[method-assign]


def with_hook_timer(case: str, make: Callable[[], object], run: Callable[[list], Timing]) -> Callable[[], Timing]:
    timer = HOOK_TIMES.setdefault(case, HookTimer())
    _time_sampler_threads()

    def go() -> Timing:
        _RUNNING.append(timer)
        try:
            result = run([timer.wrap(make())])
        finally:
            _RUNNING.pop()
        timer.end_run()
        return result

    return go


def lightning_fit(steps: int, epochs: int, workdir: Path, *, hidden: int = 128, layers: int = 1) -> Callable[[list], Timing]:
    """A fit of a small MLP on the CPU, ``steps`` optimizer steps in ``epochs``, with the given callbacks.

    The MLP is 64-128-1 by default; ``hidden`` and ``layers`` (hidden layers) make its steps longer."""
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader, TensorDataset

    batch = 32
    g = torch.Generator().manual_seed(0)
    n = batch * steps // epochs
    data = TensorDataset(torch.randn(n, 64, generator=g), torch.randn(n, 1, generator=g))

    class MLP(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            widths = [64] + [hidden] * layers
            blocks = [m for a, b in pairwise(widths) for m in (torch.nn.Linear(a, b), torch.nn.ReLU())]
            self.net = torch.nn.Sequential(*blocks, torch.nn.Linear(hidden, 1))

        def training_step(self, b, i):
            loss = torch.nn.functional.mse_loss(self.net(b[0]), b[1])
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    def fit(callbacks: list) -> Timing:
        torch.manual_seed(0)
        trainer = pl.Trainer(
            max_epochs=epochs,
            accelerator="cpu",
            devices=1,
            callbacks=callbacks,
            logger=CSVLogger(workdir, name="lightning"),
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            num_sanity_val_steps=0,
        )
        loader = DataLoader(data, batch_size=batch)
        return timed(lambda: trainer.fit(MLP(), loader))

    return fit


def lightning_cases(steps: int, epochs: int, workdir: Path) -> dict[str, Callable[[], Timing]]:
    import lightning.pytorch as pl

    from wattprint.integrations.lightning import EmissionsCallback

    fit = lightning_fit(steps, epochs, workdir)
    return {
        "lightning, no tracking": lambda: fit([]),
        # Lightning dispatches every hook of every callback on every batch: the cost of any callback.
        "lightning, an empty Callback": lambda: fit([pl.Callback()]),
        "lightning, EmissionsCallback": with_hook_timer(
            "lightning, EmissionsCallback", lambda: EmissionsCallback(country="FR", output_file=workdir / "lightning.csv"), fit),
    }


def keras_cases(steps: int, epochs: int, workdir: Path) -> dict[str, Callable[[], Timing]]:
    os.environ.setdefault("KERAS_BACKEND", "torch")  # read when keras is first imported
    import keras
    import numpy as np

    from wattprint.integrations.keras import EmissionsCallback

    batch = 32
    rng = np.random.default_rng(0)
    n = batch * steps // epochs
    x, y = rng.standard_normal((n, 64), dtype="float32"), rng.standard_normal((n, 1), dtype="float32")

    def fit(callbacks: list) -> Timing:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        return timed(lambda: model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=callbacks))

    return {
        "keras, no tracking": lambda: fit([]),
        "keras, EmissionsCallback": with_hook_timer(
            "keras, EmissionsCallback", lambda: EmissionsCallback(country="FR", output_file=workdir / "keras.csv"), fit),
    }


def hf_train(steps: int, epochs: int, workdir: Path, **arguments: object) -> Callable[[str, list], Timing]:
    """A training of a one-layer GPT-2 on the CPU, ``steps`` optimizer steps in ``epochs``;
    ``arguments`` change the TrainingArguments."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    batch = 8
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(batch * steps // epochs):
        ids = torch.randint(0, 128, (32,), generator=g)
        samples.append({"input_ids": ids, "labels": ids})
    options = {"logging_strategy": "epoch", "save_strategy": "no", "use_cpu": True, "disable_tqdm": True, **arguments}

    def train(report_to: str, callbacks: list) -> Timing:
        torch.manual_seed(0)
        model = GPT2LMHeadModel(GPT2Config(vocab_size=128, n_positions=32, n_embd=32, n_layer=1, n_head=2,
                                           bos_token_id=0, eos_token_id=0))
        args = TrainingArguments(output_dir=str(workdir / "hf"), num_train_epochs=epochs, per_device_train_batch_size=batch,
                                 report_to=report_to, **options)
        trainer = Trainer(model=model, args=args, train_dataset=samples, callbacks=callbacks)
        return timed(trainer.train)

    return train


def hf_cases(steps: int, epochs: int, workdir: Path) -> dict[str, Callable[[], Timing]]:
    from wattprint.integrations.transformers import EmissionsCallback

    train = hf_train(steps, epochs, workdir)
    cases = {
        "hf, no tracking": lambda: train("none", []),
        "hf, EmissionsCallback": with_hook_timer(
            "hf, EmissionsCallback", lambda: EmissionsCallback(country="FR", output_file=workdir / "hf.csv"),
            lambda callbacks: train("none", callbacks)),
    }
    if importlib.util.find_spec("codecarbon") is not None:
        # transformers' callback builds codecarbon's online tracker, which geolocates over HTTP
        # and probes cloud metadata addresses: make it the offline one, for France.
        from peer_training import use_offline_codecarbon

        use_offline_codecarbon()
        cases["hf, report_to=codecarbon"] = lambda: train("codecarbon", [])
    else:
        print("hf, report_to=codecarbon: skipped (codecarbon is not installed)")
    return cases


def measure(cases: dict[str, Callable[[], Timing]], repeats: int) -> dict[str, list[Timing]]:
    """Warm up once per case, then run the cases in turn, reversing the order every round."""
    names = list(cases)
    for name in names:
        cases[name]()
    times: dict[str, list[Timing]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            times[name].append(cases[name]())
    return times


def table(times: dict[str, list[Timing]]) -> list[str]:
    """Median of the paired ratios, and the ratio of the fastest runs.

    Noise on a shared machine only ever adds time, so the fastest of many runs is the least
    disturbed one: min/min is the steadier estimate when the spread is larger than the effect.
    """
    names = list(times)
    lines = [
        "| case | clock | median (s) | min-max (s) | slowdown, median of pairs (range) | slowdown, fastest vs fastest |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        for i, clock in enumerate(("wall", "CPU")):
            t = [x[i] for x in times[name]]
            base = [x[i] for x in times[names[0]]]
            if name == names[0]:
                slowdown = fastest = "-"
            else:
                pairs = [a / b - 1.0 for a, b in zip(t, base, strict=True)]
                slowdown = f"{statistics.median(pairs) * 100:+.2f} % ({min(pairs) * 100:+.1f} .. {max(pairs) * 100:+.1f} %)"
                fastest = f"{(min(t) / min(base) - 1.0) * 100:+.2f} %"
            lines.append(f"| {name} | {clock} | {statistics.median(t):.3f} | {min(t):.3f}-{max(t):.3f} | {slowdown} | {fastest} |")
    header = ("| case | hooks, wall (ms) | hooks, CPU (ms) | sampler thread, CPU (ms) "
              "| hooks + sampler, share of the training's CPU time: median (min-max) | training CPU (s) |")
    lines += ["", header, "|---|---|---|---|---|---|"]
    for name in names:
        timer = HOOK_TIMES.get(name)
        if timer is not None and len(timer.per_run) > 1:
            hooks, cpu, sampler = timer.per_run[1:], timer.cpu_per_run[1:], timer.sampler_per_run[1:]  # no warm-up
            training_cpu = [x[1] for x in times[name]]
            shares = [(c + s) / t for c, s, t in zip(cpu, sampler, training_cpu, strict=True)]
            ms = lambda xs: f"{statistics.median(xs) * 1000:.1f} ({min(xs) * 1000:.1f}-{max(xs) * 1000:.1f})"
            lines.append(f"| {name} | {ms(hooks)} | {ms(cpu)} | {ms(sampler)} | {statistics.median(shares) * 100:.3f} % "
                         f"({min(shares) * 100:.3f}-{max(shares) * 100:.3f} %) | {statistics.median(training_cpu):.2f} |")
    return lines


def cpu_shares(times: dict[str, list[Timing]]) -> dict[str, dict[str, list[float]]]:
    """The raw per-run figures behind the CPU-share table, for ``--json``."""
    out = {}
    for name, timer in HOOK_TIMES.items():
        if name in times:
            out[name] = {"hooks_wall_s": timer.per_run[1:], "hooks_cpu_s": timer.cpu_per_run[1:],
                         "sampler_cpu_s": timer.sampler_per_run[1:], "training_cpu_s": [x[1] for x in times[name]]}
    return out


def lightning_dispatches(workdir: Path) -> dict[str, int]:
    """Hooks Lightning dispatches to one callback in a one-epoch fit of 50 steps, read from its profiler."""
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.profilers import SimpleProfiler
    from torch.utils.data import DataLoader, TensorDataset

    from wattprint.integrations.lightning import EmissionsCallback

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, b, i):
            return self.layer(b[0]).sum()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    steps, out = 50, {}
    for label, cb in (("an empty Callback", pl.Callback()),
                      ("EmissionsCallback", EmissionsCallback(country="FR", output_file=workdir / "dispatch.csv"))):
        trainer = pl.Trainer(max_epochs=1, accelerator="cpu", callbacks=[cb], logger=False,
                             profiler=SimpleProfiler(dirpath=workdir, filename="profile"),
                             enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
        trainer.fit(Tiny(), DataLoader(TensorDataset(torch.randn(steps, 4)), batch_size=1))
        prefix = f"[Callback]{cb.state_key}."
        calls = sum(len(d) for name, d in trainer.profiler.recorded_durations.items() if name.startswith(prefix))
        out[label] = calls
    return out


def callback_work(workdir: Path, epochs: int = 50) -> list[str]:
    """The callback's own work, timed directly: what every adapter's hooks call."""
    from wattprint import Settings
    from wattprint.integrations._epochs import EpochRun

    starts, ends, stops = [], [], []
    for _ in range(5):
        run = EpochRun(Settings.build({"country": "FR", "output_file": workdir / "work.csv"}))
        t0 = time.perf_counter()
        run.start()
        run.open_epoch(0)
        starts.append(time.perf_counter() - t0)
        for e in range(epochs):
            t0 = time.perf_counter()
            run.epoch_end(e, progress=(e + 1) / epochs)
            ends.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run.end()
        stops.append(time.perf_counter() - t0)
    ms = lambda xs: f"{statistics.median(xs) * 1000:.2f} ms (max {max(xs) * 1000:.2f})"
    dispatch = lightning_dispatches(workdir)
    return [
        "| callback work | median |",
        "|---|---|",
        f"| training start (tracker start, sensor discovery; first in process: {starts[0] * 1000:.1f} ms) | {ms(starts[1:])} |",
        f"| one epoch end (window, CSV row with fsync, metrics) | {ms(ends)} |",
        f"| training end (tracker stop, run row) | {ms(stops)} |",
        *(f"| Lightning hook calls to {label} in a 50-step, one-epoch fit | {calls} |" for label, calls in dispatch.items()),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3000, help="optimizer steps per fit")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--keras", action="store_true", help="also measure Keras 3 (torch backend)")
    parser.add_argument("--hf", action="store_true", help="also measure the Hugging Face Trainer")
    parser.add_argument("--hf-steps", type=int, default=600, help="optimizer steps per Hugging Face training")
    parser.add_argument("--json", type=Path, help="write the raw timings here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    results: dict[str, dict[str, list[Timing]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("\n".join(callback_work(workdir)) + "\n")
        results["lightning"] = measure(lightning_cases(args.steps, args.epochs, workdir), args.repeats)
        print("\n".join(table(results["lightning"])))
        if args.keras:
            results["keras"] = measure(keras_cases(args.steps, args.epochs, workdir), args.repeats)
            print("\n".join(table(results["keras"])))
        if args.hf:
            results["hf"] = measure(hf_cases(args.hf_steps, args.epochs, workdir), args.repeats)
            print("\n".join(table(results["hf"])))
    print(f"\nLightning {args.steps} steps, HF {args.hf_steps} steps, in {args.epochs} epochs; {args.repeats} "
          f"interleaved repeats after a warm-up; {os.cpu_count()} CPUs.")
    if args.json:
        shares = {part: cpu_shares(times) for part, times in results.items()}
        args.json.write_text(json.dumps({"times": results, "cpu": shares}, indent=2))


if __name__ == "__main__":
    main()
