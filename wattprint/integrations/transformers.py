"""Hugging Face transformers: ``Trainer(..., callbacks=[EmissionsCallback()])`` logs energy and CO2e per epoch."""

from __future__ import annotations

import sys
import warnings
import weakref
from typing import Any

from wattprint.core.distributed import RankInfo
from wattprint.core.progress import RunningTotals
from wattprint.integrations._callback import EmissionsCallbackBase
from wattprint.integrations._epochs import FIT, Gather
from wattprint.integrations._imports import missing, optional

transformers = optional("transformers")

#: How far up the stack a Trainer method calls a callback hook (handler, call_event, us).
_MAX_FRAMES = 8


class EmissionsCallback(EmissionsCallbackBase, transformers.TrainerCallback if transformers else missing("transformers", "transformers")):  # type: ignore[misc]
    """Log the energy (kWh) and CO2e (kg) of every epoch through ``Trainer.log``.

    Logged with ``trainer.log`` at each ``on_epoch_end``, so the values reach
    ``trainer.state.log_history`` and every ``report_to`` integration (TensorBoard shows them as
    ``train/emissions/...``). The epoch's own loss log is kept: the callback restores
    ``control.should_log`` after logging. Keys, as Python floats:

    * ``emissions/energy_kwh``, ``emissions/co2_kg``: this epoch (kWh, kg CO2e);
    * ``emissions/energy_kwh_total``, ``emissions/co2_kg_total``: since training began;
    * ``emissions/power_w``: mean power this epoch (W);
    * ``emissions/energy_kwh_cpu|gpu|ram``: this epoch per measured domain (kWh);
    * ``emissions/co2_kg_predicted``: CO2e predicted for the planned ``max_steps`` (from
      ``num_train_epochs`` or ``max_steps``), kg.

    * ``emissions/energy_j_per_token``, ``emissions/co2_kg_per_1k_tokens``: per input token
      (J) and per 1,000 tokens (kg), when the Trainer counts them
      (``TrainingArguments(include_num_input_tokens_seen=...)``).

    Step intervals: whenever the Trainer logs on its step cadence (``logging_strategy="steps"``
    with ``logging_steps``, and ``logging_first_step``), or every ``log_every_n_steps=`` optimizer
    steps if that is given (0: none), the callback closes a step interval --
    the optimizer steps since the last one -- and logs ``emissions/step/energy_kwh``,
    ``.../co2_kg``, ``.../power_w``, ``.../energy_kwh_<domain>``, ``.../energy_kwh_total``,
    ``.../co2_kg_total`` (since training began) and the per-token keys, at that ``step`` of
    ``log_history`` and of every ``report_to`` integration. The epoch's last interval closes
    with the epoch and is logged with its keys; an epoch's intervals add up to it exactly.

    Evaluation during training (``eval_strategy``) is measured apart: from the hook that
    decides it to ``on_evaluate``, logged as ``emissions/validation/...``; each epoch logs
    its train part as ``emissions/train/...``. Standalone ``trainer.evaluate()`` and
    ``trainer.predict()`` are each a run of their own (``stage`` ``evaluate`` / ``predict`` in
    the CSV) from their first prediction step (the Trainer has no hook before it) to their end,
    with energy per sample of the evaluated dataset; their keys (``emissions/evaluate/...``,
    ``emissions/predict/...``) are logged and added to the metrics ``evaluate()`` and
    ``predict()`` return.

    The CSV (``output_file``) gets a row per epoch and a row for the whole training
    (``step_rows=True`` adds one per step interval and per evaluation during training).

    Finding the Trainer: callbacks are not given the Trainer, so this one finds the Trainer
    that calls its ``on_init_end`` (or ``on_train_begin``), checking that this very callback is
    in that Trainer's callback list. ``callback.attach(trainer)`` sets it explicitly (and adds
    the callback if needed), for Trainers that dispatch callbacks in unusual ways. Without a
    Trainer it warns once and appends its values to ``state.log_history`` only.

    What an epoch contains: everything from the previous epoch's end to this one's. The
    Trainer evaluates and saves *after* ``on_epoch_end``, so epoch N's evaluation is counted
    in epoch N+1 and the last epoch's evaluation is in the run row only. The first epoch
    starts at ``on_train_begin`` (so ``eval_on_start`` is in it).

    Distributed (``torchrun``, ``accelerate launch``): each rank measures its own GPU(s), host
    CPU and RAM are measured by local process zero of each node, and every rank's figures are
    gathered with ``trainer.accelerator.gather`` and summed on every rank; every rank then logs
    the global sums, like the Trainer's own logs. Only world process zero writes CSV rows, with
    the summed figures; a training that fails calls no collective, so then each rank writes its
    own interrupted rows, labelled with its rank.

    Failures: the Trainer has no exception hook and skips ``on_train_end`` when training
    raises. The partial epoch and run rows (marked interrupted) are then written at once under
    ``with callback: trainer.train()``, else when this callback's next training starts or the
    interpreter exits, whichever comes first; until then they keep measuring, so in a notebook
    use the ``with`` form. The exception propagates unchanged. With ``on_error="warn"`` an
    error of the callback itself warns once and training goes on.

    Resume: every checkpoint keeps the totals up to the moment it is saved (in
    ``trainer_state.json``, ``stateful_callbacks["wattprint:<prefix>"]``), the epoch in progress
    included, and ``trainer.train(resume_from_checkpoint=...)`` continues them. The resumed
    run's row for that epoch holds only what came after the resume. A checkpoint without that
    entry continues from the last ``emissions/*_total`` values in its ``log_history``.

    Model card (opt-in): ``model_card=True`` writes the Hugging Face ``co2_eq_emissions``
    block (YAML, emissions in grams) of the finished training to
    ``<output_dir>/co2_eq_emissions.yaml`` on world process zero, ready to paste into the
    model card's header; ``model_card="fine-tuning"`` or ``"pre-training"`` also fills
    ``training_type``. ``wattprint report --model-card`` prints the same block from the CSV.

    Args: see :class:`~wattprint.integrations._callback.EmissionsCallbackBase`, the same for
    every framework, plus ``model_card`` above.

    Example::

        from wattprint.integrations.transformers import EmissionsCallback

        trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[EmissionsCallback(country="FR")])
        trainer.train()
    """

    def __init__(self, *args: Any, model_card: bool | str = False, **kwargs: Any) -> None:
        from wattprint.report.modelcard import check_training_type

        if not isinstance(model_card, bool):  # checked first: a bad option builds nothing
            check_training_type(model_card, "model_card=")
        super().__init__(*args, **kwargs)
        self._model_card = model_card

    def _setup(self) -> None:
        self._trainer_ref: weakref.ReferenceType[Any] | None = None
        self._warned_no_trainer = False
        self._tried_stage = False

    # -- the Trainer -----------------------------------------------------------------------

    @property
    def trainer(self) -> Any | None:
        """The Trainer this callback logs through, or None."""
        return None if self._trainer_ref is None else self._trainer_ref()

    def attach(self, trainer: Any) -> EmissionsCallback:
        """Log through ``trainer``, adding this callback to it if it is not there yet."""
        if not any(cb is self for cb in trainer.callback_handler.callbacks):
            trainer.add_callback(self)
        self._trainer_ref = weakref.ref(trainer)
        return self

    def _find_trainer(self) -> None:
        # The Trainer calling the hooks wins over a remembered one: a callback reused for a
        # new Trainer (folds, sweeps, notebooks) must log into the new one.
        trainer = _calling_trainer(self)
        if trainer is not None and trainer is not self.trainer:
            self._trainer_ref = weakref.ref(trainer)

    # -- hooks -----------------------------------------------------------------------------

    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._find_trainer()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._find_trainer()
        if self.trainer is None and not self._warned_no_trainer:
            self._warned_no_trainer = True
            warnings.warn(
                "wattprint: EmissionsCallback could not find its Trainer, so its values go to "
                "trainer.state.log_history only, not to the report_to integrations. "
                "Call callback.attach(trainer) before training.",
                RuntimeWarning,
                stacklevel=2,
            )
        ranks = RankInfo(args.process_index, args.local_process_index, args.world_size)
        tokens = _counts_tokens(args)
        every = self._run.settings.log_every_n_steps
        steps = str(getattr(args, "logging_strategy", "")).rsplit(".", 1)[-1].lower() == "steps" if every is None else every > 0
        # The Trainer gathers its token count over the ranks itself: the job's, not this rank's.
        self._run.start(ranks=ranks, measure_host=args.local_process_index == 0, gather=_gather(args, self.trainer),
                        steps=steps, unit="token" if tokens else "", work_global=True)
        self._run.totals = self._resumed_totals(state) or RunningTotals.starting_at(_progress(state))
        self._tokens(state)
        self._run.open_epoch(int(state.epoch or 0))

    def _tokens(self, state: Any) -> None:
        if self._run.unit:
            self._run.set_work(float(getattr(state, "num_input_tokens_seen", 0) or 0))

    def _resumed_totals(self, state: Any) -> RunningTotals | None:
        """The totals a resumed training continues: the checkpoint's own, else its last logged epoch."""
        if not state.global_step:  # a fresh training: its state holds nothing of ours
            return None
        saved = (getattr(state, "stateful_callbacks", None) or {}).get(self._state_key)
        if saved is not None:
            ok, totals = self._run.policy.attempt("restoring the emissions totals from the checkpoint", RunningTotals.from_state, saved)
            if ok:
                return totals
        return _totals_from_history(state.log_history, self.prefix)

    @property
    def _state_key(self) -> str:
        # Not the class name: the Trainer's restore_callback_states_from_checkpoint rebuilds
        # callbacks stored under their class name, which would drop a user's tracker=.
        return f"wattprint:{self.prefix}"

    def _keep_totals(self, state: Any, control: Any) -> None:
        """Put the totals into the state the Trainer is about to save with a checkpoint."""
        if not control.should_save or not self._run.active:
            return
        totals = self._run.state_dict()
        if getattr(state, "stateful_callbacks", None) is None:
            state.stateful_callbacks = {}
        state.stateful_callbacks[self._state_key] = totals

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # DefaultFlowCallback has run: should_log says the Trainer logs at this step (its own
        # cadence), should_evaluate that it evaluates next, should_save that it saves next.
        every = self._run.settings.log_every_n_steps
        due = control.should_log if every is None else every > 0 and state.global_step % every == 0
        if due and self._run.active:
            self._tokens(state)
            metrics = self._run.step_end(state.global_step)
            if metrics:
                self._run.policy.attempt("logging the step metrics", self._log, state, control, metrics)
        self._evaluation_next(control)
        # The Trainer saves right after on_step_end and on_epoch_end, the same on every rank.
        self._keep_totals(state, control)

    def _evaluation_next(self, control: Any) -> None:
        if control.should_evaluate:
            self._run.stage_begin()

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # Standalone evaluate() and predict() have no hook before their first batch: the run
        # starts here, and learns at its end which of the two it was.
        if not self._run.active and not self._tried_stage:
            self._tried_stage = True  # once per loop, not per batch, if it cannot start
            self._find_trainer()
            ranks = RankInfo(args.process_index, args.local_process_index, args.world_size)
            self._run.start(ranks=ranks, measure_host=args.local_process_index == 0, gather=_gather(args, self.trainer),
                            stage="evaluate", unit="sample", work_global=True)

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
        if self._run.active and self._run.stage == FIT:
            logged = self._run.stage_end()
            if logged:
                self._run.policy.attempt("logging the evaluation metrics", self._log, state, control, logged)
            return
        self._end_stage_run("evaluate", state, control, metrics, kwargs.get("eval_dataloader"))

    def on_predict(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
        self._end_stage_run("predict", state, control, metrics, kwargs.get("eval_dataloader"))

    def _end_stage_run(self, stage: str, state: Any, control: Any, metrics: Any, dataloader: Any) -> None:
        self._tried_stage = False
        if not self._run.active or self._run.stage == FIT:
            return
        samples = _dataset_size(dataloader)
        if samples is not None:
            self._run.set_work(samples)
        else:
            self._run.unit = ""
        if self._run.end(stage=stage) is None or not self._run.stage_metrics:
            return
        logged = dict(self._run.stage_metrics)
        if isinstance(metrics, dict):
            metrics.update(logged)  # what evaluate() / predict() return
        self._run.policy.attempt("logging the stage metrics", self._log, state, control, logged)


    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._run.open_epoch(int(state.epoch or 0))

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self._tokens(state)
        metrics = self._run.epoch_end(progress=_progress(state), step_index=state.global_step)
        if metrics:
            self._run.policy.attempt("logging the epoch metrics", self._log, state, control, metrics)
        self._evaluation_next(control)
        self._keep_totals(state, control)
        return control

    def _log(self, state: Any, control: Any, metrics: dict[str, float]) -> None:
        trainer = self.trainer
        if trainer is None:
            state.log_history.append({**metrics, "epoch": state.epoch, "step": state.global_step})
            return
        # Trainer.log dispatches on_log, which clears should_log: without the restore the
        # epoch's own loss log (due right after on_epoch_end) would be dropped.
        keep = control.should_log
        try:
            trainer.log(dict(metrics))
        finally:
            control.should_log = keep
            trainer.control.should_log = keep

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._tokens(state)
        record = self._run.end()
        if self._model_card and record is not None and state.is_world_process_zero:
            self._run.policy.attempt("writing the model card block", _write_model_card, args.output_dir,
                                     record, self._model_card)


def _write_model_card(output_dir: str, record: Any, model_card: bool | str) -> None:
    import os

    from wattprint.report.modelcard import FILE_NAME, co2_eq_emissions, render_yaml

    block = co2_eq_emissions([record], None if isinstance(model_card, bool) else model_card)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, FILE_NAME), "w", encoding="utf-8") as f:
        f.write(render_yaml(block))


