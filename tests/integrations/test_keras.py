"""Real Keras 3 fits (torch backend) on CPU: History, CSVLogger, failures, continued fits."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap

import pytest

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from wattprint.integrations.keras import EmissionsCallback

from ..rows import read_rows
from .conftest import GPU_W, TOTAL_W

P = "emissions/"
STEPS = 3  # training batches per epoch: 48 of the 64 samples (validation_split=0.25), batches of 16


def kwh(seconds, watts=TOTAL_W):
    return seconds * watts / 3_600_000.0


def model():
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    return m


def data():
    rng = np.random.default_rng(0)
    return rng.random((64, 4), dtype="float32"), rng.random((64, 1), dtype="float32")


def ticker(rig):
    return keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: rig.step())


def fit(m, callbacks, epochs=3, **kwargs):
    x, y = data()
    return m.fit(x, y, epochs=epochs, batch_size=16, validation_split=0.25, verbose=0, callbacks=callbacks, **kwargs)


def test_history_and_csvlogger_get_every_epoch(rig, tmp_path):
    log_file = tmp_path / "log.csv"
    history = fit(model(), [EmissionsCallback(tracker=rig.tracker), ticker(rig), keras.callbacks.CSVLogger(str(log_file))])
    h = history.history
    assert len(h["loss"]) == 3 and len(h["val_loss"]) == 3
    assert h[P + "energy_kwh"] == pytest.approx([kwh(STEPS)] * 3)
    assert h[P + "energy_kwh_gpu"] == pytest.approx([kwh(STEPS, GPU_W)] * 3)
    assert h[P + "power_w"] == pytest.approx([TOTAL_W] * 3)
    assert h[P + "energy_kwh_total"] == pytest.approx(np.cumsum(h[P + "energy_kwh"]).tolist(), rel=1e-12)
    assert h[P + "co2_kg_total"] == pytest.approx(np.cumsum(h[P + "co2_kg"]).tolist(), rel=1e-12)
    assert h[P + "co2_kg_predicted"] == pytest.approx([h[P + "co2_kg_total"][-1]] * 3)
    assert all(v > 0 for key in (P + "energy_kwh", P + "co2_kg") for v in h[key])

    with open(log_file, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert [float(r[P + "energy_kwh"]) for r in rows] == pytest.approx(h[P + "energy_kwh"])
    assert all(r["loss"] for r in rows)

    written = read_rows(tmp_path / "wattprint.csv")
    assert [(r["window"], r["epoch"]) for r in written] == [("epoch", "0"), ("epoch", "1"), ("epoch", "2"), ("run", "N/A")]


def test_callbacks_before_it_do_not_see_the_keys(rig, tmp_path):
    # Why the docs say "put EmissionsCallback first": Keras passes logs along in list order.
    log_file = tmp_path / "log.csv"
    history = fit(model(), [keras.callbacks.CSVLogger(str(log_file)), EmissionsCallback(tracker=rig.tracker)], epochs=1)
    with open(log_file, newline="") as f:
        assert not any(k.startswith(P) for k in next(csv.DictReader(f)))
    assert P + "energy_kwh" in history.history


def test_no_batch_hooks_so_keras_keeps_async_dispatch():
    base = keras.callbacks.Callback
    for hook in ("on_train_batch_begin", "on_train_batch_end", "on_batch_end", "on_test_batch_end", "on_predict_batch_end"):
        assert getattr(EmissionsCallback, hook) is getattr(base, hook), hook


def test_a_fit_that_raises_inside_with_block_writes_interrupted_rows(rig):
    cb = EmissionsCallback(tracker=rig.tracker)
    error = ValueError("bad batch")

    def explode(epoch, logs):
        if epoch == 1:
            rig.step(2)
            raise error

    with pytest.raises(ValueError) as caught, cb:
        fit(model(), [cb, ticker(rig), keras.callbacks.LambdaCallback(on_epoch_begin=explode)])
    assert caught.value is error
    assert [(r.window, r.index, r.interrupted) for r in rig.sink.records] == [
        ("epoch", 0, False),
        ("epoch", 1, True),
        ("run", None, True),
    ]
    assert rig.sink.records[1].energy_kwh == pytest.approx(kwh(2))


def test_a_crashed_fit_is_recorded_at_interpreter_exit(tmp_path):
    script = textwrap.dedent(
        """
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import keras, numpy as np
        from wattprint.integrations.keras import EmissionsCallback

        epoch_now = [0]

        def explode(batch, logs):  # in the middle of epoch 2
            if epoch_now[0] == 2 and batch == 1:
                raise RuntimeError("out of memory, say")

        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
        watch = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epoch_now.__setitem__(0, e),
                                               on_train_batch_end=explode)
        m.fit(np.ones((32, 4)), np.ones((32, 1)), epochs=3, batch_size=8, verbose=0,
              callbacks=[EmissionsCallback(country="FR"), watch])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "RuntimeError: out of memory, say" in proc.stderr
    rows = read_rows(tmp_path / "wattprint.csv")
    # Epochs 0 and 1 were measured; epoch 2, cut short, and the run are closed at exit,
    # marked interrupted.
    assert [(r["window"], r["epoch"], r["interrupted"]) for r in rows] == [
        ("epoch", "0", "false"),
        ("epoch", "1", "false"),
        ("epoch", "2", "true"),
        ("run", "N/A", "true"),
    ]


