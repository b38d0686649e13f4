"""Real Lightning trainings on CPU, metrics read back from CSVLogger and TensorBoard files."""

from __future__ import annotations

import csv

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.data import DataLoader, TensorDataset

from wattprint import ConfigError
from wattprint.integrations.lightning import EmissionsCallback

from ..rows import read_rows
from .conftest import GPU_W, TOTAL_W

P = "emissions/"
STEPS = 4  # training batches per epoch; the fake clock moves 1 s per batch


class TinyModel(pl.LightningModule):
    def __init__(self, tick=None, fail_at_epoch=None):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.tick = tick
        self.fail_at_epoch = fail_at_epoch

    def training_step(self, batch, batch_idx):
        if self.current_epoch == self.fail_at_epoch and batch_idx == 1:
            raise KeyError("data went missing")
        if self.tick is not None:
            self.tick()
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def loaders():
    g = torch.Generator().manual_seed(0)
    ds = TensorDataset(torch.randn(STEPS * 8, 4, generator=g), torch.randn(STEPS * 8, 1, generator=g))
    return DataLoader(ds, batch_size=8), DataLoader(ds, batch_size=16)


def make_trainer(tmp_path, callbacks, max_epochs=3, loggers=None, **kwargs):
    kwargs.setdefault("enable_checkpointing", False)
    return pl.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        devices=1,
        callbacks=callbacks,
        logger=loggers if loggers is not None else CSVLogger(tmp_path, name="csv"),
        default_root_dir=tmp_path,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        **kwargs,
    )