def _calling_trainer(callback: Any) -> Any | None:
    """The Trainer up the call stack whose callback list holds ``callback`` itself, or None."""
    frame = sys._getframe(1)
    try:
        for _ in range(_MAX_FRAMES):
            frame = frame.f_back
            if frame is None:
                return None
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, transformers.Trainer):
                handler = getattr(candidate, "callback_handler", None)
                if handler is not None and any(cb is callback for cb in handler.callbacks):
                    return candidate
        return None
    finally:
        del frame


def _counts_tokens(args: Any) -> bool:
    """Whether the Trainer counts input tokens (``include_num_input_tokens_seen``: True, "all", "non_padding")."""
    value = getattr(args, "include_num_input_tokens_seen", False)
    return value not in (False, None, "no", "")


def _dataset_size(dataloader: Any) -> int | None:
    """The samples an evaluation or prediction loop went through: its dataset's length (the
    whole dataset, on every rank), or None when it has none."""
    try:
        return len(dataloader.dataset)
    except (AttributeError, TypeError):
        return None


def _progress(state: Any) -> float | None:
    """Fraction of the planned optimizer steps done."""
    max_steps = getattr(state, "max_steps", 0) or 0
    return state.global_step / max_steps if max_steps > 0 else None


def _totals_from_history(history: list[dict[str, Any]], prefix: str) -> RunningTotals | None:
    """The totals of a resumed training, from the last epoch it logged; None if it logged none."""
    key_e, key_c = f"{prefix}energy_kwh_total", f"{prefix}co2_kg_total"
    logged = [entry for entry in history if key_e in entry and key_c in entry]
    if not logged:
        return None
    last = logged[-1]
    epoch = last.get("epoch")
    return RunningTotals(
        energy_kwh=float(last[key_e]),
        co2_kg=float(last[key_c]),
        epochs=len(logged),
        last_epoch=None if epoch is None else max(0, round(float(epoch)) - 1),
    )


def _gather(args: Any, trainer: Any | None) -> Gather | None:
    if getattr(args, "world_size", 1) <= 1:
        return None

    def gather(values: list[float]) -> list[list[float]]:
        import torch

        if trainer is not None:
            accelerator = trainer.accelerator
            tensor = torch.tensor(values, dtype=torch.float64, device=accelerator.device)
            return accelerator.gather(tensor).reshape(args.world_size, -1).tolist()
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=args.device)
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor)
        return [p.tolist() for p in parts]

    return gather
