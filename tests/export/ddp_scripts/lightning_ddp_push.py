"""Two-process CPU DDP fit pushing live to a Pushgateway: ``python lightning_ddp_push.py OUT_DIR GATEWAY_URL``.

Lightning's ``strategy="ddp"`` re-launches this script for rank 1. Each rank writes the run id
it ended with to ``OUT_DIR/rankN.txt``; rank 0 writes the CSV.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from wattprint.integrations.lightning import EmissionsCallback


class SlowModel(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        time.sleep(0.05)
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


class RunId(pl.Callback):
    def __init__(self, emissions: EmissionsCallback, out: Path) -> None:
        self.emissions, self.out = emissions, out

    def on_train_end(self, trainer, pl_module):
        (self.out / f"rank{trainer.global_rank}.txt").write_text(self.emissions.tracker.run_id)


def main() -> None:
    out, gateway = Path(sys.argv[1]), sys.argv[2]
    emissions = EmissionsCallback("ddp-push", country="FR", output_file=str(out / "wattprint.csv"),
                                  pushgateway_url=gateway, pushgateway_job="ddp", export_period=0.2)
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(64, 8, generator=g), torch.randn(64, 1, generator=g))
    trainer = pl.Trainer(strategy="ddp", accelerator="cpu", devices=2, max_epochs=2, callbacks=[emissions, RunId(emissions, out)],
                         logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(SlowModel(), DataLoader(data, batch_size=8))


if __name__ == "__main__":
    main()
