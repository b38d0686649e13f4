"""PyTorch Lightning: ``Trainer(callbacks=[EmissionsCallback()])`` logs energy and CO2e per epoch.

``EmissionsCallback`` here subclasses ``lightning.pytorch.Callback`` when the ``lightning``
package is installed, else ``pytorch_lightning.Callback``. For the ``pytorch_lightning``
package alongside ``lightning`` (with Lightning older than 2.6, whose Trainer rejects the other
namespace's callbacks), import it from :mod:`wattprint.integrations.pytorch_lightning`. Both
share :class:`LightningEmissionsMixin`; importing this module imports no framework until
``EmissionsCallback`` is looked up.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from wattprint.integrations._epochs import (
    DEFAULT_OUTPUT_FILE,
    DEFAULT_PREFIX,
    DEFAULT_PROJECT,
    EpochRun,
    Ranks,
    Reduce,
)

if TYPE_CHECKING:
    from typing_extensions import Self

    from wattprint.core.record import EnergyRecord
    from wattprint.core.tracker import Tracker

#: Keys also shown in the progress bar; the rest go to the loggers only.
_PROGRESS_BAR_KEYS = ("energy_kwh_total", "co2_kg_total")

#: Hooks Lightning calls on every batch. The callback needs none of them.
_BATCH_HOOKS = (
    "on_train_batch_start",
    "on_train_batch_end",
    "on_validation_batch_start",
    "on_validation_batch_end",
    "on_test_batch_start",
    "on_test_batch_end",
    "on_predict_batch_start",
    "on_predict_batch_end",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
)


def _skip_batch_hooks(callback: object) -> None:
    """Let Lightning skip the callback on every batch.

    Lightning (2.0 to 2.6 at least) dispatches each hook to each callback under a profiler
    context, about 2 us per hook and callback, even for the base class's empty methods: six
    hooks a training step, about 1 % of a 1 ms step. It skips attributes that are not callable,
    so an instance attribute ``None`` shadows each empty batch hook. The class keeps its
    methods, so ``super().on_train_batch_end(...)`` in a subclass still works, and a hook a
    subclass overrides is left alone.
    """
    for name in _BATCH_HOOKS:
        method = getattr(type(callback), name, None)
        if method is not None and getattr(method, "__qualname__", "") == f"Callback.{name}":
            setattr(callback, name, None)


class LightningEmissionsMixin:
    """Log the energy (kWh) and CO2e (kg) of every training epoch to Lightning's loggers.

    At the end of each training epoch (``on_train_epoch_end``) the callback logs, through
    ``pl_module.log_dict`` so that every logger, ``trainer.callback_metrics`` and
    ``ModelCheckpoint``/``EarlyStopping`` ``monitor=`` see them, as float64 values (a monitor
    checked at validation end needs validation once per epoch; otherwise pass
    ``save_on_train_epoch_end=True`` / ``check_on_train_epoch_end=True``):

    * ``emissions/energy_kwh``, ``emissions/co2_kg``: this epoch (kWh, kg CO2e);
    * ``emissions/energy_kwh_total``, ``emissions/co2_kg_total``: since training began (also in
      the progress bar);
    * ``emissions/power_w``: mean power this epoch (W);
    * ``emissions/energy_kwh_cpu|gpu|ram``: this epoch per measured domain (kWh);
    * ``emissions/co2_kg_predicted``: CO2e predicted for the planned ``max_epochs`` /
      ``max_steps`` (kg), from the first epoch on; absent when training has no planned end.

    The CSV (``output_file``) gets a row per epoch and a row for the whole fit.

    What an epoch contains: everything from the previous epoch's end to this one's, so the
    epoch's validation loop (which Lightning runs before ``on_train_epoch_end``) and checkpoint
    saving are included, and the epochs add up to the training. The first epoch starts at
    ``on_train_start``: the sanity check is in the run row only.

    Distributed (DDP and other strategies): each rank measures its own accelerator, and host CPU
    and RAM are measured by local rank 0 of each node only. The logged values are global sums,
    reduced once per epoch with ``trainer.strategy.reduce`` on every rank; they are then logged
    with ``sync_dist=True, reduce_fx="max"``, which leaves the already-equal values unchanged.
    Only global rank 0 writes CSV rows, with the summed figures. A training that fails calls no
    collective, so then each rank writes its own interrupted rows, labelled with its rank.

    Failures: training that raises gets its partial epoch and run rows written, marked
    interrupted, from ``on_exception``, and the exception propagates unchanged. With
    ``on_error="warn"`` an error of the callback itself warns once and training goes on.

    Resume: the totals are saved in checkpoints (``state_dict``), with the epoch in progress
    up to the save, and a fit resumed with ``ckpt_path=`` continues them; the resumed run's
    row for that epoch holds only what came after the resume. Energy spent after the last
    checkpoint of a run that died is in that run's interrupted rows, not in the resumed totals.

    Args:
        project_name, experiment_description: labels of the CSV rows.
        country, region, cloud: location keys for the grid's carbon intensity (``"FR"``,
            ``"US-CA"``, ``"aws:us-east-1"``); default: detected, see :class:`wattprint.Tracker`.
        pue: power usage effectiveness of the facility (>= 1.0; default 1.0), or a preset
            such as ``"aws"`` or ``"gcp"`` (see :class:`wattprint.Tracker`).
        output_file: CSV file appended to; ``None`` for none.
        prefix: prefix of every logged key.
        on_error: ``"warn"`` or ``"raise"``: what an error inside the callback does.
        scope: ``"machine"`` (default) or ``"process"``: whose host energy is counted.
        tracker: a configured :class:`wattprint.Tracker` to use instead of the settings above
            (it then serves one fit; started and stopped by the callback unless already running;
            its ``measure_host`` default, local rank 0 from the launcher's environment, is
            right for Lightning's and torchrun's launchers).
            A Tracker does not pickle: with spawn-based strategies (``ddp_spawn``) pass the
            settings instead, and each process builds its own.

    Raises:
        ConfigError, CarbonDataError: bad settings, at construction.

    Example::

        import lightning.pytorch as pl
        from wattprint.integrations.lightning import EmissionsCallback

        trainer = pl.Trainer(max_epochs=3, callbacks=[EmissionsCallback(country="FR")])
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
        self._restored = False
        self._reduce: Reduce | None = None
        # One key per prefix, so instances with different prefixes may share a Trainer. Built
        # once: Lightning reads state_key around every hook call, batch hooks included.
        self._state_key: str = self._generate_state_key(prefix=prefix)  # type: ignore[attr-defined]
        _skip_batch_hooks(self)

    @property
    def prefix(self) -> str:
        return self._run.prefix

    @property
    def tracker(self) -> Tracker | None:
        """The :class:`wattprint.Tracker` measuring the current (or next) fit."""
        return self._run.tracker

    @property
    def state_key(self) -> str:
        return self._state_key

    # -- hooks -----------------------------------------------------------------------------

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        # Rank attributes are final here (the process group exists), and a checkpoint's
        # callback state has already been loaded.
        ranks = Ranks(trainer.global_rank, trainer.local_rank, trainer.world_size)
        # One sum over ranks for the whole fit: epoch ends, the run row and checkpoints.
        self._reduce = _strategy_reduce(trainer, pl_module) if trainer.world_size > 1 else None
        self._run.start(ranks=ranks, measure_host=trainer.local_rank == 0, training=trainer)
        if not self._restored:
            self._run.reset_totals(origin=_progress(trainer, trainer.current_epoch) or 0.0)
        self._restored = False

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._run.open_epoch(trainer.current_epoch)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._run.open_epoch(trainer.current_epoch)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        epoch = trainer.current_epoch
        metrics = self._run.epoch_end(epoch, progress=_progress(trainer, epoch + 1), reduce=self._reduce)
        if metrics:
            self._run.attempt("logging the epoch metrics", self._log, trainer, pl_module, metrics)

    def _log(self, trainer: Any, pl_module: Any, metrics: dict[str, float]) -> None:
        import torch

        distributed = trainer.world_size > 1
        # float64: a float32 loses the small per-epoch kWh figures; the device matters only for
        # the sync (NCCL needs it on the GPU), and CPU keeps float64 possible on MPS.
        device = pl_module.device if distributed else torch.device("cpu")
        bar = {f"{self.prefix}{k}" for k in _PROGRESS_BAR_KEYS}
        for prog_bar in (True, False):
            chosen = {
                k: torch.tensor(v, dtype=torch.float64, device=device)
                for k, v in metrics.items()
                if (k in bar) == prog_bar
            }
            if chosen:
                pl_module.log_dict(
                    chosen,
                    prog_bar=prog_bar,
                    on_step=False,
                    on_epoch=True,
                    # The values are already global sums; "max" of equal values is exact, and
                    # syncing keeps Lightning's epoch-level sync warning away.
                    sync_dist=distributed,
                    reduce_fx="max",
                    batch_size=1,
                )

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._run.end(reduce=self._reduce)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._run.fail()

    # -- checkpoint state ------------------------------------------------------------------

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        # Every fit, validate, test or predict calls setup before it restores a checkpoint:
        # only a restore into this very fit continues the totals.
        self._restored = False

    def state_dict(self) -> dict[str, Any]:
        # Checkpointing calls this on every rank, so the open epoch can be summed over ranks.
        return self._run.state_dict(reduce=self._reduce)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = self._run.load_state_dict(state_dict)

    # -- ``with callback: trainer.fit(...)`` -------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._run.exit(exc)

    @property
    def run_record(self) -> EnergyRecord | None:
        """The run row of the last finished fit (summed over ranks; None before one finished)."""
        return self._run.run_record