def csv_epochs(logger) -> list[dict[str, str]]:
    with open(f"{logger.log_dir}/metrics.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if row.get(P + "energy_kwh")]


def kwh(seconds, watts=TOTAL_W):
    return seconds * watts / 3_600_000.0


def test_every_epoch_reaches_csv_tensorboard_and_callback_metrics(rig, tmp_path):
    csv_logger = CSVLogger(tmp_path, name="csv")
    tb_logger = TensorBoardLogger(tmp_path, name="tb")
    cb = EmissionsCallback(tracker=rig.tracker)
    trainer = make_trainer(tmp_path, [cb], loggers=[csv_logger, tb_logger])
    trainer.fit(TinyModel(tick=rig.step), *loaders())

    rows = csv_epochs(csv_logger)
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    energy = [float(row[P + "energy_kwh"]) for row in rows]
    assert energy == pytest.approx([kwh(STEPS)] * 3)
    running = 0.0
    for row in rows:
        running += float(row[P + "energy_kwh"])
        assert float(row[P + "energy_kwh_total"]) == pytest.approx(running, rel=1e-12)
        assert float(row[P + "co2_kg"]) > 0
        assert float(row[P + "power_w"]) == pytest.approx(TOTAL_W)
        assert float(row[P + "energy_kwh_gpu"]) == pytest.approx(kwh(STEPS, GPU_W))
        assert row["train_loss"] != ""  # the training loss still lands in the same rows
    # The planned 3 epochs at a constant cost: every prediction is the final total.
    final_co2 = float(rows[-1][P + "co2_kg_total"])
    assert [float(r[P + "co2_kg_predicted"]) for r in rows] == pytest.approx([final_co2] * 3)

    # float64 end to end: the logged value is the written record's, digit for digit.
    records = rig.rows("epoch")
    assert [float(r[P + "energy_kwh"]) for r in rows] == [rec.energy_kwh for rec in records]
    assert trainer.callback_metrics[P + "energy_kwh_total"].dtype == torch.float64
    assert P + "co2_kg_total" in trainer.progress_bar_metrics
    assert P + "energy_kwh_cpu" not in trainer.progress_bar_metrics

    events = EventAccumulator(tb_logger.log_dir).Reload()
    for key in (P + "energy_kwh", P + "co2_kg_total", P + "energy_kwh_ram"):
        assert len(events.Scalars(key)) == 3
    assert [e.value for e in events.Scalars(P + "energy_kwh")] == pytest.approx(energy, rel=1e-6)

    written = read_rows(tmp_path / "wattprint.csv")
    assert [r["window"] for r in written] == ["epoch", "epoch", "epoch", "run"]
    assert [r["epoch"] for r in written[:3]] == ["0", "1", "2"]
    assert all(r["interrupted"] == "false" for r in written)
    assert cb.run_record is not None and cb.run_record.energy_kwh == pytest.approx(kwh(3 * STEPS))


def test_training_error_propagates_and_rows_are_marked_interrupted(rig, tmp_path):
    cb = EmissionsCallback(tracker=rig.tracker)
    trainer = make_trainer(tmp_path, [cb])
    with pytest.raises(KeyError, match="data went missing"):
        trainer.fit(TinyModel(tick=rig.step, fail_at_epoch=1), *loaders())
    rows = rig.sink.records
    assert [(r.window, r.index, r.interrupted) for r in rows] == [
        ("epoch", 0, False),
        ("epoch", 1, True),
        ("run", None, True),
    ]
    assert rows[1].energy_kwh == pytest.approx(kwh(1))  # one batch ran before the error
    assert not rig.tracker.running


def test_resumed_fit_continues_the_totals(make_rig, tmp_path):
    first = make_rig("first.csv")
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=first.tracker), ckpt], max_epochs=2, enable_checkpointing=True)
    trainer.fit(TinyModel(tick=first.step), *loaders())
    total_after_2 = trainer.callback_metrics[P + "energy_kwh_total"].item()

    second = make_rig("second.csv")
    logger = CSVLogger(tmp_path, name="resumed")
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=second.tracker)], max_epochs=3, loggers=logger)
    trainer.fit(TinyModel(tick=second.step), *loaders(), ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"))
    (row,) = csv_epochs(logger)
    assert row["epoch"] == "2"
    assert float(row[P + "energy_kwh"]) == pytest.approx(kwh(STEPS))
    assert float(row[P + "energy_kwh_total"]) == pytest.approx(total_after_2 + kwh(STEPS))
    assert float(row[P + "co2_kg_predicted"]) == pytest.approx(float(row[P + "co2_kg_total"]))


@pytest.mark.parametrize("schedule", [{"check_val_every_n_epoch": 2}, {"val_check_interval": 0.5}])
def test_resume_from_a_checkpoint_saved_before_the_epoch_end_keeps_that_epoch(make_rig, tmp_path, schedule):
    # Validation that does not run exactly once per epoch makes ModelCheckpoint save in
    # on_validation_end, before this callback's on_train_epoch_end.
    first = make_rig("first.csv")
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=-1)
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=first.tracker), ckpt], max_epochs=2,
                           enable_checkpointing=True, **schedule)
    trainer.fit(TinyModel(tick=first.step), *loaders())

    second = make_rig("second.csv")
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=second.tracker)], max_epochs=3, **schedule)
    trainer.fit(TinyModel(tick=second.step), *loaders(), ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"))
    assert trainer.callback_metrics[P + "energy_kwh_total"].item() == pytest.approx(kwh(3 * STEPS))


def test_validate_with_a_checkpoint_does_not_leak_its_totals_into_the_next_fit(make_rig, tmp_path):
    first = make_rig("first.csv")
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    make_trainer(tmp_path, [EmissionsCallback(tracker=first.tracker), ckpt], max_epochs=2,
                 enable_checkpointing=True).fit(TinyModel(tick=first.step), *loaders())

    second = make_rig("second.csv")
    cb = EmissionsCallback(tracker=second.tracker)
    trainer = make_trainer(tmp_path, [cb], max_epochs=1)
    trainer.validate(TinyModel(), loaders()[1], ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"))
    trainer = make_trainer(tmp_path, [cb], max_epochs=1)
    trainer.fit(TinyModel(tick=second.step), *loaders())
    assert trainer.callback_metrics[P + "energy_kwh_total"].item() == pytest.approx(kwh(STEPS))


def test_a_checkpoint_from_another_version_warns_and_the_resume_goes_on(make_rig, tmp_path):
    first = make_rig("first.csv")
    cb = EmissionsCallback(tracker=first.tracker)
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    make_trainer(tmp_path, [cb, ckpt], max_epochs=1, enable_checkpointing=True).fit(TinyModel(tick=first.step), *loaders())
    path = tmp_path / "ckpt" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=False)
    checkpoint["callbacks"][cb.state_key]["version"] = 99
    torch.save(checkpoint, path)

    second = make_rig("second.csv")
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=second.tracker)], max_epochs=2)
    with pytest.warns(RuntimeWarning, match="another wattprint version"):
        trainer.fit(TinyModel(tick=second.step), *loaders(), ckpt_path=str(path))
    assert trainer.current_epoch == 2  # the model resumed and trained its last epoch
    assert trainer.callback_metrics[P + "energy_kwh_total"].item() == pytest.approx(kwh(STEPS))


