"""PyTorch Lightning: ``Trainer(callbacks=[EmissionsCallback()])`` logs energy and CO2e per epoch.

``EmissionsCallback`` here subclasses ``lightning.pytorch.Callback`` when the ``lightning``
package is installed, else ``pytorch_lightning.Callback``. For the ``pytorch_lightning``
package alongside ``lightning`` (with Lightning older than 2.6, whose Trainer rejects the other
namespace's callbacks), import it from :mod:`wattprint.integrations.pytorch_lightning`. Both
share :class:`LightningEmissionsMixin`.
"""

from __future__ import annotations

from typing import Any

from wattprint.core.distributed import RankInfo
from wattprint.core.metrics import STEP, TRAIN, part_keys
from wattprint.integrations._callback import EmissionsCallbackBase
from wattprint.integrations._epochs import Gather
from wattprint.integrations._imports import missing, optional

#: Keys also shown in the progress bar; the rest go to the loggers only.
_PROGRESS_BAR_KEYS = ("energy_kwh_total", "co2_kg_total")

#: Hooks Lightning calls on every batch that the callback does not need (its batch-end hooks
#: count samples and close step intervals).
_BATCH_HOOKS = (
    "on_train_batch_start",
    "on_validation_batch_start",
    "on_test_batch_start",
    "on_predict_batch_start",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
)
#: Lightning's standalone loops (``trainer.state.fn``), each measured as a run of its own.
_STAGE_RUNS = ("validate", "test", "predict")


