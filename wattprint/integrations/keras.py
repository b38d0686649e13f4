"""Keras 3: ``model.fit(..., callbacks=[EmissionsCallback(), ...])`` logs energy and CO2e per epoch.

Works on every Keras backend: the callback only handles the Python floats in ``logs`` and
imports no backend itself.
"""

from __future__ import annotations

from typing import Any

from wattprint.integrations._callback import EmissionsCallbackBase
from wattprint.integrations._epochs import FIT
from wattprint.integrations._imports import missing, optional

try:
    keras = optional("keras")
except ModuleNotFoundError as exc:  # Keras is there, the backend it was told to use is not
    if exc.name not in ("tensorflow", "jax", "torch"):
        raise
    raise ImportError(
        f"Keras could not load its backend {exc.name!r}: install it, or pick an installed one "
        f"by setting KERAS_BACKEND (torch, jax or tensorflow) before keras is first imported."
    ) from None


class EmissionsCallback(EmissionsCallbackBase, keras.callbacks.Callback if keras else missing("keras", "keras")):  # type: ignore[misc]
    """Add the energy (kWh) and CO2e (kg) of every epoch to Keras' epoch logs.

    **Put it first in** ``callbacks=[...]``: Keras hands one ``logs`` dict to the callbacks in
    list order, so only those after this one (``CSVLogger``, ``TensorBoard``, ``EarlyStopping``,
    ``ModelCheckpoint``...) see its keys. ``History`` (what ``fit`` returns) and the progress bar
    are appended by Keras after the user's callbacks and always see them.

    At each ``on_epoch_end`` these keys are added to ``logs`` as Python floats:

    * ``emissions/energy_kwh``, ``emissions/co2_kg``: this epoch (kWh, kg CO2e);
    * ``emissions/energy_kwh_total``, ``emissions/co2_kg_total``: since training began;
    * ``emissions/power_w``: mean power this epoch (W);
    * ``emissions/energy_kwh_cpu|gpu|ram``: this epoch per measured domain (kWh);
    * ``emissions/co2_kg_predicted``: CO2e predicted for all ``epochs`` of the fit (kg).

    * ``emissions/train/...``: the same figures for the training part of the epoch, and
      ``emissions/validation/...`` for its validation (``validation_data`` /
      ``validation_split``), measured apart: the epoch is their sum.

    The same keys come every epoch, from the first, as ``CSVLogger`` fixes its columns then.
    The CSV (``output_file``) gets a row per epoch and a row for the whole fit (``step_rows=True``
    adds one per step interval and per validation pass).

    Step intervals: ``log_every_n_steps=N`` closes a step interval every N batches (a batch is
    a step; with an optimizer's ``gradient_accumulation_steps`` it is not an optimizer step)
    and adds ``emissions/step/energy_kwh``, ``.../co2_kg``, ``.../power_w``,
    ``.../energy_kwh_<domain>``, ``.../energy_kwh_total`` and ``.../co2_kg_total`` to that
    batch's ``logs`` (the progress bar, ``TensorBoard(update_freq=...)`` and the callbacks after
    this one see them); the epoch's last interval closes with the epoch and comes with its
    keys. Its cost: a callback with a batch hook turns off Keras's asynchronous batch dispatch
    (on the torch and JAX backends the batch-end callbacks otherwise run in a thread while the
    next batch is dispatched), so every batch waits for its logs to be ready. The default,
    ``None``, keeps epoch-level hooks only and Keras's dispatch as it is; the counters are read
    only when an interval closes either way.

    What an epoch contains: everything from the previous epoch's end to this one's, including
    the epoch's validation (Keras runs it before ``on_epoch_end``). The first epoch starts at
    ``on_train_begin``.

    Stage runs: ``model.evaluate(..., callbacks=[cb])`` and ``model.predict(..., callbacks=[cb])``
    are each a run of their own (``stage`` ``evaluate`` / ``predict`` in the CSV, and
    :attr:`stage_record`); evaluate's keys (``emissions/evaluate/...``) are added to the logs of
    its ``on_test_end``, which its progress bar prints. Keras does not tell callbacks its batch
    sizes, so there are no per-sample figures.

    Failures: Keras has no exception hook and skips ``on_train_end`` when ``fit`` raises. The
    partial epoch and run rows (marked interrupted) are then written at once if the fit runs
    inside ``with callback: model.fit(...)``, else when this callback's next ``fit`` starts or
    the interpreter exits, whichever comes first; until then they keep measuring, so in a
    notebook use the ``with`` form. The exception always propagates unchanged. With
    ``on_error="warn"`` an error of the callback itself warns once and training goes on.

    Resume: a ``fit`` of the same model whose first epoch follows the last one this callback measured
    (``initial_epoch=`` or ``BackupAndRestore``) continues the totals; any other ``fit`` starts
    new ones. Across processes, save :meth:`state_dict` (a JSON-ready dict) and give it to
    :meth:`load_state_dict` before the resumed ``fit``.

    Args: see :class:`~wattprint.integrations._callback.EmissionsCallbackBase`, the same for
    every framework.

    Example::

        from wattprint.integrations.keras import EmissionsCallback

        model.fit(x, y, epochs=3, callbacks=[EmissionsCallback(country="FR"), keras.callbacks.CSVLogger("log.csv")])
    """

    def _setup(self) -> None:
        self._every = self._run.settings.log_every_n_steps or 0
        if self._every:
            # An instance attribute: the class's hook stays Keras's default, so a callback
            # without step intervals leaves the asynchronous batch dispatch on.
            self.on_train_batch_end = self._step_hook
        self._first_epoch_pending = False
        self._batches = 0
        self._epoch_logs: dict[str, float] = {}
        self._model_id: int | None = None  # the model the totals belong to
        self._same_model = False

    def _planned_epochs(self) -> int | None:
        epochs = (self.params or {}).get("epochs")
        return epochs if isinstance(epochs, int) and epochs > 0 else None

    # -- hooks (epoch level only: a batch hook would turn off Keras' async batch dispatch) ---

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Totals continue only for the model they were measured on: one callback may serve
        # several models trained in turn.
        self._same_model = self._model_id is None or self._model_id == id(self.model)
        self._model_id = id(self.model)
        self._run.start(steps=bool(self._every))
        self._run.open_epoch(None)
        self._first_epoch_pending = True
        self._epoch_logs = {}

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._first_epoch_pending:
            self._first_epoch_pending = False
            last = self._run.totals.last_epoch
            if last is None or epoch != last + 1 or not self._same_model:
                planned = self._planned_epochs()
                self._run.reset_totals(origin=epoch / planned if planned else 0.0)
        self._run.open_epoch(epoch)
        self._epoch = epoch

    def _step_hook(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches = batch + 1
        if self._batches % self._every:  # type: ignore[operator]
            return
        metrics = self._run.step_end(self._global_step())
        if metrics and logs is not None:
            logs.update(metrics)  # the batch's logs, passed on to the callbacks after this one

    def _global_step(self) -> int | None:
        steps = (self.params or {}).get("steps")
        epoch = getattr(self, "_epoch", None)
        return epoch * steps + self._batches if isinstance(steps, int) and epoch is not None else None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        planned = self._planned_epochs()
        metrics = self._run.epoch_end(epoch, progress=(epoch + 1) / planned if planned else None, step_index=self._global_step())
        self._batches = 0
        if metrics and logs is not None:
            # The same dict object goes to the callbacks after this one, History and the progbar.
            logs.update(self._epoch_logs)
            logs.update(metrics)
        self._epoch_logs = {}

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._run.end()

    # -- validation inside fit, evaluate and predict ---------------------------------------

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._run.active and self._run.stage == FIT:
            self._run.stage_begin()
        else:
            self._run.start(stage="evaluate")

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._run.active and self._run.stage == FIT:
            # The validation's own logs are not the epoch's: its keys join the epoch's logs.
            self._epoch_logs.update(self._run.stage_end() or {})
            return
        if self._run.end() is not None and self._run.stage_metrics and logs is not None:
            logs.update(self._run.stage_metrics)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._run.start(stage="predict")

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._run.end()


    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue the totals saved by :meth:`state_dict` (for a fit resuming at the next epoch)."""
        self._run.load_state_dict(state_dict)
        self._model_id = None  # saved elsewhere: whichever model fits next continues them
