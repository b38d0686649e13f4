"""Lightning: step intervals on its logging cadence, validation apart, standalone loops as runs, samples."""

from __future__ import annotations

import csv

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.data import DataLoader, TensorDataset

from wattprint.integrations.lightning import EmissionsCallback

from ..rows import read_rows
from .conftest import TOTAL_W

P = "emissions/"
BATCH = 8
TRAIN_BATCHES = 4
VAL_SAMPLES = 12  # one validation batch of 12


def kwh(seconds, watts=TOTAL_W):
    return seconds * watts / 3_600_000.0


class Ticking(pl.LightningModule):
    """1 s per training batch, 0.5 s per validation or test batch, 0.25 s per predict batch."""

    def __init__(self, rig):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.rig = rig

    def training_step(self, batch, batch_idx):
        self.rig.step(1.0)
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch, batch_idx):
        self.rig.step(0.5)
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def test_step(self, batch, batch_idx):
        self.rig.step(0.5)

    def predict_step(self, batch, batch_idx):
        self.rig.step(0.25)
        return self.layer(batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def data(n):
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g))


def train_loader():
    return DataLoader(data(TRAIN_BATCHES * BATCH), batch_size=BATCH)


def val_loader():
    return DataLoader(data(VAL_SAMPLES), batch_size=VAL_SAMPLES)


def trainer_for(tmp_path, callbacks, *, loggers=None, **kwargs):
    kwargs.setdefault("max_epochs", 2)
    kwargs.setdefault("enable_checkpointing", False)
    return pl.Trainer(accelerator="cpu", devices=1, callbacks=callbacks, default_root_dir=tmp_path,
                      logger=loggers if loggers is not None else CSVLogger(tmp_path, name="csv"),
                      enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, **kwargs)


def logged_rows(logger, key):
    with open(f"{logger.log_dir}/metrics.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if row.get(key)]


def test_step_intervals_on_the_logging_cadence_add_up_to_the_epochs(rig, tmp_path):
    csv_logger, tb_logger = CSVLogger(tmp_path, name="csv"), TensorBoardLogger(tmp_path, name="tb")
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True)
    trainer = trainer_for(tmp_path, [cb], loggers=[csv_logger, tb_logger], log_every_n_steps=3, check_val_every_n_epoch=1)
    trainer.fit(Ticking(rig), train_loader(), val_loader())

    steps, epochs = rig.rows("step"), rig.rows("epoch")
    # Every 3rd optimizer step, and each epoch's last interval with the epoch: 3 | 4 | 6 | 8.
    assert [r.index for r in steps] == [3, 4, 6, 8]
    assert sum(r.energy_kwh for r in steps[:2]) == pytest.approx(epochs[0].energy_kwh, rel=1e-12)
    assert sum(r.energy_kwh for r in steps[2:]) == pytest.approx(epochs[1].energy_kwh, rel=1e-12)
    assert sum(r.duration_s for r in steps) == sum(r.duration_s for r in epochs) == 2 * (TRAIN_BATCHES + 0.5)
    (run,) = rig.rows("run")
    assert run.energy_kwh == pytest.approx(sum(r.energy_kwh for r in epochs), rel=1e-12)

    # On the loggers' step axis, under keys of their own.
    at_step = logged_rows(csv_logger, P + "step/energy_kwh")
    assert [float(r[P + "step/energy_kwh"]) for r in at_step] == [r.energy_kwh for r in steps]
    assert at_step[0]["step"] == "2"  # Lightning's step axis counts from 0: the 3rd step is step 2
    assert at_step[0][P + "energy_kwh"] == ""  # the epoch keys come with the epoch only
    assert float(at_step[0][P + "step/energy_j_per_sample"]) == pytest.approx(3 * TOTAL_W / (3 * BATCH))
    assert float(at_step[-1][P + "step/energy_kwh_total"]) == pytest.approx(run.energy_kwh)
    events = EventAccumulator(tb_logger.log_dir).Reload()
    assert len(events.Scalars(P + "step/energy_kwh")) == 4

    # Validation apart: the epoch is its train part plus its validation pass.
    epoch_logs = logged_rows(csv_logger, P + "train/energy_kwh")
    val_logs = logged_rows(csv_logger, P + "validation/energy_kwh")
    assert [float(r[P + "validation/energy_kwh"]) for r in val_logs] == pytest.approx([kwh(0.5)] * 2)
    assert [float(r[P + "train/energy_kwh"]) for r in epoch_logs] == pytest.approx([kwh(TRAIN_BATCHES)] * 2)
    assert float(val_logs[0][P + "validation/energy_j_per_sample"]) == pytest.approx(0.5 * TOTAL_W / VAL_SAMPLES)
    assert float(epoch_logs[0][P + "train/energy_j_per_sample"]) == pytest.approx(TOTAL_W / BATCH)
    assert [r.stage for r in rig.rows("validation")] == ["validation", "validation"]
    assert epochs[0].work == TRAIN_BATCHES * BATCH + VAL_SAMPLES and epochs[0].work_unit == "sample"

    written = read_rows(tmp_path / "wattprint.csv")
    assert {r["stage"] for r in written if r["window"] in ("epoch", "run")} == {"train"}