def test_a_new_fit_starts_new_totals(make_rig, tmp_path):
    cb = EmissionsCallback(country="FR", output_file=None)
    for name in ("a", "b"):
        logger = CSVLogger(tmp_path, name=name)
        make_trainer(tmp_path, [cb], max_epochs=1, loggers=logger).fit(TinyModel(), *loaders())
        (row,) = csv_epochs(logger)
        assert float(row[P + "energy_kwh_total"]) == float(row[P + "energy_kwh"]) > 0
        assert float(row[P + "energy_kwh_cpu"]) > 0  # the CPU estimate of this machine


def test_callback_error_warns_once_and_training_goes_on(rig, tmp_path):
    rig.tracker.start()
    rig.tracker.stop(write=False)  # a user's tracker that already served a run
    logger = CSVLogger(tmp_path, name="csv")
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=rig.tracker)], loggers=logger)
    with pytest.warns(RuntimeWarning, match="wattprint") as caught:
        trainer.fit(TinyModel(), *loaders())
    assert len([w for w in caught if "wattprint" in str(w.message)]) == 1
    assert trainer.current_epoch == 3
    assert csv_epochs(logger) == []
    assert "train_loss" in trainer.callback_metrics


def test_two_callbacks_with_their_own_prefixes(make_rig, tmp_path):
    a, b = make_rig("a.csv"), make_rig("b.csv")
    cbs = [EmissionsCallback(tracker=a.tracker), EmissionsCallback(tracker=b.tracker, prefix="energy.")]
    trainer = make_trainer(tmp_path, cbs, max_epochs=1)
    trainer.fit(TinyModel(tick=lambda: (a.step(), b.step())), *loaders())
    assert trainer.callback_metrics["energy.energy_kwh"] == trainer.callback_metrics[P + "energy_kwh"]
    assert cbs[0].state_key != cbs[1].state_key