def test_a_continued_fit_continues_totals_and_a_new_one_restarts(rig):
    cb = EmissionsCallback(country="FR", output_file=None)
    m = model()
    first = fit(m, [cb], epochs=2).history
    second = fit(m, [cb], epochs=4, initial_epoch=2).history
    assert second[P + "energy_kwh_total"][0] == pytest.approx(first[P + "energy_kwh_total"][-1] + second[P + "energy_kwh"][0])
    fresh = fit(m, [cb], epochs=1).history
    assert fresh[P + "energy_kwh_total"] == fresh[P + "energy_kwh"]


def test_state_dict_carries_totals_to_another_callback(make_rig):
    a, b = make_rig("a.csv"), make_rig("b.csv")
    m = model()
    cb = EmissionsCallback(tracker=a.tracker)
    fit(m, [cb, ticker(a)], epochs=2)
    resumed = EmissionsCallback(tracker=b.tracker)
    resumed.load_state_dict(cb.state_dict())
    h = fit(m, [resumed, ticker(b)], epochs=3, initial_epoch=2).history
    assert h[P + "energy_kwh_total"] == pytest.approx([kwh(3 * STEPS)])
    assert h[P + "co2_kg_predicted"] == pytest.approx(h[P + "co2_kg_total"])


def test_totals_continue_only_for_the_model_they_were_measured_on():
    # One callback serving two models trained in turn, one epoch per fit.
    cb = EmissionsCallback(country="FR", output_file=None)
    a, b = model(), model()
    fit(a, [cb], epochs=1)
    fit(b, [cb], epochs=1)
    h = fit(a, [cb], epochs=2, initial_epoch=1).history  # follows a's epoch 0, but b came between
    assert h[P + "energy_kwh_total"] == h[P + "energy_kwh"]


def test_a_fit_that_died_is_closed_when_its_callback_trains_again(tmp_path):
    # Keras has no exception hook: the dead fit's run stays open. The callback's next
    # training closes it first, so its rows do not take in that training (a 0.5 s epoch).
    import time

    class Boom(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise ValueError("bad batch")

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.5)

    path = tmp_path / "e.csv"
    callback = EmissionsCallback(country="FR", output_file=path)
    with pytest.raises(ValueError, match="bad batch"):
        fit(model(), [callback, Boom()], epochs=2)
    fit(model(), [callback, Slow()], epochs=1)
    rows = read_rows(path)
    # Boom fired after epoch 0 ended: no epoch was running, so only the run is interrupted.
    assert [(r["window"], r["interrupted"]) for r in rows[:2]] == [("epoch", "false"), ("run", "true")]
    assert float(rows[1]["duration(s)"]) < 0.4  # closed before the next fit's 0.5 s
    assert float(rows[-1]["duration(s)"]) >= 0.5
    assert rows[-1]["id"] != rows[1]["id"]


def test_another_callback_leaves_a_dead_fit_alone_and_exit_closes_it(tmp_path):
    # No callback closes another's run: the dead one's rows are written at interpreter exit
    # (or at once under `with callback:`), marked interrupted.
    import subprocess
    import sys

    script = f"""
import os
os.environ.setdefault("KERAS_BACKEND", "torch")
import numpy as np, keras
from wattprint.integrations.keras import EmissionsCallback

class Boom(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise ValueError("bad batch")

def fit(callbacks):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    m.compile("sgd", "mse")
    m.fit(np.zeros((8, 4)), np.zeros((8, 1)), epochs=2, verbose=0, callbacks=callbacks)

dead = EmissionsCallback(country="FR", output_file={str(tmp_path / "dead.csv")!r})
try:
    fit([dead, Boom()])
except ValueError:
    pass
fit([EmissionsCallback(country="FR", output_file={str(tmp_path / "good.csv")!r})])
assert dead.tracker.running  # still open: only exit (or its own next fit) closes it
"""
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=120)
    dead = read_rows(tmp_path / "dead.csv")
    assert [(r["window"], r["interrupted"]) for r in dead] == [("epoch", "false"), ("run", "true")]
    assert [r["window"] for r in read_rows(tmp_path / "good.csv")] == ["epoch", "epoch", "run"]