def test_step_rows_are_an_option(rig, tmp_path):
    trainer = trainer_for(tmp_path, [EmissionsCallback(tracker=rig.tracker)], log_every_n_steps=1)
    trainer.fit(Ticking(rig), train_loader(), val_loader())
    assert [r["window"] for r in read_rows(tmp_path / "wattprint.csv")] == ["epoch", "epoch", "run"]
    assert len(logged_rows(trainer.logger, P + "step/energy_kwh")) == 2 * (TRAIN_BATCHES + 1)


def test_a_step_is_an_optimizer_step_under_gradient_accumulation(rig, tmp_path):
    csv_logger = CSVLogger(tmp_path, name="csv")
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True)
    trainer = trainer_for(tmp_path, [cb], loggers=csv_logger, log_every_n_steps=1, accumulate_grad_batches=2, max_epochs=1)
    trainer.fit(Ticking(rig), train_loader())
    steps = rig.rows("step")
    assert [r.index for r in steps] == [1, 2, 2]  # the last one (nothing after step 2) closes with the epoch
    assert [r.energy_kwh for r in steps[:2]] == pytest.approx([kwh(2), kwh(2)])
    assert steps[0].work == 2 * BATCH
    assert [float(r[P + "step/energy_kwh"]) for r in logged_rows(csv_logger, P + "step/energy_kwh")][:2] == pytest.approx([kwh(2)] * 2)


def test_max_steps_ending_mid_epoch(rig, tmp_path):
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True)
    trainer = trainer_for(tmp_path, [cb], log_every_n_steps=2, max_epochs=-1, max_steps=6)
    trainer.fit(Ticking(rig), train_loader())
    epochs, steps = rig.rows("epoch"), rig.rows("step")
    assert [e.duration_s for e in epochs] == [4.0, 2.0]  # the second epoch stops after 2 of its 4 steps
    assert [s.index for s in steps] == [2, 4, 4, 6, 6]
    assert sum(s.energy_kwh for s in steps) == pytest.approx(sum(e.energy_kwh for e in epochs), rel=1e-12)
    assert float(logged_rows(trainer.logger, P + "step/energy_kwh")[-1][P + "step/energy_kwh_total"]) == pytest.approx(kwh(6))


