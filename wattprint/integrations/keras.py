"""Keras 3: ``model.fit(..., callbacks=[EmissionsCallback(), ...])`` logs energy and CO2e per epoch.

Works on every Keras backend: the callback only handles the Python floats in ``logs`` and
imports no backend itself.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from wattprint.integrations._epochs import (
    DEFAULT_OUTPUT_FILE,
    DEFAULT_PREFIX,
    DEFAULT_PROJECT,
    EpochRun,
)
from wattprint.integrations._imports import require

if TYPE_CHECKING:
    from typing_extensions import Self

    from wattprint.core.record import EnergyRecord
    from wattprint.core.tracker import Tracker


def _import_keras() -> Any:
    try:
        return require("keras", "keras")
    except ModuleNotFoundError as exc:
        if exc.name in ("tensorflow", "jax", "torch"):
            raise ImportError(
                f"Keras could not load its backend {exc.name!r}: install it, or pick an installed one "
                f"by setting KERAS_BACKEND (torch, jax or tensorflow) before keras is first imported."
            ) from exc
        raise


keras = _import_keras()


class EmissionsCallback(keras.callbacks.Callback):
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
    partial epoch and run rows (marked interrupted) are then written when the interpreter
    exits, or at once if the fit runs inside ``with callback: model.fit(...)``, or when the next
    ``fit`` on this thread starts (with any callback), whichever comes first; until then they
    keep measuring, so in a notebook prefer the ``with`` form. The exception always propagates unchanged. With
    ``on_error="warn"`` an error of the callback itself warns once and training goes on.

    Resume: a ``fit`` of the same model whose first epoch follows the last one this callback measured
    (``initial_epoch=`` or ``BackupAndRestore``) continues the totals; any other ``fit`` starts
    new ones. Across processes, save :meth:`state_dict` (a JSON-ready dict) and give it to
    :meth:`load_state_dict` before the resumed ``fit``.

    Args: the same as every wattprint callback; see
    :class:`wattprint.integrations.lightning.LightningEmissionsMixin`.

    Example::

        from wattprint.integrations.keras import EmissionsCallback

        model.fit(x, y, epochs=3, callbacks=[EmissionsCallback(country="FR"), keras.callbacks.CSVLogger("log.csv")])
    """

    def __init__(
        self,
        project_name: str = DEFAULT_PROJECT,
        experiment_description: str = "",
        *,
        country: str | None = None,
        region: str | None = None,
        cloud: str | None = None,
        pue: float | str | None = None,
        output_file: Any = DEFAULT_OUTPUT_FILE,
        prefix: str = DEFAULT_PREFIX,
        on_error: str = "warn",
        scope: str | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        super().__init__()
        self._run = EpochRun.from_arguments(locals())
        self._first_epoch_pending = False
        self._model_id: int | None = None  # the model the totals belong to
        self._same_model = False

    @property
    def prefix(self) -> str:
        return self._run.prefix

    @property
    def tracker(self) -> Tracker | None:
        """The :class:`wattprint.Tracker` measuring the current (or next) fit."""
        return self._run.tracker

    @property
    def run_record(self) -> EnergyRecord | None:
        """The run row of the last finished fit (None before one finished)."""
        return self._run.run_record

    def _planned_epochs(self) -> int | None:
        epochs = (self.params or {}).get("epochs")
        return epochs if isinstance(epochs, int) and epochs > 0 else None

    # -- hooks (epoch level only: a batch hook would turn off Keras' async batch dispatch) ---

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Totals continue only for the model they were measured on: one callback may serve
        # several models trained in turn.
        self._same_model = self._model_id is None or self._model_id == id(self.model)
        self._model_id = id(self.model)
        self._run.start(training=self.model)
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

    # -- state and ``with callback: model.fit(...)`` -----------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The totals, JSON-ready, to continue them in another process."""
        return self._run.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the totals saved by :meth:`state_dict` (for a fit resuming at the next epoch)."""
        self._run.load_state_dict(state)
        self._model_id = None  # saved elsewhere: whichever model fits next continues them

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._run.exit(exc)
