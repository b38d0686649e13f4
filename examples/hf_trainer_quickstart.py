"""Per-epoch energy and CO2e of a Hugging Face Trainer run, in log_history and report_to loggers.

    python examples/hf_trainer_quickstart.py [--epochs 3] [--country FR] [--output wattprint.csv]

Trains a tiny GPT-2 built from a config (no download, no tokenizer) on synthetic token
sequences on the CPU, prints the values EmissionsCallback logged each epoch, and appends one
row per epoch plus one for the whole run to the CSV.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is built locally

import torch
from transformers import GPT2Config, GPT2LMHeadModel, PrinterCallback, Trainer, TrainingArguments
from transformers.utils import logging as hf_logging

from wattprint.integrations.transformers import EmissionsCallback

PREFIX = "emissions/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--country", default=None, help="ISO code such as FR; default: detected (WATTPRINT_COUNTRY, a cloud runtime, the time zone), else the world average with a warning")
    parser.add_argument("--output", default="wattprint.csv", help="CSV appended to")
    parser.add_argument("--logs", default=None, help="directory for the framework's own logs (default: a new temporary directory)")
    args = parser.parse_args()
    hf_logging.set_verbosity_error()

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=256, n_positions=64, n_embd=64, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config)
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(256):
        ids = torch.randint(0, 256, (32,), generator=g)
        samples.append({"input_ids": ids, "labels": ids})

    training_args = TrainingArguments(
        output_dir=args.logs or tempfile.mkdtemp(prefix="wattprint-hf-"),  # nothing is saved there
        num_train_epochs=args.epochs,
        per_device_train_batch_size=16,
        logging_strategy="epoch",
        eval_strategy="epoch",
        save_strategy="no",
        report_to="none",  # or ["tensorboard"], ["wandb"], ...: they all receive the values
        use_cpu=True,
        disable_tqdm=True,
    )
    emissions = EmissionsCallback("wattprint-examples", experiment_description="tiny GPT-2", country=args.country, output_file=args.output)
    trainer = Trainer(model=model, args=training_args, train_dataset=samples[:224], eval_dataset=samples[224:],
                      callbacks=[emissions])
    trainer.remove_callback(PrinterCallback)  # it prints every log dict; the table below shows them once
    trainer.train()

    history = trainer.state.log_history
    # The Trainer logs epochs as floats (1.0, 2.0: fractions between logging steps); these are whole.
    losses = {round(e["epoch"]): e["loss"] for e in history if "loss" in e}
    print(f"{'epoch':>5} {'loss':>8} {'energy_kWh':>11} {'CO2_kg':>10} {'power_W':>8} {'CO2_total_kg':>12} {'CO2_predicted_kg':>16}")
    for e in history:
        if PREFIX + "energy_kwh" in e:
            print(
                f"{round(e['epoch']):>5d} {losses.get(round(e['epoch']), float('nan')):>8.4f} {e[PREFIX + 'energy_kwh']:>11.3e} "
                f"{e[PREFIX + 'co2_kg']:>10.3e} {e[PREFIX + 'power_w']:>8.2f} {e[PREFIX + 'co2_kg_total']:>12.3e} "
                f"{e[PREFIX + 'co2_kg_predicted']:>16.3e}"
            )
    print(f"rows appended to {args.output}")


if __name__ == "__main__":
    main()
