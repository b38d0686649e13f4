"""Two-process CPU DDP fit with the default tracker; each rank dumps what it measured and logged.

Run by tests/integrations/test_ddp.py as ``python lightning_ddp.py OUT_DIR`` in a scratch
directory; Lightning's ``strategy="ddp"`` re-launches this script for rank 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from wattprint.integrations.lightning import EmissionsCallback

PREFIX = "emissions/"


class TinyModel(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


class Probe(pl.Callback):
    """Placed after EmissionsCallback: records this rank's own share of every epoch."""

    def __init__(self, emissions: EmissionsCallback, out: Path) -> None:
        self.emissions = emissions
        self.out = out
        self.epochs: list[dict] = []
        self.steps: dict[int, float] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        local = self.emissions._run.last_step_local
        if local is not None:
            self.steps[local.index] = local.energy_kwh

    def on_train_epoch_end(self, trainer, pl_module):
        local = self.emissions._run.last_local
        self.epochs.append({"energy_kwh_by_domain": dict(local.energy_kwh_by_domain), "co2_kg": local.co2_kg})

    def on_train_end(self, trainer, pl_module):
        dump = {
            "global_rank": trainer.global_rank,
            "local_rank": trainer.local_rank,
            "world_size": trainer.world_size,
            "measure_host": self.emissions.tracker.measure_host,
            "run_id": self.emissions.tracker.run_id,
            "epochs": self.epochs,
            "steps": self.steps,
            "logged": {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(PREFIX)},
        }
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(dump))


def main() -> None:
    out = Path(sys.argv[1])
    emissions = EmissionsCallback(country="FR")
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(64, 8, generator=g), torch.randn(64, 1, generator=g))
    trainer = pl.Trainer(
        strategy="ddp",
        accelerator="cpu",
        devices=2,
        max_epochs=2,
        callbacks=[emissions, Probe(emissions, out)],
        logger=CSVLogger(out, name="csv"),
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        log_every_n_steps=1,
    )
    trainer.fit(TinyModel(), DataLoader(data, batch_size=8))


if __name__ == "__main__":
    main()
