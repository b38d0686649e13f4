"""Per-epoch energy and CO2e of a PyTorch Lightning training, in Lightning's own logs.

    python examples/lightning_quickstart.py [--epochs 3] [--country FR] [--output wattprint.csv]

Trains a small MLP on synthetic data on the CPU (a few seconds, nothing downloaded), prints a
table of the values EmissionsCallback logged each epoch, and appends one row per epoch plus
one for the whole run to the CSV.
"""

from __future__ import annotations

import argparse
import tempfile

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from wattprint.integrations.lightning import EmissionsCallback

PREFIX = "emissions/"


class MLP(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


class PrintEpochs(pl.Callback):
    """Prints what the callbacks before it logged this epoch (so it goes after EmissionsCallback)."""

    def on_train_start(self, trainer, pl_module):
        print(f"{'epoch':>5} {'train_loss':>10} {'energy_kWh':>11} {'CO2_kg':>10} {'power_W':>8} {'CO2_total_kg':>12} {'CO2_predicted_kg':>16}")

    def on_train_epoch_end(self, trainer, pl_module):
        m = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if PREFIX + "energy_kwh" not in m:
            return
        print(
            f"{trainer.current_epoch:>5} {m.get('train_loss', float('nan')):>10.4f} {m[PREFIX + 'energy_kwh']:>11.3e} "
            f"{m[PREFIX + 'co2_kg']:>10.3e} {m[PREFIX + 'power_w']:>8.2f} {m[PREFIX + 'co2_kg_total']:>12.3e} "
            f"{m.get(PREFIX + 'co2_kg_predicted', float('nan')):>16.3e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--country", default=None, help="ISO code such as FR; default: detected (WATTPRINT_COUNTRY, a cloud runtime, the time zone), else the world average with a warning")
    parser.add_argument("--output", default="wattprint.csv", help="CSV appended to")
    parser.add_argument("--logs", default=None, help="directory for the framework's own logs (default: a new temporary directory)")
    args = parser.parse_args()

    g = torch.Generator().manual_seed(0)
    x = torch.randn(4096, 32, generator=g)
    y = x[:, :1] * 2 + 0.1 * torch.randn(4096, 1, generator=g)
    train = DataLoader(TensorDataset(x[:3584], y[:3584]), batch_size=64, shuffle=True, generator=g)
    val = DataLoader(TensorDataset(x[3584:], y[3584:]), batch_size=256)

    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        devices=1,
        # EmissionsCallback first: callbacks after it (here PrintEpochs) see its values.
        callbacks=[EmissionsCallback("wattprint-examples", experiment_description="Lightning MLP", country=args.country, output_file=args.output),
                   PrintEpochs()],
        logger=CSVLogger(args.logs or tempfile.mkdtemp(prefix="wattprint-lightning-"), name="quickstart"),
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(MLP(), train, val)
    print(f"rows appended to {args.output}; Lightning's own metrics in {trainer.logger.log_dir}/metrics.csv")


if __name__ == "__main__":
    main()
