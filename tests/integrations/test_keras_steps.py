"""Keras 3: step intervals every log_every_n_steps batches, validation apart, evaluate/predict as runs."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from wattprint import ConfigError
from wattprint.integrations.keras import EmissionsCallback

from ..rows import read_rows
from .test_keras import STEPS, data, kwh, model

P = "emissions/"


def tickers(rig):
    """1 s per training batch (before the emissions callback), 0.5 s per validation batch."""
    return keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: rig.step(),
                                          on_test_batch_end=lambda batch, logs: rig.step(0.5))


class BatchLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(dict(logs or {}))


def test_step_intervals_every_n_batches_add_up_to_the_epoch_and_reach_batch_logs(rig):
    cb = EmissionsCallback(tracker=rig.tracker, log_every_n_steps=2, step_rows=True)
    spy = BatchLogs()
    x, y = data()
    history = model().fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[tickers(rig), cb, spy])

    steps, epochs = rig.rows("step"), rig.rows("epoch")
    assert [s.index for s in steps] == [2, 3, 5, 6]  # every 2nd batch; each epoch's last one with it
    assert sum(s.energy_kwh for s in steps[:2]) == pytest.approx(epochs[0].energy_kwh, rel=1e-12)
    assert sum(s.duration_s for s in steps[2:]) == epochs[1].duration_s == STEPS + 0.5
    logged = [b for b in spy.seen if P + "step/energy_kwh" in b]
    assert [b[P + "step/energy_kwh"] for b in logged] == pytest.approx([kwh(2), kwh(2)])
    assert logged[1][P + "step/energy_kwh_total"] == pytest.approx(kwh(STEPS + 0.5 + 2))

    h = history.history
    assert h[P + "validation/energy_kwh"] == pytest.approx([kwh(0.5)] * 2)
    assert np.add(h[P + "train/energy_kwh"], h[P + "validation/energy_kwh"]) == pytest.approx(h[P + "energy_kwh"], rel=1e-12)
    assert h[P + "step/energy_kwh"] == pytest.approx([kwh(1.5)] * 2)  # batch 3 and the validation


def test_without_log_every_n_steps_keras_keeps_async_dispatch():
    from keras.src.callbacks.callback_list import CallbackList

    assert CallbackList([EmissionsCallback(output_file=None, country="FR")])._async_train
    assert not CallbackList([EmissionsCallback(output_file=None, country="FR", log_every_n_steps=10)])._async_train
    assert CallbackList([EmissionsCallback(output_file=None, country="FR", log_every_n_steps=0)])._async_train
    for bad in (-1, 2.5, True):
        with pytest.raises(ConfigError, match="log_every_n_steps"):
            EmissionsCallback(output_file=None, country="FR", log_every_n_steps=bad)


def test_evaluate_and_predict_are_runs_with_their_stage(tmp_path, capsys):
    out = tmp_path / "wattprint.csv"
    cb = EmissionsCallback(output_file=out, country="FR")
    m = model()
    x, y = data()
    m.evaluate(x, y, batch_size=16, verbose=1, callbacks=[cb])
    assert cb.stage_record.stage == "evaluate"
    assert P + "evaluate/energy_kwh" in capsys.readouterr().out  # the progress bar prints its logs
    m.predict(x, batch_size=16, verbose=0, callbacks=[cb])
    assert [(r["window"], r["stage"]) for r in read_rows(out)] == [("run", "evaluate"), ("run", "predict")]


def test_predict_on_a_running_tracker_is_a_window(rig):
    rig.tracker.start()
    cb = EmissionsCallback(tracker=rig.tracker)
    tick = keras.callbacks.LambdaCallback(on_predict_batch_end=lambda batch, logs: rig.step(0.25))
    x, _ = data()
    model().predict(x, batch_size=16, verbose=0, callbacks=[cb, tick])
    (row,) = rig.rows("predict")
    assert row.stage == "predict" and row.energy_kwh == pytest.approx(kwh(4 * 0.25))
    rig.tracker.stop()