def test_pytorch_lightning_namespace(rig, tmp_path):
    ptl = pytest.importorskip("pytorch_lightning")
    from wattprint.integrations.pytorch_lightning import (
        EmissionsCallback as PTLCallback,
    )

    class PTLModel(ptl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            rig.step()
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    cb = PTLCallback(tracker=rig.tracker)
    assert isinstance(cb, ptl.Callback) and not isinstance(cb, pl.Callback)
    trainer = ptl.Trainer(max_epochs=2, accelerator="cpu", logger=ptl.loggers.CSVLogger(tmp_path), callbacks=[cb],
                          enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(PTLModel(), loaders()[0])
    assert trainer.callback_metrics[P + "energy_kwh_total"].item() == pytest.approx(kwh(2 * STEPS))


def test_lightning_dispatches_only_the_batch_end_hooks_to_the_callback(rig, tmp_path):
    # Lightning's profiler names every hook it dispatches to a callback: "[Callback]<key>.<hook>".
    class Counting(EmissionsCallback):
        batches = 0

        def on_train_batch_end(self, *args, **kwargs):
            super().on_train_batch_end(*args, **kwargs)  # the base method is still there
            self.batches += 1

    plain, counting = EmissionsCallback(tracker=rig.tracker), Counting(prefix="c/", output_file=None, country="FR")
    trainer = make_trainer(tmp_path, [plain, counting], max_epochs=2, profiler="simple")
    trainer.fit(TinyModel(tick=rig.step), *loaders())

    hooks = {name.rsplit(".", 1)[1] for name in trainer.profiler.recorded_durations if name.startswith(f"[Callback]{plain.state_key}.")}
    # The batch-end hooks count samples and close step intervals; no other batch hook runs.
    assert {"on_fit_start", "on_train_epoch_end", "on_train_end", "on_train_batch_end", "on_validation_batch_end"} <= hooks
    assert not hooks & {"on_train_batch_start", "on_validation_batch_start", "on_before_backward", "on_after_backward",
                        "on_before_optimizer_step", "on_before_zero_grad"}
    assert counting.batches == 2 * STEPS  # a subclass's own batch hook runs on every batch
    assert trainer.callback_metrics[P + "energy_kwh_total"].item() == pytest.approx(kwh(2 * STEPS))


def test_settings_are_checked_before_training(rig):
    with pytest.raises(ConfigError, match="on_error"):
        EmissionsCallback(on_error="ignore", output_file=None)
    with pytest.raises(ConfigError, match="country"):
        EmissionsCallback(tracker=rig.tracker, country="FR")


def test_callback_pickles_for_spawn_launchers(tmp_path):
    import pickle

    cb = EmissionsCallback(country="FR", output_file=tmp_path / "e.csv")
    clone = pickle.loads(pickle.dumps(cb))
    assert type(clone) is EmissionsCallback and clone.prefix == P




# -- a fit whose training loop is skipped measures nothing ----------------------------------


@pytest.mark.parametrize("case", ["trained_already", "limit_train_batches=0", "max_epochs=0"])
def test_a_fit_that_trains_nothing_leaves_nothing_measuring(tmp_path, case):
    path = tmp_path / "e.csv"
    callback = EmissionsCallback(country="FR", output_file=path)
    model = TinyModel()
    if case == "trained_already":
        trainer = make_trainer(tmp_path, [callback], max_epochs=1)
        trainer.fit(model, *loaders())
        before = read_rows(path)
        assert [r["window"] for r in before] == ["epoch", "run"]
        trainer.fit(model, *loaders())  # max_epochs already reached: Lightning skips the loop
    else:
        before = []
        limits = {"limit_train_batches": 0} if case == "limit_train_batches=0" else {}
        make_trainer(tmp_path, [callback], max_epochs=0 if case == "max_epochs=0" else 1, **limits).fit(model, *loaders())
    assert not callback.tracker.running
    assert (read_rows(path) if path.exists() else []) == before


_SKIPPED_FIT = """
import sys, torch, lightning.pytorch as pl
from wattprint.integrations.lightning import EmissionsCallback

class M(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
    def training_step(self, batch, i):
        return self.layer(batch[0]).sum()
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 2)), batch_size=4)
callback = EmissionsCallback(country="FR", output_file="e.csv")
options = dict(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False, callbacks=[callback])
trainer, model = pl.Trainer(max_epochs=1, **options), M()
trainer.fit(model, data)
trainer.fit(model, data)  # max_epochs already reached: the loop is skipped
pl.Trainer(max_epochs=1, limit_train_batches=0, **options).fit(M(), data)
pl.Trainer(max_epochs=0, **options).fit(M(), data)
assert not callback.tracker.running
"""


def test_skipped_fits_write_no_interrupted_row_at_exit(tmp_path):
    # The bug this guards against: a skipped fit left its tracker running, and the interpreter's
    # exit wrote an extra run row marked interrupted, lasting until exit.
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", _SKIPPED_FIT], cwd=tmp_path, check=True, timeout=180, capture_output=True)
    rows = read_rows(tmp_path / "e.csv")
    assert [(r["window"], r["interrupted"]) for r in rows] == [("epoch", "false"), ("run", "false")]
