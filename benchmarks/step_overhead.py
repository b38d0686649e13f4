"""What step intervals cost: trainings with no callback, epoch-only logging, the default step cadence and every step.

Run:  python benchmarks/step_overhead.py [--repeats 7] [--steps 3000] [--hf-steps 600] [--epochs 3]

Lightning (a small MLP, ``Trainer(log_every_n_steps=50)``, its default) and the Hugging Face
Trainer (a one-layer GPT-2, ``logging_steps=50``, tokens counted) each run four ways,
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

from training_overhead import Timing, measure, table, timed, with_hook_timer  # noqa: E402

#: The callback's step cadence per case (None: the framework's), after the case without a callback.
CADENCES = {"epoch keys only": 0, "steps, default cadence": None, "steps, every step": 1}


def lightning_cases(steps: int, epochs: int, workdir: Path) -> dict[str, Callable[[], Timing]]:
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader, TensorDataset

    from wattprint.integrations.lightning import EmissionsCallback

    batch = 32
    g = torch.Generator().manual_seed(0)
    n = batch * steps // epochs
    data = TensorDataset(torch.randn(n, 64, generator=g), torch.randn(n, 1, generator=g))

    class MLP(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))

        def training_step(self, b, i):
            loss = torch.nn.functional.mse_loss(self.net(b[0]), b[1])
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    def fit(callbacks: list) -> Timing:
        torch.manual_seed(0)
        trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, callbacks=callbacks, log_every_n_steps=50,
                             logger=CSVLogger(workdir, name="lightning"), enable_progress_bar=False,
                             enable_model_summary=False, enable_checkpointing=False, num_sanity_val_steps=0)
        loader = DataLoader(data, batch_size=batch)
        return timed(lambda: trainer.fit(MLP(), loader))

    cases: dict[str, Callable[[], Timing]] = {"lightning, no callback": lambda: fit([])}
    for label, every in CADENCES.items():
        name = f"lightning, {label}"
        cases[name] = with_hook_timer(name, lambda every=every: EmissionsCallback(
            country="FR", output_file=workdir / "lightning.csv", log_every_n_steps=every), fit)
    return cases


def hf_cases(steps: int, epochs: int, workdir: Path) -> dict[str, Callable[[], Timing]]:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    from wattprint.integrations.transformers import EmissionsCallback

    hf_logging.set_verbosity_error()
    batch = 8
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(batch * steps // epochs):
        ids = torch.randint(0, 128, (32,), generator=g)
        samples.append({"input_ids": ids, "labels": ids})

    def train(callbacks: list) -> Timing:
        torch.manual_seed(0)
        model = GPT2LMHeadModel(GPT2Config(vocab_size=128, n_positions=32, n_embd=32, n_layer=1, n_head=2,
                                           bos_token_id=0, eos_token_id=0))
        args = TrainingArguments(output_dir=str(workdir / "hf"), num_train_epochs=epochs, per_device_train_batch_size=batch,
                                 logging_strategy="steps", logging_steps=50, include_num_input_tokens_seen=True,
                                 save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=samples, callbacks=callbacks)
        return timed(trainer.train)

    cases: dict[str, Callable[[], Timing]] = {"hf, no callback": lambda: train([])}
    for label, every in CADENCES.items():
        name = f"hf, {label}"
        cases[name] = with_hook_timer(name, lambda every=every: EmissionsCallback(
            country="FR", output_file=workdir / "hf.csv", log_every_n_steps=every), train)
    return cases


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
