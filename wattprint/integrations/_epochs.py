"""The epoch lifecycle every framework callback drives: start, epochs, end, failure, resume.

The adapters only translate their framework's hooks into calls on one :class:`EpochRun`; the
arithmetic lives in the core (the chain of windows, the sum over ranks, the running totals and
the metric keys). No framework is imported here.

Epoch windows are contiguous (:class:`~wattprint.core.chain.Chain`): the first opens when
training starts, and each epoch end closes the open window and opens the next one at once, so
whatever a framework runs between its epoch hooks (validation, evaluation, checkpoints) is
charged to an epoch and the epochs add up to the training. The window left open after the last
epoch (final evaluation, saving) is in the run row only.

Finer than an epoch (:mod:`wattprint.core.chain`): the run keeps three chains -- epochs, the
stages inside them (``train`` pieces and ``validation`` passes, one after another) and, when
the adapter asks for them, step intervals. An epoch end closes all three from one reading, so
an epoch's step intervals add up to it exactly, and so do its train part and its validation
passes. Step intervals are closed only on the framework's logging cadence: the counters are
read when an interval closes, never per batch. Work (samples, tokens) is counted by the
adapter and charged to every window open while it was done.

Stage runs: a framework's standalone evaluation or prediction (``trainer.validate``,
``model.predict``, ``trainer.evaluate``...) is a run of its own, labelled with its ``stage``.

Distributed runs: every rank measures its own devices (host CPU and RAM only on local rank 0),
and at each epoch end the adapter's *gather* function collects every rank's figures (a fixed
length list of floats, :mod:`wattprint.core.rankvector`) with the framework's collective; each
rank sums them with :func:`~wattprint.core.merge.combine`. Every rank calls it, even a rank
whose measurement failed (it sends a failure flag), so a sensor fault can never leave the other
ranks waiting in a collective. Only global rank 0 writes the summed rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from wattprint.core import exits, rankvector
from wattprint.core.chain import STAGES, Chain, Move, advance_together, begin_together
from wattprint.core.distributed import RankInfo
from wattprint.core.errors import ConfigError, StateError
from wattprint.core.measurement import DOMAINS
from wattprint.core.merge import Total, as_record, combine
from wattprint.core.metrics import STEP, TRAIN, epoch_metrics, part_metrics
from wattprint.core.policy import ErrorPolicy
from wattprint.core.progress import RunningTotals
from wattprint.core.record import EnergyRecord
from wattprint.core.settings import TRACKER_OPTIONS, Settings
from wattprint.core.tracker import Tracker

#: Collects one list of floats from every rank (this one's included), in rank order; every rank must call it.
Gather = Callable[[list[float]], list[list[float]]]

#: The stage of a training run and its epochs.
FIT = TRAIN
#: The stage of a validation (evaluation) pass inside a training.
VALIDATION = "validation"


class EpochRun:
    """One training seen through epoch hooks, measured by a Tracker built from ``settings`` or ``tracker``.

    A ``tracker`` of the user's serves as given (its settings are its own: passing options too
    is a :class:`~wattprint.ConfigError`); otherwise a Tracker is built from ``settings`` for
    each training, here first, so that bad settings fail at construction.
    """

    def __init__(self, settings: Settings, tracker: Tracker | None = None) -> None:
        self.settings = settings
        self.policy = ErrorPolicy(settings.on_error, __name__, settings.naming)
        if tracker is not None:
            if not isinstance(tracker, Tracker):
                raise ConfigError(
                    f"tracker= must be a wattprint.Tracker, got {type(tracker).__name__}; pass "
                    "wattprint.Tracker(...) or leave tracker out and give the settings to the callback."
                )
            clashing = [o for o in TRACKER_OPTIONS if o in settings.given]
            if clashing:
                raise ConfigError(
                    f"tracker= already carries its own settings; pass {settings.spelled(*clashing)} to "
                    "wattprint.Tracker(...) instead of the callback."
                )
        self._own = tracker is None
        self._tracker: Tracker | None = tracker or Tracker(settings=settings)
        self._tracker_used = False  # a Tracker cannot be restarted: ours is rebuilt per training
        self._chain: Chain | None = None
        self._started_here = False
        self._active = False
        self._gather: Gather | None = None
        self.ranks = RankInfo()
        self.totals = RunningTotals()
        self.run_record: EnergyRecord | None = None
        #: This process's own record of the last epoch (and step interval), before the sum over ranks.
        self.last_local: EnergyRecord | None = None
        self.last_step_local: EnergyRecord | None = None
        #: The stage of the current (or last) run: ``train``, or a stage run's name.
        self.stage = FIT
        #: The metrics of the last stage run (``{prefix}<stage>/...``), for the adapter to log.
        self.stage_metrics: dict[str, float] | None = None
        #: The row of the last stage run (summed over ranks), or None.
        self.stage_record: EnergyRecord | None = None
        self._steps: Chain | None = None
        self._stages: Chain | None = None
        self._stage_window: Chain | None = None
        self._want_steps = False
        self._train_pieces: list[EnergyRecord] = []
        self._epoch_steps = (0.0, 0.0)  # kWh and kg of this epoch's closed step intervals (over ranks)
        # Work: what this process (or, ``work_global``, the whole job) did since the run began,
        # and the count when each chain's open window opened.
        self.unit = ""
        self._work_global = False
        self._work_done = 0.0
        self._work_marks: dict[str, float] = {}

    @property
    def prefix(self) -> str:
        return self.settings.prefix

    @property
    def tracker(self) -> Tracker | None:
        """The Tracker measuring the current (or next) training."""
        return self._tracker

    @property
    def active(self) -> bool:
        """True between :meth:`start` and :meth:`end` / :meth:`fail` / :meth:`abandon`."""
        return self._active

    def __getstate__(self) -> dict[str, Any]:
        # Spawn-based launchers pickle callbacks: a Tracker we built is rebuilt from the
        # settings in the new process instead of being pickled with its sensors.
        state = dict(self.__dict__)
        if self._own and not self._active:
            state["_tracker"], state["_tracker_used"] = None, False
        return state

    # -- lifecycle -------------------------------------------------------------------------

    def start(
        self,
        *,
        ranks: RankInfo | None = None,
        measure_host: bool | None = None,
        gather: Gather | None = None,
        stage: str = FIT,
        steps: bool = False,
        unit: str = "",
        work_global: bool = False,
    ) -> None:
        """Training (or a stage run) starts: start the tracker (unless its owner already did) and the run.

        ``measure_host`` is whether this process measures CPU and RAM (local rank 0 in a
        distributed run); ``None`` lets the Tracker decide from the launcher's environment.
        ``gather`` collects every rank's figures in a distributed run. ``stage`` is ``train``
        for a training, else the name of a standalone stage run (``validate``, ``predict``...).
        ``steps``: the adapter will close step intervals (:meth:`step_end`). ``unit`` names
        the work the adapter counts (``sample``, ``token``; "" for none); ``work_global``
        says its counts are already the whole job's, not this process's. A run of this callback
        left open by a training that died without telling it is closed first, marked interrupted.
        """
        self.fail()
        if stage != FIT and not self._own and not (self._tracker is not None and self._tracker.running):
            # A tracker of the user's serves one training: a stage run is measured on it only
            # while its owner runs it (as a window), never by starting it and using it up.
            return
        self.stage, self._want_steps, self.unit, self._work_global = stage, steps, unit, work_global
        self.stage_metrics = None
        self._train_pieces, self._epoch_steps = [], (0.0, 0.0)
        self._work_done, self._work_marks = 0.0, {}
        # The framework's ranks, not only the launcher's variables: Lightning's spawn-based
        # strategies set LOCAL_RANK alone, and each rank must still measure only its own GPU.
        self.ranks = ranks or RankInfo()
        self._gather = gather
        self._active = True
        # Decided before trying, so that a tracker failing to start on one rank still leaves
        # every rank making the same collective calls at the end.
        self._started_here = self._own or not (self._tracker is not None and self._tracker.running)
        self.policy.attempt("starting the tracker", self._start_tracker, measure_host, ranks)
        if gather is not None:
            self.policy.attempt("agreeing on the run id with the other ranks", self._share_run_id)
        exits.register(self.fail, exits.TRAINING)

    def _start_tracker(self, measure_host: bool | None, ranks: RankInfo | None) -> None:
        tracker = self._tracker
        if self._own and (
            tracker is None
            or self._tracker_used
            or (measure_host is not None and tracker.measure_host != measure_host)
            or (ranks is not None and tracker.ranks != ranks)
        ):
            tracker = self._tracker = Tracker(settings=replace(self.settings, measure_host=measure_host, ranks=ranks))
        assert tracker is not None
        if self._started_here:
            self._tracker_used = True
            tracker.start()
        if self.stage != FIT:
            # A stage run: one window over it all (the run row when the tracker is ours).
            self._chain = self._stages = self._steps = None
            self._stage_window = Chain(tracker, self.stage, stage=self.stage, unit=self.unit)
            begin_together([self._stage_window])
            self._work_marks[self.stage] = self._work_done
            return
        self._stage_window = None
        self._chain = Chain(tracker, "epoch", stage=FIT, unit=self.unit)
        self._stages = Chain(tracker, TRAIN, stage=STAGES, unit=self.unit)
        self._steps = Chain(tracker, STEP, stage=FIT, unit=self.unit) if self._want_steps else None

    def _share_run_id(self) -> None:
        """Every rank labels its rows with rank 0's run id, so that rows each rank writes alone
        (a training that failed) are one run's processes to ``wattprint report``."""
        assert self._gather is not None
        tracker = self._tracker
        mine = tracker.run_id if self._started_here and tracker is not None and tracker.running else None
        first = rankvector.decode_run_id(self._gather(rankvector.encode_run_id(mine))[0])  # every rank calls it
        if mine is not None and first is not None:
            tracker.join_run(first)  # type: ignore[union-attr]

    def open_epoch(self, index: int | None = None) -> None:
        """An epoch begins: open its window (with its first stage piece and step interval), or
        number the one open since the last epoch's end."""
        if self._active:
            self.policy.attempt("opening the epoch window", self._open_epoch, index)

    def _open_epoch(self, index: int | None) -> None:
        chains = self._chains()
        fresh = [c for c in chains if not c.open]
        begin_together(chains, index)
        self._work_marks.setdefault("run", self._work_done)
        for chain in fresh:
            self._work_marks[chain.name] = self._work_done

    def _chains(self) -> list[Chain]:
        return [c for c in (self._require_chain(), self._stages, self._steps) if c is not None]

    # -- work ------------------------------------------------------------------------------

    def add_work(self, count: float) -> None:
        """``count`` more units of work done (a batch's samples): charged to every open window."""
        self._work_done += count

    def set_work(self, done: float) -> None:
        """The units of work done since the framework began counting (a cumulative counter)."""
        self._work_done = float(done)

    def _work_of(self, key: str, *, keep: bool = True) -> float | None:
        """The work done since ``key``'s window opened (None when no unit is counted); ``keep``
        moves the mark to now, for the window that opens at the same instant."""
        if not self.unit:
            return None
        done = self._work_done
        work = max(0.0, done - self._work_marks.get(key, 0.0))
        if keep:
            self._work_marks[key] = done
        return work

    # -- step intervals and stages inside an epoch -----------------------------------------

    def step_end(self, index: int | None = None) -> dict[str, float] | None:
        """The framework logs at this step: close the step interval (the optimizer steps since
        the last one) and open the next. ``index`` is the optimizer step count.

        Returns the step keys to log, or None (no interval open, or not measured on some rank).
        """
        if not self._active or self._steps is None:
            return None
        steps = self._steps
        ok, moved = self.policy.attempt("closing the step interval", lambda: self._move([Move(steps, index=index, work=self._work_of(STEP))]))
        local = moved[0] if ok and moved else None
        self.last_step_local = local
        totals = self._sum_parts("summing the step interval over ranks", [local])
        if totals is None or local is None:
            return None
        ok, metrics = self.policy.attempt("recording the step interval", self._record_step, local, totals[0])
        return metrics if ok else None

    def _record_step(self, local: EnergyRecord, part: tuple[Total, float | None]) -> dict[str, float]:
        total, work = part
        kwh, kg = self._epoch_steps
        self._epoch_steps = (kwh + total.measurement.energy_kwh, kg + total.footprint.co2_kg)
        if self.settings.step_rows:
            self._write(self._summed(local, total, work))
        return self._step_keys(total, work)

    def _step_keys(self, total: Total, work: float | None) -> dict[str, float]:
        kwh, kg = self._epoch_steps
        return part_metrics(self.prefix, STEP, total, totals=(self.totals.energy_kwh + kwh, self.totals.co2_kg + kg),
                            work=work, unit=self.unit)

    def stage_begin(self, name: str = VALIDATION) -> None:
        """A validation (evaluation) pass inside the training begins: the train piece so far
        is closed, and a window named ``name`` opens."""
        if self._active and self._stages is not None:
            self.policy.attempt(f"opening the {name} window", self._stage_begin, name)

    def _stage_begin(self, name: str) -> None:
        stages = self._stages
        assert stages is not None
        if not stages.open or stages.window_name != TRAIN:
            return  # already in a pass (nested calls), or between runs
        epoch = self._chain.index if self._chain is not None else None
        (piece,) = self._move([Move(stages, work=self._work_of(TRAIN, keep=False), next_name=name, next_index=epoch)])
        self._train_pieces.append(piece)
        self._work_marks[name] = self._work_done

    def stage_end(self) -> dict[str, float] | None:
        """The validation pass ends: close it (the next train piece opens), sum it over ranks,
        write its row (``step_rows``) and return its keys (``{prefix}validation/...``)."""
        if not self._active or self._stages is None:
            return None
        stages = self._stages
        name = stages.window_name
        if name is None or name == TRAIN:
            return None  # no pass open here (it failed to open, or the sanity check ran before the run)
        ok, moved = self.policy.attempt(f"closing the {name} window", lambda: self._move(
            [Move(stages, work=self._work_of(name), next_name=TRAIN)]))
        if ok:
            self._work_marks[TRAIN] = self._work_done
        local = moved[0] if ok and moved else None
        totals = self._sum_parts(f"summing the {name} pass over ranks", [local])
        if totals is None or local is None:
            return None
        total, work = totals[0]
        if self.settings.step_rows:
            self.policy.attempt(f"recording the {name} pass", lambda: self._write(self._summed(local, total, work)))
        return part_metrics(self.prefix, name, total, work=work, unit=self.unit)

    def _move(self, moves: list[Move]) -> list[EnergyRecord]:
        self._require_tracker()
        return advance_together(moves)

    def reset_totals(self, origin: float | None = 0.0) -> None:
        """Start new totals; ``origin`` = fraction of the planned training already done."""
        self.totals = RunningTotals.starting_at(origin)

    def epoch_end(
        self, index: int | None = None, *, progress: float | None = None, step_index: int | None = None
    ) -> dict[str, float] | None:
        """An epoch ended: close its window (opening the next), sum over ranks, write the row.

        ``progress`` is the fraction of the planned training done (for ``co2_kg_predicted``).
        The epoch's last stage piece and last step interval (numbered ``step_index``) close
        with it, from the same reading. Returns the metrics to log -- the epoch keys, the
        train part's (``{prefix}train/...``) and the last step interval's (``{prefix}step/...``)
        -- or None when this epoch could not be measured on some rank (then no rank logs it).
        """
        if not self._active:
            return None
        ok, closed = self.policy.attempt("measuring the epoch", self._close_epoch, index, step_index)
        epoch, train, step = closed if ok and closed is not None else (None, None, None)
        self.last_local = epoch
        parts = self._sum_parts("summing the epoch over ranks", [epoch, train, step])
        if epoch is None or parts is None or parts[0] is None:
            return None
        ok, metrics = self.policy.attempt("recording the epoch", self._record_epoch, epoch, parts, step, progress)
        return metrics if ok else None

    def _close_epoch(
        self, index: int | None, step_index: int | None
    ) -> tuple[EnergyRecord, EnergyRecord | None, EnergyRecord | None]:
        """Close the epoch, its last stage piece and its last step interval from one reading;
        returns this process's epoch, train part and last step interval (None: no such chain)."""
        chain = self._require_chain()
        moves = [Move(chain, index=index, work=self._work_of(chain.name))]
        stages, steps = self._stages, self._steps
        if stages is not None and stages.open:
            stage_name = stages.window_name or TRAIN
            moves.append(Move(stages, index=index, work=self._work_of(stage_name), next_name=TRAIN))
        if steps is not None and steps.open:
            moves.append(Move(steps, index=step_index, work=self._work_of(STEP)))
        self._work_marks[TRAIN] = self._work_done
        records = iter(self._move(moves))
        epoch = next(records)
        pieces, self._train_pieces = self._train_pieces, []
        if len(moves) > 1 and moves[1].chain is stages:
            last = next(records)
            if last.labels.stage == TRAIN:
                pieces.append(last)
        train = _joined(pieces, epoch) if stages is not None else None
        step = next(records, None) if steps is not None and steps.open else None
        return epoch, train, step

    def _record_epoch(
        self, local: EnergyRecord, parts: list[tuple[Total, float | None]], step: EnergyRecord | None, progress: float | None
    ) -> dict[str, float]:
        (total, work), train, last_step = parts
        self.totals.add(total.measurement.energy_kwh, total.footprint.co2_kg, local.labels.index)
        self._write(self._summed(local, total, work))
        metrics = epoch_metrics(self.prefix, total, self.totals, self.totals.predicted_co2_kg(progress), work=work, unit=self.unit)
        if train is not None and self._stages is not None:
            metrics.update(part_metrics(self.prefix, TRAIN, train[0], work=train[1], unit=self.unit))
        if step is not None and last_step is not None:
            if self.settings.step_rows:
                self._write(self._summed(step, *last_step))
            # The epoch's steps are all in the totals now: the last interval's running total is theirs.
            metrics.update(part_metrics(self.prefix, STEP, last_step[0], totals=(self.totals.energy_kwh, self.totals.co2_kg),
                                        work=last_step[1], unit=self.unit))
        self._epoch_steps = (0.0, 0.0)
        return metrics

    def end(self, *, stage: str | None = None) -> EnergyRecord | None:
        """Training (or a stage run) finished: stop the tracker (if we started it) and write the run row.

        ``stage`` names a stage run now, for frameworks that say which loop ran only at its end.

        In a distributed run the run figures are summed over ranks too (every rank calls the
        gather). Returns the run record as written, or None. A stage run's record is its run
        row labelled with its stage (or, on a tracker its owner keeps running, a row of the
        stage's window), and its keys are left in :attr:`stage_metrics`.
        """
        staged = self._stage_window
        if stage is not None and staged is not None and self._active:
            self._work_marks[stage] = self._work_marks.pop(self.stage, 0.0)
            self.stage = stage
            self.policy.attempt("naming the stage", staged.rename, stage)
        was_running, chains = self._close()
        if not was_running:
            return None
        for chain in chains:
            if chain.open and chain is not staged:
                chain.drop()  # the tail after the last epoch is in the run row only
        if staged is None and not self._started_here:
            return None  # the tracker's owner stops it and writes its run row
        key = self.stage if staged is not None else "run"
        work = self._work_of(key, keep=False)

        def measure() -> EnergyRecord:
            if staged is not None and not self._started_here:
                return staged.close(write=False, work=work)
            if staged is not None:
                staged.drop()
            record = self._require_tracker().stop(write=False)
            return record.relabel(stage=self.stage, work=work, work_unit=self.unit if work is not None else "")

        local, total = self._sum("stopping the tracker", measure, "the run")
        if local is None or total is None:
            return None
        ok, record = self.policy.attempt("recording the run", self._record_run, local, total)
        return record if ok else None

    def _record_run(self, local: EnergyRecord, total: tuple[Total, float | None]) -> EnergyRecord:
        record = self._summed(local, *total)
        self._write(record)
        if self.stage == FIT:
            self.run_record = record
        else:
            self.stage_record = record
            self.stage_metrics = part_metrics(self.prefix, self.stage, total[0], work=total[1], unit=self.unit)
        return record

    def abandon(self) -> None:
        """Training never began (the framework skipped its loop): stop measuring and write nothing."""
        was_running, _ = self._close()
        if was_running and self._started_here and self._tracker is not None and self._tracker.running:
            self.policy.attempt("stopping the tracker", self._tracker.stop, write=False)

    def fail(self) -> None:
        """Training raised: write the partial epoch and the run row, both marked interrupted.

        No collective is called (other ranks may be gone), so each rank writes its own
        figures, labelled with its rank. Never raises: the training's exception is the one the
        user must see.
        """
        staged = self._stage_window
        was_running, chains = self._close()
        if not was_running:
            return
        tracker = self._tracker
        if tracker is None or not tracker.running:
            return  # nothing was measured, or the tracker's owner already wrote its run row
        chain = chains[0] if chains else None
        for inner in chains[1:]:
            inner.drop()  # the interrupted epoch's row holds its stages and steps
        if staged is not None and self._started_here:
            staged.drop()  # the run row is the stage's
            chain = None
        try:
            record = chain.interrupt(write=False) if chain is not None else None
            if record is not None:
                self._write(self._labelled(record), every_rank=True)
        except Exception as exc:  # noqa: BLE001 - the training's own exception must win
            self.policy.report("recording the interrupted epoch", exc)
        try:
            if self._started_here:
                self._write(self._labelled(tracker.stop(interrupted=True, write=False).relabel(stage=self.stage)), every_rank=True)
        except Exception as exc:  # noqa: BLE001 - the training's own exception must win
            self.policy.report("recording the interrupted run", exc)

    def exit(self, exc: BaseException | None) -> None:
        """For ``with callback: fit(...)``: a training that raised gets its interrupted rows now."""
        if exc is not None:
            self.fail()

    def _close(self) -> tuple[bool, list[Chain]]:
        """Mark the run over. Returns whether it was running, and its chains to finish,
        outermost first (epochs, stages, steps; or a stage run's window)."""
        if not self._active:
            return False, []
        self._active = False
        exits.unregister(self.fail)
        chains = [c for c in (self._chain, self._stages, self._steps, self._stage_window) if c is not None]
        self._chain = self._stages = self._steps = self._stage_window = None
        return True, chains

    # -- resume ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The totals as a JSON-ready dict (what a checkpoint keeps), the open epoch included.

        Checkpoints are often saved mid-epoch (at a validation inside the epoch, every N steps,
        or before the epoch-end hook): counting the open epoch so far makes a resumed run
        continue from everything measured up to the checkpoint. The resumed run's row for that
        epoch then holds only what came after the resume. In a distributed run every rank must
        call this, as checkpointing does: the open epoch is summed over ranks.
        """
        if not self._active or self._chain is None:
            return self.totals.as_state()
        _, total = self._sum("reading the open epoch", lambda: self._require_chain().read(), "the open epoch")
        if total is None:
            return self.totals.as_state()
        return self.totals.as_state(open_energy_kwh=total[0].measurement.energy_kwh, open_co2_kg=total[0].footprint.co2_kg)

    def load_state_dict(self, state: Mapping[str, Any]) -> bool:
        """Continue the totals of a checkpointed run; False (after a warning) if ``state`` is unreadable."""
        ok, totals = self.policy.attempt("restoring the emissions totals from the checkpoint", RunningTotals.from_state, state)
        if ok and totals is not None:
            self.totals = totals
            return True
        return False

    # -- the sum over ranks ----------------------------------------------------------------

    def _sum(
        self, doing: str, measure: Callable[[], EnergyRecord], what: str
    ) -> tuple[EnergyRecord | None, tuple[Total, float | None] | None]:
        """This rank's record (None if measuring failed) and the sum over ranks with its work
        count (None if any rank failed, or the gather did). The gather runs on every rank,
        whatever happened locally, so that no rank waits in a collective the others skipped."""
        ok, local = self.policy.attempt(doing, measure)
        local = local if ok else None
        parts = self._sum_parts(f"summing {what} over ranks", [local])
        return local, None if parts is None else parts[0]

    def _sum_parts(self, doing: str, locals_: list[EnergyRecord | None]) -> list[tuple[Total, float | None] | None] | None:
        """Sum several records over ranks in one collective call: for each, the total and its
        work count, or None where some rank had none. None if the gather failed.

        Every rank passes the same number of parts (None for one it could not measure).
        Work counts add over ranks, unless the adapter counts the whole job's work already.
        """
        if self._gather is None and not self.ranks.distributed and all(r is None or _encodable(r) for r in locals_):
            # One process: its own figures are the sums, as they are (the sum of one record by
            # combine's rules is that record), without encoding them for a collective.
            return [None if r is None else (Total.of(r), r.labels.work) for r in locals_]
        ok, vectors = self.policy.attempt(doing, self._gathered, encode_parts(locals_))
        if not ok or vectors is None:
            return None
        size = PART_LENGTH
        out: list[tuple[Total, float | None] | None] = []
        for i, local in enumerate(locals_):
            mine = [v[i * size : (i + 1) * size] for v in vectors]
            total = rankvector.combine_vectors([m[: rankvector.LENGTH] for m in mine])
            counted = [m[-1] for m in mine if m[-2] >= 0.5]
            work = None
            if counted:
                work = local.labels.work if self._work_global and local is not None else sum(counted)
            out.append(None if total is None else (total, work))
        return out

    def _gathered(self, vector: list[float]) -> list[list[float]]:
        return [vector] if self._gather is None else self._gather(vector)

    def _summed(self, local: EnergyRecord, total: Total, work: float | None = None) -> EnergyRecord:
        """The row for the whole job: this rank's labels, the ranks' summed figures and work."""
        if total.count <= 1 and not self.ranks.distributed:
            return local
        unit = local.labels.work_unit if work is not None else ""
        return as_record(total, local, rank=0, local_rank=0, world_size=max(total.count, self.ranks.world_size),
                         parameters={**local.labels.parameters, "summed_over_ranks": total.count}, work=work, work_unit=unit)

    def _labelled(self, record: EnergyRecord) -> EnergyRecord:
        r = self.ranks
        if (r.rank, r.local_rank, r.world_size) == (0, 0, 1):
            return record
        return record.relabel(rank=r.rank, local_rank=r.local_rank, world_size=r.world_size)

    def _write(self, record: EnergyRecord, *, every_rank: bool = False) -> None:
        if (every_rank or self.ranks.rank == 0) and self._tracker is not None:
            self._tracker.write(record)

    def _require_tracker(self) -> Tracker:
        if self._tracker is None or not self._tracker.running:
            raise StateError("the tracker is not running (it failed to start, or was stopped by its owner).")
        return self._tracker

    def _require_chain(self) -> Chain:
        self._require_tracker()
        if self._chain is None:
            raise StateError("no epoch is being measured (the tracker failed to start).")
        return self._chain


def _joined(pieces: list[EnergyRecord], like: EnergyRecord) -> EnergyRecord:
    """The train pieces of an epoch as one record (labelled ``train``), work added up."""
    works = [p.labels.work for p in pieces if p.labels.work is not None]
    return as_record(combine(pieces), like, window=TRAIN, stage=TRAIN, work=sum(works) if works else None,
                     work_unit=like.labels.work_unit if works else "")


def _encodable(record: EnergyRecord) -> bool:
    """Whether :func:`encode_parts` keeps every figure the keys show (it drops domains outside
    the vocabulary's), so that one process may skip it and get the same sums."""
    return all(domain in DOMAINS for domain in record.measurement.energy_kwh_by_domain)


#: Floats per record in the collectives: its figures (:mod:`~wattprint.core.rankvector`), then [has work, work].
PART_LENGTH = rankvector.LENGTH + 2


def encode_parts(records: list[EnergyRecord | None]) -> list[float]:
    """The records one rank sends in one collective call (:data:`PART_LENGTH` floats each)."""
    vector: list[float] = []
    for record in records:
        work = None if record is None else record.labels.work
        vector += rankvector.encode(None if record is None else Total.of(record)) + [float(work is not None), work or 0.0]
    return vector
