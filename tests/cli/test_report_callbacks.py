"""``wattprint report`` on the CSV a framework callback wrote during a real (tiny) training."""

from __future__ import annotations

import json

import pytest

from wattprint import Tracker
from wattprint.testing import FakeClock, FakeSensor

from .helpers import wattprint

CPU_W, GPU_W = 20.0, 300.0
STEPS_PER_EPOCH, EPOCHS = 4, 2


@pytest.mark.filterwarnings("ignore:.*LeafSpec")
def test_report_of_a_lightning_fit(tmp_path):
    torch = pytest.importorskip("torch")
    L = pytest.importorskip("lightning")
    from wattprint.integrations.lightning import EmissionsCallback

    clock = FakeClock()
    sensors = [
        FakeSensor("cpu", power_w=CPU_W, clock=clock, method="estimated"),
        FakeSensor("gpu", power_w=GPU_W, clock=clock, method="counter"),
    ]
    tracker = Tracker("lit", "tiny fit", sensors=sensors, clock=clock, carbon_intensity=100.0,
                      output_file=tmp_path / "wattprint.csv")

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            clock.advance(1.0)  # one second of fake power per step
            return self.layer(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(2 * STEPS_PER_EPOCH, 2)), batch_size=2)
    trainer = L.Trainer(max_epochs=EPOCHS, callbacks=[EmissionsCallback(tracker=tracker)], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Tiny(), data)

    result = wattprint("report", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (group,) = json.loads(result.stdout)["groups"]
    assert (group["project"], group["experiment"]) == ("lit", "tiny fit")
    (run,) = group["runs"]
    assert run["counted_from"] == "run"
    epoch_j = (CPU_W + GPU_W) * STEPS_PER_EPOCH
    assert [e["index"] for e in run["epochs"]] == list(range(EPOCHS))
    assert [e["energy_kwh"] for e in run["epochs"]] == pytest.approx([epoch_j / 3.6e6] * EPOCHS)
    # The run row covers the epochs; the report does not add them to it.
    assert run["total"]["energy_kwh"] == pytest.approx(EPOCHS * epoch_j / 3.6e6)
    assert run["total"]["method_by_domain"] == {"cpu": "estimated", "gpu": "counter"}


@pytest.mark.filterwarnings("ignore:.*LeafSpec")
def test_report_names_the_stage_of_a_standalone_test_run(tmp_path):
    torch = pytest.importorskip("torch")
    L = pytest.importorskip("lightning")
    from wattprint.integrations.lightning import EmissionsCallback

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            return self.layer(batch[0]).pow(2).mean()

        def test_step(self, batch, batch_idx):
            self.layer(batch[0])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 2)), batch_size=2)
    callback = EmissionsCallback("lit", experiment_description="fit then test", country="FR",
                                 output_file=tmp_path / "wattprint.csv")
    for run in ("fit", "test"):
        trainer = L.Trainer(max_epochs=1, callbacks=[callback], logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False)
        getattr(trainer, run)(Tiny(), data)

    (group,) = json.loads(wattprint("report", "--json", cwd=tmp_path).stdout)["groups"]
    assert [r["stages"] for r in group["runs"]] == [["train"], ["test"]]
    headings = [line for line in wattprint("report", cwd=tmp_path).stdout.splitlines() if line.startswith("  run ")]
    assert len(headings) == 2
    assert "stage" not in headings[0]  # a training is what a run is unless it says otherwise
    assert "stage test" in headings[1]
