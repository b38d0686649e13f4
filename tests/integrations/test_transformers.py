"""Real Hugging Face Trainer runs on CPU: log_history, TensorBoard, resume, failures."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from wattprint.integrations import transformers as hf_integration
from wattprint.integrations.transformers import EmissionsCallback

from ..rows import read_rows
from .conftest import GPU_W, TOTAL_W

P = "emissions/"
STEPS = 4  # optimizer steps per epoch: 32 samples in batches of 8; the fake clock moves 1 s per step

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:transformers.*")


def kwh(seconds, watts=TOTAL_W):
    return seconds * watts / 3_600_000.0


class Tick(TrainerCallback):
    def __init__(self, rig):
        self.rig = rig

    def on_step_end(self, args, state, control, **kwargs):
        self.rig.step()


class Explode(TrainerCallback):
    def __init__(self, error, epoch):
        self.error, self.epoch = error, epoch

    def on_epoch_begin(self, args, state, control, **kwargs):
        if int(state.epoch or 0) == self.epoch:
            raise self.error


def dataset():
    g = torch.Generator().manual_seed(0)
    rows = []
    for _ in range(STEPS * 8):
        ids = torch.randint(0, 100, (16,), generator=g)
        rows.append({"input_ids": ids, "labels": ids})
    return rows


def make_trainer(tmp_path, callbacks, epochs=2, report_to="none", **kwargs):
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=1, n_head=2))
    kwargs.setdefault("save_strategy", "no")
    kwargs.setdefault("logging_strategy", "epoch")
    kwargs.setdefault("eval_strategy", "epoch")
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=epochs,
        per_device_train_batch_size=8,
        report_to=report_to,
        use_cpu=True,
        disable_tqdm=True,
        **kwargs,
    )
    data = dataset()
    return Trainer(model=model, args=args, train_dataset=data, eval_dataset=data[:8], callbacks=callbacks)


def energy_logs(trainer):
    return [e for e in trainer.state.log_history if P + "energy_kwh" in e]


def test_every_epoch_reaches_log_history_and_tensorboard(rig, tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))
    cb = EmissionsCallback(tracker=rig.tracker)
    trainer = make_trainer(tmp_path, [cb, Tick(rig)], epochs=3, report_to=["tensorboard"])
    assert cb.trainer is trainer  # found at Trainer.__init__, no attach() needed
    trainer.train()

    logs = energy_logs(trainer)
    assert [e["epoch"] for e in logs] == [1.0, 2.0, 3.0]
    assert [e["step"] for e in logs] == [4, 8, 12]
    assert [e[P + "energy_kwh"] for e in logs] == pytest.approx([kwh(STEPS)] * 3)
    assert [e[P + "energy_kwh_gpu"] for e in logs] == pytest.approx([kwh(STEPS, GPU_W)] * 3)
    running = 0.0
    for e in logs:
        running += e[P + "energy_kwh"]
        assert e[P + "energy_kwh_total"] == pytest.approx(running, rel=1e-12)
        assert e[P + "co2_kg"] > 0 and e[P + "power_w"] == pytest.approx(TOTAL_W)
        assert e[P + "co2_kg_predicted"] == pytest.approx(logs[-1][P + "co2_kg_total"])
    # The epoch's own loss log survives our trainer.log call.
    assert [e["epoch"] for e in trainer.state.log_history if "loss" in e] == [1.0, 2.0, 3.0]

    events = EventAccumulator(str(tmp_path / "tb")).Reload()
    assert [e.step for e in events.Scalars("train/" + P + "energy_kwh_total")] == [4, 8, 12]
    assert len(events.Scalars("train/loss")) == 3

    rows = read_rows(tmp_path / "wattprint.csv")
    assert [(r["window"], r["epoch"]) for r in rows] == [("epoch", "0"), ("epoch", "1"), ("epoch", "2"), ("run", "N/A")]
    assert cb.run_record is not None and cb.run_record.energy_kwh == pytest.approx(kwh(3 * STEPS))


def test_without_a_trainer_it_warns_once_and_fills_log_history(rig, tmp_path, monkeypatch):
    monkeypatch.setattr(hf_integration, "_MAX_FRAMES", 0)  # as if the Trainer called us oddly
    cb = EmissionsCallback(tracker=rig.tracker)
    trainer = make_trainer(tmp_path, [cb, Tick(rig)])
    with pytest.warns(RuntimeWarning, match="attach"):
        trainer.train()
    assert cb.trainer is None
    assert [e[P + "energy_kwh"] for e in energy_logs(trainer)] == pytest.approx([kwh(STEPS)] * 2)


def test_attach_adds_the_callback_and_logs_through_the_trainer(rig, tmp_path):
    trainer = make_trainer(tmp_path, [Tick(rig)], epochs=1)
    cb = EmissionsCallback(tracker=rig.tracker).attach(trainer)
    assert cb.trainer is trainer
    assert sum(c is cb for c in trainer.callback_handler.callbacks) == 1
    cb.attach(trainer)  # idempotent
    assert sum(c is cb for c in trainer.callback_handler.callbacks) == 1
    trainer.train()
    assert len(energy_logs(trainer)) == 1


def test_resume_from_checkpoint_continues_totals(make_rig, tmp_path):
    first = make_rig("first.csv")
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=first.tracker), Tick(first)], epochs=2, save_strategy="epoch")
    trainer.train()
    total_after_2 = energy_logs(trainer)[-1][P + "energy_kwh_total"]

    second = make_rig("second.csv")
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=second.tracker), Tick(second)], epochs=3)
    trainer.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-8"))
    last = energy_logs(trainer)[-1]
    assert last["epoch"] == 3.0
    assert last[P + "energy_kwh"] == pytest.approx(kwh(STEPS))
    assert last[P + "energy_kwh_total"] == pytest.approx(total_after_2 + kwh(STEPS))
    assert last[P + "co2_kg_predicted"] == pytest.approx(last[P + "co2_kg_total"])


def test_resume_from_a_mid_epoch_checkpoint_keeps_everything_measured_before_it(make_rig, tmp_path):
    # save_strategy="steps" (the Trainer's default) saves inside epochs, before on_epoch_end.
    first = make_rig("first.csv")
    trainer = make_trainer(tmp_path, [Tick(first), EmissionsCallback(tracker=first.tracker)], epochs=3,
                           save_strategy="steps", save_steps=2)
    trainer.train()
    assert energy_logs(trainer)[-1][P + "energy_kwh_total"] == pytest.approx(kwh(3 * STEPS))

    for checkpoint in ("checkpoint-6", "checkpoint-8"):  # mid epoch 2; end of epoch 2, before its hook
        again = make_rig(f"{checkpoint}.csv")
        trainer = make_trainer(tmp_path, [Tick(again), EmissionsCallback(tracker=again.tracker)], epochs=3)
        trainer.train(resume_from_checkpoint=str(tmp_path / "out" / checkpoint))
        last = energy_logs(trainer)[-1]
        assert last[P + "energy_kwh_total"] == pytest.approx(kwh(3 * STEPS)), checkpoint
        assert last[P + "co2_kg_predicted"] == pytest.approx(last[P + "co2_kg_total"])
        run_row = again.rows("run")[-1]
        assert run_row.energy_kwh == pytest.approx(kwh(3 * STEPS - int(checkpoint.split("-")[1])))


def test_a_callback_reused_for_a_new_trainer_logs_into_the_new_one(rig, tmp_path):
    cb = EmissionsCallback(tracker=None, country="FR", output_file=None)
    trainers = []
    for fold in range(2):  # both Trainers stay alive, as in a k-fold loop that keeps them
        trainer = make_trainer(tmp_path / str(fold), [cb], epochs=1)
        trainers.append(trainer)
        trainer.train()
        assert cb.trainer is trainer
    assert [len(energy_logs(t)) for t in trainers] == [1, 1]


def test_training_error_propagates_and_rows_are_interrupted(rig, tmp_path):
    error = MemoryError("simulated")
    cb = EmissionsCallback(tracker=rig.tracker)
    trainer = make_trainer(tmp_path, [cb, Tick(rig), Explode(error, epoch=1)])
    with pytest.raises(MemoryError) as caught, cb:
        trainer.train()
    assert caught.value is error
    assert [(r.window, r.index, r.interrupted) for r in rig.sink.records] == [
        ("epoch", 0, False),
        ("epoch", 1, True),
        ("run", None, True),
    ]
