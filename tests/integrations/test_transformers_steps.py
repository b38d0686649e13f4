"""Hugging Face Trainer: step intervals on its logging cadence, evaluation apart, evaluate/predict runs, tokens."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from transformers import TrainerCallback

from wattprint.integrations.transformers import EmissionsCallback

from ..rows import read_rows
from .conftest import TOTAL_W
from .test_transformers import STEPS, Tick, kwh, make_trainer

P = "emissions/"
TOKENS_PER_STEP = 8 * 16  # 8 samples of 16 tokens
EVAL_SAMPLES = 8

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:transformers.*")


class TickEval(TrainerCallback):
    """0.5 s per evaluation or prediction batch; placed after the emissions callback."""

    def __init__(self, rig):
        self.rig = rig

    def on_prediction_step(self, args, state, control, **kwargs):
        self.rig.step(0.5)


def step_logs(trainer):
    return [e for e in trainer.state.log_history if P + "step/energy_kwh" in e]


def test_step_intervals_on_logging_steps_add_up_and_reach_every_logger(rig, tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True)
    trainer = make_trainer(tmp_path, [Tick(rig), cb, TickEval(rig)], epochs=2, report_to=["tensorboard"],
                           logging_strategy="steps", logging_steps=3, include_num_input_tokens_seen=True,
                           per_device_eval_batch_size=EVAL_SAMPLES)
    trainer.train()

    steps, epochs = rig.rows("step"), rig.rows("epoch")
    assert [s.index for s in steps] == [3, 4, 6, 8]  # every 3rd step, and each epoch's last interval
    assert sum(s.energy_kwh for s in steps[:2]) == pytest.approx(epochs[0].energy_kwh, rel=1e-12)
    assert sum(s.energy_kwh for s in steps[2:]) == pytest.approx(epochs[1].energy_kwh, rel=1e-12)
    # Epoch 1's evaluation runs after its end: it is in epoch 2 (and in its first interval).
    assert [e.duration_s for e in epochs] == [STEPS, STEPS + 0.5]
    assert steps[2].duration_s == 2 + 0.5
    (run,) = rig.rows("run")
    assert run.duration_s == 2 * STEPS + 2 * 0.5  # the last evaluation is in the run only

    logged = step_logs(trainer)
    assert [e["step"] for e in logged] == [3, 4, 6, 8]
    assert [e[P + "step/energy_kwh"] for e in logged] == [s.energy_kwh for s in steps]
    assert logged[0][P + "step/energy_j_per_token"] == pytest.approx(3 * TOTAL_W / (3 * TOKENS_PER_STEP))
    assert logged[0][P + "step/co2_kg_per_1k_tokens"] == pytest.approx(kwh(3) * 0.1 * 1000 / (3 * TOKENS_PER_STEP))
    assert logged[-1][P + "step/energy_kwh_total"] == pytest.approx(sum(e.energy_kwh for e in epochs))
    assert P + "energy_kwh" not in logged[0]  # the epoch keys come with the epoch only
    assert epochs[0].work == STEPS * TOKENS_PER_STEP and epochs[0].work_unit == "token"
    # The Trainer's own loss logs are kept.
    assert [e["step"] for e in trainer.state.log_history if "loss" in e] == [3, 6]

    validation = [e for e in trainer.state.log_history if P + "validation/energy_kwh" in e]
    assert [e[P + "validation/energy_kwh"] for e in validation] == pytest.approx([kwh(0.5)] * 2)
    trains = [e[P + "train/energy_kwh"] for e in trainer.state.log_history if P + "train/energy_kwh" in e]
    assert trains[1] + validation[0][P + "validation/energy_kwh"] == pytest.approx(epochs[1].energy_kwh, rel=1e-12)

    events = EventAccumulator(str(tmp_path / "tb")).Reload()
    assert [e.step for e in events.Scalars("train/" + P + "step/energy_kwh")] == [3, 4, 6, 8]


def test_evaluation_every_n_steps_is_inside_its_epoch(rig, tmp_path):
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True)
    trainer = make_trainer(tmp_path, [Tick(rig), cb, TickEval(rig)], epochs=1, eval_strategy="steps", eval_steps=2,
                           per_device_eval_batch_size=EVAL_SAMPLES)
    trainer.train()
    (epoch,) = rig.rows("epoch")
    passes = rig.rows("validation")
    assert [p.duration_s for p in passes] == [0.5, 0.5]
    assert epoch.duration_s == STEPS + 1.0
    (log,) = [e for e in trainer.state.log_history if P + "train/energy_kwh" in e]
    assert log[P + "train/energy_kwh"] + sum(p.energy_kwh for p in passes) == pytest.approx(epoch.energy_kwh, rel=1e-12)


def test_max_steps_ending_mid_epoch(rig, tmp_path):
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True)
    trainer = make_trainer(tmp_path, [Tick(rig), cb], max_steps=6, logging_strategy="steps", logging_steps=2,
                           eval_strategy="no")
    trainer.train()
    assert [e.duration_s for e in rig.rows("epoch")] == [4.0, 2.0]
    assert [s.index for s in rig.rows("step")] == [2, 4, 4, 6, 6]
    assert step_logs(trainer)[-1][P + "step/energy_kwh_total"] == pytest.approx(kwh(6))


def test_gradient_accumulation_steps_are_optimizer_steps(rig, tmp_path):
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True)
    trainer = make_trainer(tmp_path, [Tick(rig), cb], epochs=1, gradient_accumulation_steps=2, logging_strategy="steps",
                           logging_steps=1, eval_strategy="no", include_num_input_tokens_seen=True)
    trainer.train()
    steps = rig.rows("step")
    assert [s.index for s in steps] == [1, 2, 2]  # two optimizer steps of two batches each
    assert steps[0].work == 2 * TOKENS_PER_STEP


def test_evaluate_and_predict_are_runs_with_their_stage_and_keys(tmp_path):
    out = tmp_path / "wattprint.csv"
    cb = EmissionsCallback(output_file=out, country="FR")
    trainer = make_trainer(tmp_path, [cb], per_device_eval_batch_size=4)
    metrics = trainer.evaluate()
    assert metrics[P + "evaluate/energy_kwh"] >= 0  # in what evaluate() returns...
    assert P + "evaluate/energy_j_per_sample" in trainer.state.log_history[-1]  # ...and in the logs
    prediction = trainer.predict(trainer.eval_dataset)
    assert P + "predict/co2_kg_per_1k_samples" in prediction.metrics
    rows = read_rows(out)
    assert [(r["window"], r["stage"], r["work"], r["work_unit"]) for r in rows] == [
        ("run", "evaluate", "8.0", "sample"), ("run", "predict", "8.0", "sample")]
    assert cb.stage_record.stage == "predict"


def test_evaluate_on_a_running_tracker_is_a_window_with_energy_per_sample(rig, tmp_path):
    rig.tracker.start()
    cb = EmissionsCallback(tracker=rig.tracker)
    trainer = make_trainer(tmp_path, [cb, TickEval(rig)], per_device_eval_batch_size=4)
    metrics = trainer.evaluate()
    (row,) = rig.rows("evaluate")
    assert row.duration_s == 1.0 and row.work == EVAL_SAMPLES
    assert metrics[P + "evaluate/energy_j_per_sample"] == pytest.approx(1.0 * TOTAL_W / EVAL_SAMPLES)
    rig.tracker.stop()


def test_the_callbacks_own_cadence_overrides_the_trainers_and_zero_turns_steps_off(rig, make_rig, tmp_path):
    cb = EmissionsCallback(tracker=rig.tracker, step_rows=True, log_every_n_steps=2)
    make_trainer(tmp_path, [Tick(rig), cb], epochs=1, eval_strategy="no").train()  # logging_strategy="epoch"
    assert [s.index for s in rig.rows("step")] == [2, 4, 4]
    other = make_rig("other.csv")
    off = EmissionsCallback(tracker=other.tracker, step_rows=True, log_every_n_steps=0)
    trainer = make_trainer(tmp_path, [Tick(other), off], epochs=1, eval_strategy="no", logging_strategy="steps", logging_steps=1)
    trainer.train()
    assert other.rows("step") == [] and step_logs(trainer) == []