def _progress(trainer: Any, epochs_done: int) -> float | None:
    """Fraction of the planned training done: the larger of the epoch and step fractions."""
    fractions = []
    max_epochs = getattr(trainer, "max_epochs", None)
    if max_epochs is not None and max_epochs > 0:
        fractions.append(epochs_done / max_epochs)
    max_steps = getattr(trainer, "max_steps", -1)
    if max_steps is not None and max_steps > 0:
        fractions.append(trainer.global_step / max_steps)
    return max(fractions) if fractions else None


def _strategy_reduce(trainer: Any, pl_module: Any) -> Reduce:
    def reduce(values: list[float]) -> list[float]:
        import torch

        tensor = torch.tensor(values, dtype=torch.float64, device=pl_module.device)
        return trainer.strategy.reduce(tensor, reduce_op="sum").tolist()

    return reduce


def _build(namespace: str) -> type:
    """``EmissionsCallback`` for one Lightning namespace (``lightning.pytorch`` or ``pytorch_lightning``)."""
    import importlib

    callback_base = importlib.import_module(namespace).Callback
    module = "wattprint.integrations.lightning" if namespace == "lightning.pytorch" else "wattprint.integrations.pytorch_lightning"
    cls = type(
        "EmissionsCallback",
        (LightningEmissionsMixin, callback_base),
        {"__module__": module, "__doc__": LightningEmissionsMixin.__doc__, "__qualname__": "EmissionsCallback"},
    )
    return cls


def __getattr__(name: str) -> Any:
    if name != "EmissionsCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from wattprint.core.errors import MissingExtraError
    from wattprint.integrations._imports import require

    try:
        require("lightning.pytorch", "lightning")
    except MissingExtraError:
        from wattprint.integrations.pytorch_lightning import EmissionsCallback as cls
    else:
        cls = _build("lightning.pytorch")
    globals()["EmissionsCallback"] = cls
    return cls