def test_validation_inside_the_epoch_every_half_epoch_and_every_other_epoch(rig, tmp_path):
    csv_logger = CSVLogger(tmp_path, name="csv")
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True)
    trainer = trainer_for(tmp_path, [cb], loggers=csv_logger, log_every_n_steps=50, val_check_interval=0.5,
                          check_val_every_n_epoch=2, max_epochs=2)
    trainer.fit(Ticking(rig), train_loader(), val_loader())
    epochs = rig.rows("epoch")
    assert [v.index for v in rig.rows("validation")] == [1, 1]  # two passes in epoch 1, none in epoch 0
    trains = [float(r[P + "train/energy_kwh"]) for r in logged_rows(csv_logger, P + "train/energy_kwh")]
    assert trains[0] == pytest.approx(epochs[0].energy_kwh)
    assert trains[1] + sum(v.energy_kwh for v in rig.rows("validation")) == pytest.approx(epochs[1].energy_kwh, rel=1e-12)
    assert epochs[1].duration_s == TRAIN_BATCHES + 2 * 0.5


def test_resume_from_a_mid_epoch_checkpoint_continues_the_step_totals(make_rig, tmp_path):
    first = make_rig("first.csv")
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2, save_top_k=-1, filename="{step}")
    trainer = trainer_for(tmp_path, [EmissionsCallback(tracker=first.tracker), ckpt], log_every_n_steps=2,
                          enable_checkpointing=True, max_epochs=1)
    trainer.fit(Ticking(first), train_loader())

    second = make_rig("second.csv")
    cb = EmissionsCallback(tracker=second.tracker)
    trainer = trainer_for(tmp_path, [cb], log_every_n_steps=2, max_epochs=1)
    trainer.fit(Ticking(second), train_loader(), ckpt_path=str(tmp_path / "ckpt" / "step=2.ckpt"))
    # Saved after step 2 (2 s); two more steps after the resume.
    steps = logged_rows(trainer.logger, P + "step/energy_kwh")
    assert float(steps[-1][P + "step/energy_kwh_total"]) == pytest.approx(kwh(4))
    assert trainer.callback_metrics[P + "energy_kwh_total"].item() == pytest.approx(kwh(4))


def test_standalone_validate_test_and_predict_are_runs_with_their_stage(tmp_path):
    out = tmp_path / "wattprint.csv"
    model = Ticking(rig=type("NoClock", (), {"step": staticmethod(lambda s: None)})())
    cb = EmissionsCallback(output_file=out, country="FR")
    for fn in ("validate", "test", "predict"):
        trainer = trainer_for(tmp_path, [cb])
        result = getattr(trainer, fn)(model, val_loader())
        if fn != "predict":
            assert result[0][P + f"{fn}/energy_kwh"] >= 0  # logged where the loop logs: its results
            assert P + f"{fn}/energy_j_per_sample" in trainer.callback_metrics
        assert cb.stage_record.stage == fn and cb.stage_record.work == VAL_SAMPLES
    rows = read_rows(out)
    assert [(r["window"], r["stage"], r["work"], r["work_unit"]) for r in rows] == [
        ("run", fn, "12.0", "sample") for fn in ("validate", "test", "predict")
    ]
    assert len({r["id"] for r in rows}) == 3  # three runs


def test_standalone_loops_on_a_running_tracker_of_the_users_are_windows(rig, tmp_path):
    rig.tracker.start()
    cb = EmissionsCallback(tracker=rig.tracker)
    trainer = trainer_for(tmp_path, [cb])
    trainer.predict(Ticking(rig), val_loader())
    (row,) = rig.rows("predict")
    assert row.stage == "predict" and row.duration_s == 0.25 and row.work == VAL_SAMPLES
    assert row.energy_j_per_unit == pytest.approx(0.25 * TOTAL_W / VAL_SAMPLES)
    assert rig.tracker.running
    rig.tracker.stop()


def test_zero_turns_the_step_intervals_off(rig, tmp_path):
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True, log_every_n_steps=0)
    trainer = trainer_for(tmp_path, [cb], log_every_n_steps=1, max_epochs=1)
    trainer.fit(Ticking(rig), train_loader())
    assert rig.rows("step") == [] and logged_rows(trainer.logger, P + "step/energy_kwh") == []
    assert trainer.callback_metrics[P + "energy_kwh"].item() == pytest.approx(kwh(TRAIN_BATCHES))
