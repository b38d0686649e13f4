"""Keras 3: ``model.fit(..., callbacks=[EmissionsCallback(), ...])`` logs energy and CO2e per epoch.

Works on every Keras backend: the callback only handles the Python floats in ``logs`` and
imports no backend itself.
"""

from __future__ import annotations

from typing import Any

from wattprint.integrations._callback import EmissionsCallbackBase
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

    The same keys come every epoch, from the first, as ``CSVLogger`` fixes its columns then.
    The CSV (``output_file``) gets a row per epoch and a row for the whole fit.

    What an epoch contains: everything from the previous epoch's end to this one's, including
    the epoch's validation (Keras runs it before ``on_epoch_end``). The first epoch starts at
    ``on_train_begin``. The callback has no batch hooks, so Keras keeps dispatching batches
    asynchronously and no work is added per batch.

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
        self._first_epoch_pending = False
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
        self._run.start()
        self._run.open_epoch(None)
        self._first_epoch_pending = True

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._first_epoch_pending:
            self._first_epoch_pending = False
            last = self._run.totals.last_epoch
            if last is None or epoch != last + 1 or not self._same_model:
                planned = self._planned_epochs()
                self._run.reset_totals(origin=epoch / planned if planned else 0.0)
        self._run.open_epoch(epoch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        planned = self._planned_epochs()
        metrics = self._run.epoch_end(epoch, progress=(epoch + 1) / planned if planned else None)
        if metrics and logs is not None:
            # The same dict object goes to the callbacks after this one, History and the progbar.
            logs.update(metrics)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._run.end()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue the totals saved by :meth:`state_dict` (for a fit resuming at the next epoch)."""
        self._run.load_state_dict(state_dict)
        self._model_id = None  # saved elsewhere: whichever model fits next continues them
