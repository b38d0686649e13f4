"""A real Lightning training exporting live: the Pushgateway shows the energy growing while it
trains, and Prometheus, scraping the gateway, ends on the figures of the run's CSV row."""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")
pytest.importorskip("prometheus_client")

from torch.utils.data import DataLoader, TensorDataset

from tests.export.test_prometheus_engines import J_PER_KWH
from tests.rows import read_rows
from wattprint.integrations.lightning import EmissionsCallback


class SlowModel(pl.LightningModule):
    """Each step takes 50 ms, so that an epoch spans several export periods."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        time.sleep(0.05)
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def _pushed_energy_j(pushgateway, run_id: str) -> float:
    """The sum of the run's energy series as the Pushgateway holds them now (0 before any push)."""
    total = 0.0
    for line in pushgateway.get("/metrics").decode().splitlines():
        if line.startswith("wattprint_energy_joules_total{") and f'run_id="{run_id}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class Watch(pl.Callback):
    """Reads the Pushgateway at every epoch end, from inside the training."""

    def __init__(self, emissions, pushgateway):
        self.emissions, self.pushgateway, self.seen = emissions, pushgateway, []

    def on_train_epoch_end(self, trainer, pl_module):
        time.sleep(0.3)  # one export period and a bit: the latest push has landed
        self.seen.append(_pushed_energy_j(self.pushgateway, self.emissions.tracker.run_id))


def test_lightning_training_pushes_live_and_ends_on_its_csv(pushgateway, start_prometheus, tmp_path):
    prom = start_prometheus(pushgateway=f"127.0.0.1:{pushgateway.port}")
    emissions = EmissionsCallback("lightning-export", experiment_description="pushgateway test", country="FR", pue=1.1,
                                  output_file=str(tmp_path / "wattprint.csv"),
                                  pushgateway_url=pushgateway.url, pushgateway_job="train", export_period=0.2)
    watch = Watch(emissions, pushgateway)
    g = torch.Generator().manual_seed(0)
    data = DataLoader(TensorDataset(torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g)), batch_size=8)
    trainer = pl.Trainer(max_epochs=3, accelerator="cpu", devices=1, callbacks=[emissions, watch], logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path)
    trainer.fit(SlowModel(), data)

    assert len(watch.seen) == 3
    assert 0 < watch.seen[0] < watch.seen[1] < watch.seen[2], watch.seen  # values moved while training ran
    (row,) = [r for r in read_rows(tmp_path / "wattprint.csv") if r["window"] == "run"]
    run_id = row["id"]
    co2e = prom.wait_for(f'wattprint_co2e_grams_total{{run_id="{run_id}"}}',
                         lambda r: r and r[0]["value"] == pytest.approx(float(row["CO2_emissions(kg)"]) * 1000, rel=1e-9))
    assert co2e and co2e[0]["value"] == pytest.approx(float(row["CO2_emissions(kg)"]) * 1000, rel=1e-9)
    assert co2e[0]["metric"]["job"] == "train" and co2e[0]["metric"]["location"] == "FR"
    energy = {r["metric"]["domain"]: r for r in prom.query(f'wattprint_energy_joules_total{{run_id="{run_id}"}}')}
    measured = [d for d in ("cpu", "gpu", "ram") if row[f"energy_kwh_{d}"]]
    assert sorted(energy) == sorted(measured)
    for domain in measured:
        assert energy[domain]["value"] == pytest.approx(float(row[f"energy_kwh_{domain}"]) * J_PER_KWH, rel=1e-9)
        assert energy[domain]["metric"]["method"] == row[f"method_{domain}"]
        assert energy[domain]["metric"]["project"] == "lightning-export"