class LightningEmissionsMixin(EmissionsCallbackBase):
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

    * ``emissions/energy_j_per_sample``, ``emissions/co2_kg_per_1k_samples``: this epoch per
      sample (J) and per 1,000 samples (kg), samples counted from the batches;
    * ``emissions/train/...``: the same figures for the training part of the epoch (the epoch
      less its validation passes), handed to the loggers like the step keys below.

    Step intervals: on Lightning's own logging cadence (``Trainer(log_every_n_steps=...)``,
    default 50; or the callback's ``log_every_n_steps=``, best a multiple of the Trainer's, as
    Lightning hands step values to its loggers on its own cadence; 0 turns them off), the
    callback closes a step interval -- the optimizer
    steps since the last one, so with ``accumulate_grad_batches`` a step is an optimizer step
    -- and hands ``emissions/step/energy_kwh``, ``.../co2_kg``, ``.../power_w``,
    ``.../energy_kwh_<domain>``, ``.../energy_kwh_total``, ``.../co2_kg_total`` (since training
    began) and ``.../energy_j_per_sample`` / ``.../co2_kg_per_1k_samples`` to every logger in
    ``trainer.loggers`` at the step Lightning logs that batch at (straight to the loggers, as
    Lightning's own monitors do: ``self.log`` costs about 0.2 ms a key; so step keys are not in
    ``trainer.callback_metrics``). The epoch's last interval (steps since the last logged one,
    with the epoch's end-of-epoch validation) closes with the epoch and is logged then; an
    epoch's intervals add up to it exactly. The counters are read only when an interval closes.

    Validation inside ``fit`` is measured apart: each validation pass logs
    ``emissions/validation/...`` (from ``on_validation_epoch_end``), and the epoch is its train
    part plus its validation passes. Standalone ``trainer.validate``, ``trainer.test`` and
    ``trainer.predict`` are each a run of their own: a CSV row with ``stage`` ``validate``,
    ``test`` or ``predict``, and (validate, test) keys ``emissions/validate/...`` /
    ``emissions/test/...`` logged at the loop's end; Lightning lets no callback log during
    predict, so its figures are in the row and in :attr:`stage_record`.

    The CSV (``output_file``) gets a row per epoch and a row for the whole fit (``step_rows=True``
    adds one per step interval and per validation pass). A fit whose training loop does not run
    (``max_epochs`` already reached, ``limit_train_batches=0``) measures nothing and writes no row.

    What an epoch contains: everything from the previous epoch's end to this one's, so the
    epoch's validation loop (which Lightning runs before ``on_train_epoch_end``) and checkpoint
    saving are included, and the epochs add up to the training. The first epoch starts at
    ``on_train_start``: the sanity check is in the run row only.

    Distributed (DDP and other strategies): each rank measures its own accelerator, and host CPU
    and RAM are measured by local rank 0 of each node only. Every rank's figures are gathered
    once per epoch with ``trainer.strategy.all_gather`` and summed on every rank; the logged
    values are these global sums, logged with ``sync_dist=True, reduce_fx="max"``, which leaves
    the already-equal values unchanged. Only global rank 0 writes CSV rows, with the summed
    figures. A training that fails calls no collective, so then each rank writes its own
    interrupted rows, labelled with its rank.

    Failures: training that raises gets its partial epoch and run rows written, marked
    interrupted, from ``on_exception``, and the exception propagates unchanged. With
    ``on_error="warn"`` an error of the callback itself warns once and training goes on.

    Resume: the totals are saved in checkpoints (``state_dict``), with the epoch in progress
    up to the save, and a fit resumed with ``ckpt_path=`` continues them; the resumed run's
    row for that epoch holds only what came after the resume. Energy spent after the last
    checkpoint of a run that died is in that run's interrupted rows, not in the resumed totals.

    Args: see :class:`~wattprint.integrations._callback.EmissionsCallbackBase` (``project_name``,
    ``experiment_description``, ``country``, ``region``, ``cloud``, ``pue``, ``output_file``,
    ``prefix``, ``on_error``, ``scope``, ``tracker``, ``settings``). A ``tracker=`` keeps its
    ``measure_host`` default (local rank 0 from the launcher's environment), right for
    Lightning's and torchrun's launchers.

    Example::

        import lightning.pytorch as pl
        from wattprint.integrations.lightning import EmissionsCallback

        trainer = pl.Trainer(max_epochs=3, callbacks=[EmissionsCallback(country="FR")])
    """

    def _setup(self) -> None:
        self._restored = False
        self._every = 0  # Trainer(log_every_n_steps=...): the step-interval cadence
        self._last_step = 0
        self._counting = True
        # One key per prefix, so instances with different prefixes may share a Trainer. Built
        # once: Lightning reads state_key around every hook call, batch hooks included.
        self._state_key: str = self._generate_state_key(prefix=self.prefix)  # type: ignore[attr-defined]
        # Lightning (2.0 to 2.6 at least) dispatches each hook to each callback under a profiler
        # context, about 2 us per call even for the base class's empty methods: six a training
        # step, ~1 % of a 1 ms step. It skips attributes that are not callable, so an instance
        # attribute None shadows each empty batch hook; a hook a subclass overrides is kept, and
        # super().on_train_batch_end(...) still reaches the class's method.
        for name in _BATCH_HOOKS:
            if getattr(getattr(type(self), name, None), "__qualname__", "") == f"Callback.{name}":
                setattr(self, name, None)

    @property
    def state_key(self) -> str:
        return self._state_key

    # -- hooks -----------------------------------------------------------------------------

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        # Every fit, validate, test or predict calls setup before it restores a checkpoint:
        # only a restore into this very fit continues the totals.
        self._restored = False

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = self._run.load_state_dict(state_dict)

    def _start(self, trainer: Any, pl_module: Any, stage: str, steps: bool = False) -> None:
        # Rank attributes are final here (the process group exists), and a checkpoint's
        # callback state has already been loaded.
        ranks = RankInfo(trainer.global_rank, trainer.local_rank, trainer.world_size)
        gather = _strategy_gather(trainer, pl_module) if trainer.world_size > 1 else None
        self._counting = True
        self._run.start(ranks=ranks, measure_host=trainer.local_rank == 0, gather=gather, stage=stage, steps=steps, unit="sample")

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        chosen = self._run.settings.log_every_n_steps
        self._every = int(getattr(trainer, "log_every_n_steps", 0) or 0) if chosen is None else chosen
        self._last_step = trainer.global_step
        self._start(trainer, pl_module, "train", steps=self._every > 0)
        if not self._restored:
            self._run.reset_totals(origin=_progress(trainer, trainer.current_epoch))
        self._restored = False

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._run.open_epoch(trainer.current_epoch)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._run.open_epoch(trainer.current_epoch)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        # Runs on every batch: the cheap tests first, the counters only when an interval closes.
        if self._counting:
            self._count(batch)
        step = trainer.global_step
        if step == self._last_step:
            return  # no optimizer step (accumulating gradients)
        self._last_step = step
        # Lightning's own cadence for its step logs (its logger connector's rule).
        if self._every and (step % self._every == 0 or trainer.should_stop) and self._run.active:
            metrics = self._run.step_end(step)
            if metrics:
                self._run.policy.attempt("logging the step metrics", _log_steps, trainer, metrics)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        epoch = trainer.current_epoch
        metrics = self._run.epoch_end(epoch, progress=_progress(trainer, epoch + 1), step_index=trainer.global_step)
        if metrics:
            # The parts (train, last step interval) straight to the loggers, the epoch keys
            # through self.log (for callback_metrics and monitor=): it costs about 0.2 ms a key.
            parts = (part_keys(self.prefix, STEP), part_keys(self.prefix, TRAIN))
            direct = {k: v for k, v in metrics.items() if k.startswith(parts)}
            if direct:
                self._run.policy.attempt("logging the step metrics", _log_steps, trainer, direct, True)
            rest = {k: v for k, v in metrics.items() if k not in direct}
            self._run.policy.attempt("logging the epoch metrics", _log, trainer, pl_module, rest, self.prefix)

    # -- validation inside fit, and the standalone loops -----------------------------------

    def _stage_run(self, trainer: Any) -> str | None:
        fn = getattr(getattr(trainer, "state", None), "fn", None)
        name = getattr(fn, "value", fn)
        return name if name in _STAGE_RUNS else None

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return  # in the run row only
        stage = self._stage_run(trainer)
        if stage is not None:
            self._start(trainer, pl_module, stage)
        else:
            self._run.stage_begin()

    def on_validation_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if not trainer.sanity_checking:
            self._count(batch)

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        if self._stage_run(trainer) is not None:
            self._end_stage_run(trainer, pl_module)
            return
        metrics = self._run.stage_end()
        if metrics:
            self._run.policy.attempt("logging the validation metrics", _log, trainer, pl_module, metrics, self.prefix)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if self._stage_run(trainer) is not None:
            self._run.end()  # only if on_validation_epoch_end did not (nothing to log then)

    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        self._start(trainer, pl_module, "test")

    def on_test_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._count(batch)

    def on_test_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._end_stage_run(trainer, pl_module)

    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        self._run.end()

    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        self._start(trainer, pl_module, "predict")

    def on_predict_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._count(batch)

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        self._run.end()  # Lightning lets no callback log during predict: the row only

    def _end_stage_run(self, trainer: Any, pl_module: Any) -> None:
        if self._run.active and self._run.end() is not None and self._run.stage_metrics:
            self._run.policy.attempt("logging the stage metrics", _log, trainer, pl_module, self._run.stage_metrics, self.prefix)

    def _count(self, batch: Any) -> None:
        if self._counting:
            size = _batch_size(batch)
            if size is None:
                self._counting = False  # a batch of unknown size: no per-sample figures
                self._run.unit = ""
            else:
                self._run.add_work(size)


    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._run.end()

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        # Still running here only if the training loop was skipped (nothing left to train):
        # on_train_end never came.
        self._run.abandon()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._run.fail()


def _log_steps(trainer: Any, metrics: dict[str, float], epoch_end: bool = False) -> None:
    """Hand step metrics (already summed over ranks) to every logger, at the step Lightning logs
    this batch at.

    Straight to the loggers, as Lightning's own monitors do: ``self.log`` costs about 0.2 ms a
    key (its result collection is walked for each), which at every step would be most of a
    small model's step. Built-in loggers write on rank 0 only.
    """
    loop = getattr(getattr(trainer, "fit_loop", None), "epoch_loop", None)
    step = getattr(loop, "_batches_that_stepped", trainer.global_step - 1)
    if epoch_end:
        step -= 1  # counted on by then; Lightning logs the epoch at its last batch's step, as here
    for logger in trainer.loggers:
        logger.log_metrics(metrics, step=step)


def _log(trainer: Any, pl_module: Any, metrics: dict[str, float], prefix: str) -> None:
    """Log ``metrics`` (already summed over ranks) at the epoch of the hook."""
    import torch

    distributed = trainer.world_size > 1
    # float64: a float32 loses the small per-epoch kWh figures; the device matters only for
    # the sync (NCCL needs it on the GPU), and CPU keeps float64 possible on MPS.
    device = pl_module.device if distributed else torch.device("cpu")
    bar = {f"{prefix}{k}" for k in _PROGRESS_BAR_KEYS}
    for prog_bar in (True, False):
        chosen = {k: torch.tensor(v, dtype=torch.float64, device=device) for k, v in metrics.items() if (k in bar) == prog_bar}
        if chosen:
            # The values are already global sums; "max" of equal values is exact, and syncing
            # keeps Lightning's epoch-level sync warning away.
            pl_module.log_dict(chosen, prog_bar=prog_bar, on_step=False, on_epoch=True,
                               sync_dist=distributed, reduce_fx="max", batch_size=1)


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


def _batch_size(batch: Any) -> int | None:
    """The number of samples in a batch: the length of its first tensor (or array), looked
    for in tuples, lists and dicts; None when there is none."""
    if type(batch) in (list, tuple) and batch:  # the common (inputs, targets), on every batch
        shape = getattr(batch[0], "shape", None)
        if shape is not None and len(shape):
            return int(shape[0])
    shape = getattr(batch, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        for item in batch:
            size = _batch_size(item)
            if size is not None:
                return size
    return None


def _strategy_gather(trainer: Any, pl_module: Any) -> Gather:
    def gather(values: list[float]) -> list[list[float]]:
        import torch

        tensor = torch.tensor(values, dtype=torch.float64, device=pl_module.device)
        return trainer.strategy.all_gather(tensor).reshape(trainer.world_size, -1).tolist()

    return gather


_pl = optional("lightning.pytorch") or optional("pytorch_lightning")


class EmissionsCallback(LightningEmissionsMixin, _pl.Callback if _pl else missing("lightning", "lightning")):  # type: ignore[misc]
    __doc__ = LightningEmissionsMixin.__doc__
