"""The epoch lifecycle every framework callback drives: start, epochs, end, failure, resume.

The adapters only translate their framework's hooks into calls on one :class:`EpochRun`; the
arithmetic lives in the core (the chain of windows, the sum over ranks, the running totals and
the metric keys). No framework is imported here.

Epoch windows are contiguous (:class:`~wattprint.core.chain.Chain`): the first opens when
training starts, and each epoch end closes the open window and opens the next one at once, so
whatever a framework runs between its epoch hooks (validation, evaluation, checkpoints) is
charged to an epoch and the epochs add up to the training. The window left open after the last
epoch (final evaluation, saving) is in the run row only.

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
from wattprint.core.chain import Chain
from wattprint.core.distributed import RankInfo
from wattprint.core.errors import ConfigError, StateError
from wattprint.core.merge import Total, as_record
from wattprint.core.metrics import epoch_metrics
from wattprint.core.policy import ErrorPolicy
from wattprint.core.progress import RunningTotals
from wattprint.core.record import EnergyRecord
from wattprint.core.settings import TRACKER_OPTIONS, Settings
from wattprint.core.tracker import Tracker

#: Collects one list of floats from every rank (this one's included), in rank order; every rank must call it.
Gather = Callable[[list[float]], list[list[float]]]


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
        #: This process's own record of the last epoch, before the sum over ranks.
        self.last_local: EnergyRecord | None = None

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

    def start(self, *, ranks: RankInfo | None = None, measure_host: bool | None = None, gather: Gather | None = None) -> None:
        """Training starts: start the tracker (unless its owner already did) and the run.

        ``measure_host`` is whether this process measures CPU and RAM (local rank 0 in a
        distributed run); ``None`` lets the Tracker decide from the launcher's environment.
        ``gather`` collects every rank's figures in a distributed run. A run of this callback
        left open by a training that died without telling it is closed first, marked interrupted.
        """
        self.fail()
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
        self._chain = Chain(tracker, "epoch")

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
        """An epoch begins: open its window, or number the one open since the last epoch's end."""
        if self._active:
            self.policy.attempt("opening the epoch window", lambda: self._require_chain().begin(index))

    def reset_totals(self, origin: float | None = 0.0) -> None:
        """Start new totals; ``origin`` = fraction of the planned training already done."""
        self.totals = RunningTotals.starting_at(origin)

    def epoch_end(self, index: int | None = None, *, progress: float | None = None) -> dict[str, float] | None:
        """An epoch ended: close its window (opening the next), sum over ranks, write the row.

        ``progress`` is the fraction of the planned training done (for ``co2_kg_predicted``).
        Returns the metrics to log, or None when this epoch could not be measured on some
        rank (then no rank logs it).
        """
        if not self._active:
            return None
        local, total = self._sum("measuring the epoch", lambda: self._require_chain().advance(index=index, write=False), "the epoch")
        self.last_local = local
        if local is None or total is None:
            return None
        ok, metrics = self.policy.attempt("recording the epoch", self._record_epoch, local, total, progress)
        return metrics if ok else None

    def _record_epoch(self, local: EnergyRecord, total: Total, progress: float | None) -> dict[str, float]:
        self.totals.add(total.measurement.energy_kwh, total.footprint.co2_kg, local.labels.index)
        self._write(self._summed(local, total))
        return epoch_metrics(self.prefix, total, self.totals, self.totals.predicted_co2_kg(progress))

    def end(self) -> EnergyRecord | None:
        """Training finished: stop the tracker (if we started it) and write the run row.

        In a distributed run the run figures are summed over ranks too (every rank calls the
        gather). Returns the run record as written, or None.
        """
        was_running, chain = self._close()
        if not was_running:
            return None
        if chain is not None and chain.open:
            chain.drop()  # the tail after the last epoch is in the run row only
        if not self._started_here:
            return None  # the tracker's owner stops it and writes its run row
        local, total = self._sum("stopping the tracker", lambda: self._require_tracker().stop(write=False), "the run")
        if local is None or total is None:
            return None
        ok, record = self.policy.attempt("recording the run", self._record_run, local, total)
        return record if ok else None

    def _record_run(self, local: EnergyRecord, total: Total) -> EnergyRecord:
        record = self._summed(local, total)
        self._write(record)
        self.run_record = record
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
        was_running, chain = self._close()
        if not was_running:
            return
        tracker = self._tracker
        if tracker is None or not tracker.running:
            return  # nothing was measured, or the tracker's owner already wrote its run row
        try:
            record = chain.interrupt(write=False) if chain is not None else None
            if record is not None:
                self._write(self._labelled(record), every_rank=True)
        except Exception as exc:  # noqa: BLE001 - the training's own exception must win
            self.policy.report("recording the interrupted epoch", exc)
        try:
            if self._started_here:
                self._write(self._labelled(tracker.stop(interrupted=True, write=False)), every_rank=True)
        except Exception as exc:  # noqa: BLE001 - the training's own exception must win
            self.policy.report("recording the interrupted run", exc)

    def exit(self, exc: BaseException | None) -> None:
        """For ``with callback: fit(...)``: a training that raised gets its interrupted rows now."""
        if exc is not None:
            self.fail()

    def _close(self) -> tuple[bool, Chain | None]:
        """Mark the run over. Returns whether it was running, and its chain of epochs to finish."""
        if not self._active:
            return False, None
        self._active = False
        exits.unregister(self.fail)
        chain, self._chain = self._chain, None
        return True, chain

    # -- resume ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The totals as a JSON-ready dict (what a checkpoint keeps), the open epoch included.

        Checkpoints are often saved mid-epoch (at a validation inside the epoch, every N steps,
        or before the epoch-end hook): counting the open epoch so far makes a resumed run
        continue from everything measured up to the checkpoint. The resumed run's row for that
        epoch then holds only what came after the resume. In a distributed run every rank must
        call this, as checkpointing does: the open epoch is summed over ranks.
        """
        if not self._active:
            return self.totals.as_state()
        _, total = self._sum("reading the open epoch", lambda: self._require_chain().read(), "the open epoch")
        if total is None:
            return self.totals.as_state()
        return self.totals.as_state(open_energy_kwh=total.measurement.energy_kwh, open_co2_kg=total.footprint.co2_kg)

    def load_state_dict(self, state: Mapping[str, Any]) -> bool:
        """Continue the totals of a checkpointed run; False (after a warning) if ``state`` is unreadable."""
        ok, totals = self.policy.attempt("restoring the emissions totals from the checkpoint", RunningTotals.from_state, state)
        if ok and totals is not None:
            self.totals = totals
            return True
        return False

    # -- the sum over ranks ----------------------------------------------------------------

    def _sum(self, doing: str, measure: Callable[[], EnergyRecord], what: str) -> tuple[EnergyRecord | None, Total | None]:
        """This rank's record (None if measuring failed) and the sum over ranks (None if any
        rank failed, or the gather did). The gather runs on every rank, whatever happened
        locally, so that no rank waits in a collective the others skipped."""
        ok, local = self.policy.attempt(doing, measure)
        vector = rankvector.encode(Total.of(local) if ok and local is not None else None)
        ok, total = self.policy.attempt(f"summing {what} over ranks", self._gathered, vector)
        return local, total if ok else None

    def _gathered(self, vector: list[float]) -> Total | None:
        return rankvector.combine_vectors([vector] if self._gather is None else self._gather(vector))

    def _summed(self, local: EnergyRecord, total: Total) -> EnergyRecord:
        """The row for the whole job: this rank's labels, the ranks' summed figures."""
        if total.count <= 1 and not self.ranks.distributed:
            return local
        return as_record(total, local, rank=0, local_rank=0, world_size=max(total.count, self.ranks.world_size),
                         parameters={**local.labels.parameters, "summed_over_ranks": total.count})

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
