"""Epoch bookkeeping shared by the Lightning, Keras and Hugging Face callbacks.

The adapters only translate their framework's hooks into calls on one :class:`EpochRun`, so the
metric names, the totals, the prediction, the distributed policy and the error policy are the
same everywhere. No framework is imported here.

Epoch windows are contiguous: the first opens when training starts, and each epoch end closes
the open window and opens the next one at once, so whatever a framework runs between its epoch
hooks (validation, evaluation, checkpoints) is charged to an epoch and the epochs add up to the
training. The window left open after the last epoch (final evaluation, saving) is in the run
row only.

Distributed runs: every rank measures its own devices (host CPU and RAM only on local rank 0,
see ``Tracker(measure_host=...)``); at each epoch end the adapter's *reduce* function sums a
fixed-length vector of the ranks' figures with the framework's collective. Every rank calls it,
even a rank whose measurement failed (it sends zeros and a failure flag), so a sensor fault can
never leave the other ranks waiting in a collective. Only global rank 0 writes the summed rows.
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from wattprint.core.distributed import RankInfo as Ranks  # the framework's view of the same ranks
from wattprint.core.errors import ConfigError, StateError
from wattprint.core.metrics import epoch_metrics
from wattprint.core.sensors.base import COUNTER, CPU, ESTIMATED, GPU, RAM, SAMPLED

if TYPE_CHECKING:
    from wattprint.core.record import EnergyRecord
    from wattprint.core.tracker import Tracker, Window

log = logging.getLogger(__name__)

#: Sums a list of floats element-wise over all ranks; every rank must call it.
Reduce = Callable[[list[float]], list[float]]

ON_ERROR = ("warn", "raise")
DEFAULT_PREFIX = "emissions/"
DEFAULT_OUTPUT_FILE = "emissions.csv"
DEFAULT_PROJECT = "wattprint"

_T = TypeVar("_T")

#: Runs between start and end/fail, in this process.
_OPEN_RUNS: weakref.WeakSet[EpochRun] = weakref.WeakSet()


@dataclass
class Totals:
    """What the logged totals cover: summed over ranks, since training (or a resumed run) began.

    ``origin`` is the fraction of the planned training already done when these totals began
    (0 for a run measured from its start), so a prediction only extrapolates what was measured.
    """

    energy_kwh: float = 0.0
    co2_kg: float = 0.0
    epochs: int = 0
    last_epoch: int | None = None
    origin: float = 0.0

    def predicted_co2_kg(self, progress: float | None) -> float | None:
        """CO2e (kg) of the whole planned training: totals / fraction measured x fraction planned.

        ``progress`` is the fraction of the planned training done now (1.0 = all planned
        epochs or steps). None when the plan is unknown or nothing was measured yet.
        """
        if progress is None or self.epochs == 0 or not math.isfinite(progress):
            return None
        measured = progress - self.origin
        if measured <= 0:
            return None
        return self.co2_kg * (1.0 - self.origin) / measured

    def as_state(self) -> dict[str, Any]:
        return {
            "version": 1,
            "energy_kwh_total": self.energy_kwh,
            "co2_kg_total": self.co2_kg,
            "epochs": self.epochs,
            "last_epoch": self.last_epoch,
            "origin": self.origin,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Totals:
        if not isinstance(state, Mapping) or state.get("version") != 1:
            raise ConfigError(
                f"unknown emissions callback state {state!r}: written by another wattprint version; "
                "the totals start again from this run."
            )
        last = state.get("last_epoch")
        return cls(
            energy_kwh=float(state["energy_kwh_total"]),
            co2_kg=float(state["co2_kg_total"]),
            epochs=int(state["epochs"]),
            last_epoch=None if last is None else int(last),
            origin=float(state.get("origin", 0.0)),
        )


# -- the vector the ranks sum -----------------------------------------------------------------

_DOMAINS = (CPU, GPU, RAM)
_METHODS = (ESTIMATED, SAMPLED, COUNTER)
# Layout: [failed, ranks, co2_kg, duration_s, then per domain: energy_kwh, present, failed,
# one count per method]. Counts sum to "how many ranks had this", which is all a merge needs.
_HEAD = 4
_PER_DOMAIN = 3 + len(_METHODS)
VECTOR_LEN = _HEAD + _PER_DOMAIN * len(_DOMAINS)


def encode(record: EnergyRecord | None) -> list[float]:
    """One rank's figures as the fixed-length vector the ranks sum; ``None`` = this rank failed."""
    out = [0.0] * VECTOR_LEN
    out[1] = 1.0
    if record is None:
        out[0] = 1.0
        return out
    out[2] = float(record.co2_kg)
    out[3] = float(record.duration_s)
    for i, domain in enumerate(_DOMAINS):
        if domain not in record.energy_kwh_by_domain:
            continue
        base = _HEAD + i * _PER_DOMAIN
        out[base] = float(record.energy_kwh_by_domain[domain])
        out[base + 1] = 1.0
        out[base + 2] = 1.0 if domain in record.failed_domains else 0.0
        method = record.method_by_domain.get(domain, ESTIMATED)
        out[base + 3 + _METHODS.index(method if method in _METHODS else ESTIMATED)] = 1.0
    return out


@dataclass(frozen=True)
class Summed:
    """The ranks' figures after the sum: energy per domain, CO2e, mean duration, provenance."""

    failed: bool
    ranks: int
    co2_kg: float
    duration_s: float
    energy_kwh_by_domain: dict[str, float]
    method_by_domain: dict[str, str]
    failed_domains: tuple[str, ...]

    @property
    def energy_kwh(self) -> float:
        return sum(self.energy_kwh_by_domain.values())


def decode(vector: Sequence[float]) -> Summed:
    """Read a summed vector back; a domain's method is the weakest any rank reported."""
    if len(vector) != VECTOR_LEN:
        raise StateError(f"the reduce function returned {len(vector)} values, expected {VECTOR_LEN}.")
    ranks = max(1, round(vector[1]))
    energy: dict[str, float] = {}
    methods: dict[str, str] = {}
    failed: list[str] = []
    for i, domain in enumerate(_DOMAINS):
        base = _HEAD + i * _PER_DOMAIN
        if vector[base + 1] < 0.5:
            continue
        energy[domain] = float(vector[base])
        if vector[base + 2] >= 0.5:
            failed.append(domain)
        counts = vector[base + 3 : base + 3 + len(_METHODS)]
        methods[domain] = next(m for m, c in zip(_METHODS, counts) if c >= 0.5) if any(c >= 0.5 for c in counts) else ESTIMATED
    return Summed(
        failed=vector[0] >= 0.5,
        ranks=ranks,
        co2_kg=float(vector[2]),
        duration_s=float(vector[3]) / ranks,
        energy_kwh_by_domain=energy,
        method_by_domain=methods,
        failed_domains=tuple(failed),
    )


# -- the run ----------------------------------------------------------------------------------


#: The constructor arguments every framework callback shares, in the order of its signature.
SETTINGS = (
    "project_name",
    "experiment_description",
    "country",
    "region",
    "cloud",
    "pue",
    "output_file",
    "prefix",
    "on_error",
    "scope",
    "tracker",
)


class EpochRun:
    """One training run seen through epoch hooks: tracker lifecycle, totals, errors, resume.

    Constructor arguments are those every ``EmissionsCallback`` takes (see the adapters).
    Configuration is checked here, at construction: a bad location, PUE or output file raises
    :class:`~wattprint.ConfigError` / :class:`~wattprint.CarbonDataError` before training.

    ``on_error="warn"`` (default): an error inside the callback warns once (later ones go to
    the DEBUG log) and training goes on without that epoch's metrics. ``"raise"``: it propagates.
    Errors while recording a failed training never replace the training's own exception.
    """

    def __init__(
        self,
        *,
        project_name: str = DEFAULT_PROJECT,
        experiment_description: str = "",
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
        if on_error not in ON_ERROR:
            raise ConfigError(f"on_error must be 'warn' or 'raise', got {on_error!r}.")
        if not isinstance(prefix, str):
            raise ConfigError(f"prefix must be a string such as 'emissions/', got {prefix!r}.")
        self.on_error = on_error
        self.prefix = prefix
        if tracker is not None:
            from wattprint.core.tracker import Tracker

            if not isinstance(tracker, Tracker):
                raise ConfigError(
                    f"tracker must be a wattprint.Tracker, got {type(tracker).__name__}; pass "
                    "wattprint.Tracker(...) or leave tracker out and give the settings to the callback."
                )
            given = {
                "country": country is not None,
                "region": region is not None,
                "cloud": cloud is not None,
                "pue": pue is not None,
                "scope": scope is not None,
                "project_name": project_name != DEFAULT_PROJECT,
                "experiment_description": experiment_description != "",
                "output_file": output_file != DEFAULT_OUTPUT_FILE,
            }
            clashing = [k for k, v in given.items() if v]
            if clashing:
                raise ConfigError(
                    f"tracker= already carries its own settings; pass {', '.join(clashing)} to "
                    f"wattprint.Tracker(...) instead of the callback."
                )
            self._tracker_kwargs: dict[str, Any] | None = None
        else:
            kwargs: dict[str, Any] = {
                "project_name": project_name,
                "experiment_description": experiment_description,
                "country": country,
                "region": region,
                "cloud": cloud,
                "output_file": output_file,
            }
            if pue is not None:
                kwargs["pue"] = pue
            if scope is not None:
                kwargs["scope"] = scope
            self._tracker_kwargs = kwargs
            tracker = self._new_tracker(None)
        self._tracker: Tracker | None = tracker
        self._tracker_used = False  # a Tracker cannot be restarted: ours is rebuilt per training
        self._started_here = False
        self._window: Window | None = None
        self._active = False
        self._warned = False
        self.ranks = Ranks()
        self._thread = self._training = 0  # set by start(): who runs this training
        self.totals = Totals()
        self.run_record: EnergyRecord | None = None
        #: This process's own figures for the last epoch, before the sum over ranks.
        self.last_local: EnergyRecord | None = None

    # -- configuration -------------------------------------------------------------------

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> EpochRun:
        """Build from a callback constructor's ``locals()``: the :data:`SETTINGS`, by name.

        Each callback keeps the full signature (it is the framework user's documentation);
        this keeps the forwarding in one place.
        """
        return cls(**{name: arguments[name] for name in SETTINGS})

    @property
    def tracker(self) -> Tracker | None:
        """The Tracker measuring the current (or next) training."""
        return self._tracker

    @property
    def active(self) -> bool:
        """True between :meth:`start` and :meth:`end` / :meth:`fail`."""
        return self._active

    def _new_tracker(self, measure_host: bool | None, ranks: Ranks | None = None) -> Tracker:
        from wattprint.core.tracker import Tracker

        assert self._tracker_kwargs is not None
        return Tracker(**self._tracker_kwargs, measure_host=measure_host, ranks=ranks)

    def _tracker_for(self, measure_host: bool | None, ranks: Ranks | None = None) -> Tracker:
        if self._tracker_kwargs is None:  # the user's: used as given
            assert self._tracker is not None
            return self._tracker
        tracker = self._tracker
        if (
            tracker is None
            or self._tracker_used
            or (measure_host is not None and tracker.measure_host != measure_host)
            or (ranks is not None and tracker.ranks != ranks)
        ):
            tracker = self._tracker = self._new_tracker(measure_host, ranks)
        return tracker

    def __getstate__(self) -> dict[str, Any]:
        # Spawn-based launchers pickle callbacks: a Tracker we built is rebuilt from its
        # settings in the new process instead of being pickled with its sensors.
        state = dict(self.__dict__)
        if self._tracker_kwargs is not None and not self._active:
            state["_tracker"] = None
            state["_tracker_used"] = False
        return state

    # -- error policy ----------------------------------------------------------------------

    def attempt(self, what: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> tuple[bool, _T | None]:
        """Run ``fn`` under the error policy; returns ``(True, result)`` or ``(False, None)``."""
        try:
            return True, fn(*args, **kwargs)
        except Exception as exc:
            if self.on_error == "raise":
                raise
            self._report(what, exc)
            return False, None

    def _report(self, what: str, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"wattprint: {what} failed ({type(exc).__name__}: {exc}); training goes on, without "
                f"energy metrics where they could not be measured. Further errors of this callback "
                f"are logged at DEBUG level (logger {__name__!r}). Pass on_error='raise' to stop instead.",
                RuntimeWarning,
                stacklevel=3,
            )
        log.debug("wattprint: %s failed", what, exc_info=exc)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, ranks: Ranks | None = None, measure_host: bool | None = None, training: object = None) -> None:
        """Training starts: start the tracker (unless its owner already did) and the run.

        ``measure_host`` is whether this process measures CPU and RAM (local rank 0 in a
        distributed run); ``None`` lets the Tracker decide from the launcher's environment.
        A run left open by a training that died without telling us is closed first, marked
        interrupted: this callback's, and any other callback's started on this thread for
        another ``training`` (the framework object of this training: a thread runs one
        training at a time, so such a run is a dead one; without this its rows would take in
        every later training until the interpreter exits). Callbacks of the same training
        (two prefixes on one Trainer) are left alone.
        """
        thread, token = threading.get_ident(), id(training)
        for run in [r for r in _OPEN_RUNS if r is self or (r._thread == thread and r._training != token)]:
            run.fail()
        # The framework's ranks, not only the launcher's variables: Lightning's spawn-based
        # strategies set LOCAL_RANK alone, and each rank must still measure only its own GPU.
        self.ranks = ranks or Ranks()
        self._active = True
        self._thread, self._training = thread, token
        _OPEN_RUNS.add(self)
        # Decided before trying, so that a tracker failing to start on one rank still leaves
        # every rank making the same collective calls at the end.
        users_running = self._tracker_kwargs is None and self._tracker is not None and self._tracker.running
        self._started_here = not users_running
        self.attempt("starting the tracker", self._start_tracker, measure_host, ranks)
        # Registered after the tracker's own exit handler, so it runs first (atexit is LIFO)
        # and the partial epoch is closed while the tracker still runs.
        atexit.register(self._at_exit)

    def _start_tracker(self, measure_host: bool | None, ranks: Ranks | None) -> None:
        tracker = self._tracker_for(measure_host, ranks)
        if self._started_here:
            self._tracker_used = True
            tracker.start()

    def open_epoch(self, index: int | None = None) -> None:
        """An epoch begins: open a window if none is open, else label the open one ``index``.

        Windows are contiguous, so after the first epoch the window is already open (since the
        last epoch end) and only gets its index here.
        """
        if not self._active:
            return
        if self._window is not None:
            self._window.index = index
            return
        self.attempt("opening the epoch window", self._open_window, index)

    def _open_window(self, index: int | None) -> None:
        tracker = self._require_tracker()
        self._window = tracker.begin_window("epoch", index=index)

    def _require_tracker(self) -> Tracker:
        if self._tracker is None or not self._tracker.running:
            raise StateError("the tracker is not running (it failed to start, or was stopped by its owner).")
        return self._tracker

    def reset_totals(self, origin: float | None = 0.0) -> None:
        """Start new totals; ``origin`` = fraction of the planned training already done."""
        self.totals = Totals(origin=float(origin) if origin is not None and math.isfinite(origin) else 0.0)

    def epoch_end(self, index: int | None = None, *, progress: float | None = None, reduce: Reduce | None = None) -> dict[str, float] | None:
        """An epoch ended: close its window (opening the next), sum over ranks, write the row.

        ``progress`` is the fraction of the planned training done (for ``co2_kg_predicted``).
        ``reduce`` sums over ranks (distributed runs); it is called on every rank, whatever
        happened locally. Returns the metrics to log, or None when this epoch could not be
        measured on some rank (then no rank logs it).
        """
        if not self._active:
            return None
        local, vector = self._gather("measuring the epoch", lambda: self._close_epoch(index), "the epoch", reduce)
        self.last_local = local
        if vector is None:
            return None
        ok, metrics = self.attempt("recording the epoch", self._record_epoch, local, vector, index, progress)
        return metrics if ok else None

    def _gather(
        self, doing: str, measure: Callable[[], EnergyRecord], what: str, reduce: Reduce | None
    ) -> tuple[EnergyRecord | None, list[float] | None]:
        """This rank's record (None if measuring failed) and the vector summed over ranks (None
        if the sum failed). ``reduce`` is called on every rank, whatever happened locally, so
        that no rank waits in a collective the others skipped."""
        ok, local = self.attempt(doing, measure)
        local = local if ok else None
        vector: list[float] | None = encode(local)
        if reduce is not None:
            ok, vector = self.attempt(f"summing {what} over ranks", reduce, vector)
            if not ok:
                vector = None
        return local, vector

    def _close_epoch(self, index: int | None) -> EnergyRecord:
        tracker = self._require_tracker()
        window, self._window = self._window, None
        if window is None:
            raise StateError("no epoch window is open (the previous one failed to open).")
        if index is None:
            index = window.index
        record = tracker.end_window(window, write=False)
        # Unnumbered until the framework's next epoch begins (open_epoch): a training that
        # stops before then has no next epoch, and its tail is in the run row only.
        self._window = tracker.begin_window("epoch", index=None)
        return replace(record, index=index)

    def _record_epoch(
        self, local: EnergyRecord | None, vector: list[float], index: int | None, progress: float | None
    ) -> dict[str, float] | None:
        summed = decode(vector)
        if summed.failed or local is None:
            return None
        totals = self.totals
        totals.energy_kwh += summed.energy_kwh
        totals.co2_kg += summed.co2_kg
        totals.epochs += 1
        totals.last_epoch = index
        self._write(self._merged(local, summed))
        return epoch_metrics(
            prefix=self.prefix,
            energy_kwh=summed.energy_kwh,
            co2_kg=summed.co2_kg,
            energy_kwh_total=totals.energy_kwh,
            co2_kg_total=totals.co2_kg,
            duration_s=summed.duration_s,
            energy_kwh_by_domain=summed.energy_kwh_by_domain,
            co2_kg_predicted=totals.predicted_co2_kg(progress),
        )

    def end(self, *, reduce: Reduce | None = None) -> EnergyRecord | None:
        """Training finished: stop the tracker (if we started it) and write the run row.

        In a distributed run the run figures are summed over ranks too (``reduce`` is called
        on every rank). Returns the run record as written, or None.
        """
        if not self._active:
            return None
        self._active = False
        _OPEN_RUNS.discard(self)
        atexit.unregister(self._at_exit)
        if self._window is not None and self._tracker is not None:
            self._tracker.discard_window(self._window)  # the tail after the last epoch is in the run row only
        self._window = None
        if not self._started_here:
            return None  # the tracker's owner stops it and writes its run row
        self._started_here = False
        local, vector = self._gather("stopping the tracker", self._stop, "the run", reduce)
        if vector is None:
            return None
        ok, record = self.attempt("recording the run", self._record_run, local, vector)
        return record if ok else None

    def _stop(self) -> EnergyRecord:
        return self._require_tracker().stop(write=False)

    def _record_run(self, local: EnergyRecord | None, vector: list[float]) -> EnergyRecord | None:
        summed = decode(vector)
        if summed.failed or local is None:
            return None
        record = self._merged(local, summed)
        self._write(record)
        self.run_record = record
        return record

    def fail(self) -> None:
        """Training raised: write the partial epoch and the run row, both marked interrupted.

        No collective is called (other ranks may be gone), so each rank writes its own
        figures, labelled with its rank. Never raises: the training's exception is the one the
        user must see.
        """
        if not self._active:
            return
        self._active = False
        _OPEN_RUNS.discard(self)
        atexit.unregister(self._at_exit)
        window, self._window = self._window, None
        started_here = self._started_here
        self._started_here = False
        tracker = self._tracker
        if tracker is None or not tracker.running:
            return  # nothing was measured, or the tracker's own exit handler wrote its run row
        try:
            if window is not None and window.index is None and self.totals.epochs > 0:
                tracker.discard_window(window)  # between two epochs: no epoch was running
            elif window is not None:
                self._write(self._labelled(tracker.end_window(window, interrupted=True, write=False)), every_rank=True)
        except Exception as exc:  # noqa: BLE001 - the training's own exception must win
            self._report("recording the interrupted epoch", exc)
        try:
            if started_here:
                self._write(self._labelled(tracker.stop(interrupted=True, write=False)), every_rank=True)
        except Exception as exc:  # noqa: BLE001 - the training's own exception must win
            self._report("recording the interrupted run", exc)

    def _at_exit(self) -> None:
        # The interpreter exits while training is open: Keras and HF have no exception hook,
        # so this is how a crashed fit still gets its interrupted rows.
        self.fail()

    # -- records ---------------------------------------------------------------------------

    def _labelled(self, record: EnergyRecord) -> EnergyRecord:
        r = self.ranks
        if (r.rank, r.local_rank, r.world_size) == (0, 0, 1):
            return record
        return replace(record, rank=r.rank, local_rank=r.local_rank, world_size=r.world_size)

    def _merged(self, local: EnergyRecord, summed: Summed) -> EnergyRecord:
        """The row for the whole job: this rank's labels, the ranks' summed figures."""
        if summed.ranks <= 1 and not self.ranks.distributed:
            return local
        energy = summed.energy_kwh
        intensity = summed.co2_kg * 1000.0 / (energy * local.pue) if energy > 0 and local.pue > 0 else local.intensity_g_per_kwh
        return replace(
            local,
            energy_kwh_by_domain=dict(summed.energy_kwh_by_domain),
            method_by_domain=dict(summed.method_by_domain),
            failed_domains=summed.failed_domains,
            co2_kg=summed.co2_kg,
            duration_s=summed.duration_s,
            intensity_g_per_kwh=intensity,
            rank=0,
            local_rank=0,
            world_size=max(summed.ranks, self.ranks.world_size),
            parameters={**local.parameters, "summed_over_ranks": summed.ranks},
        )

    def _write(self, record: EnergyRecord, *, every_rank: bool = False) -> None:
        if (every_rank or self.ranks.rank == 0) and self._tracker is not None:
            self._tracker.write(record)

    # -- resume ----------------------------------------------------------------------------

    def state_dict(self, *, reduce: Reduce | None = None) -> dict[str, Any]:
        """The totals as a JSON-ready dict (what a checkpoint keeps), the open epoch included.

        Checkpoints are often saved mid-epoch (at a validation inside the epoch, every N steps,
        or before the epoch-end hook): counting the open epoch so far makes a resumed run
        continue from everything measured up to the checkpoint. The resumed run's row for that
        epoch then holds only what came after the resume. ``reduce`` sums the open epoch over
        ranks; in a distributed run every rank must call this, as checkpointing does.
        """
        state = self.totals.as_state()
        if not self._active:
            return state
        _, vector = self._gather("reading the open epoch", self._read_open_epoch, "the open epoch", reduce)
        if vector is None:
            return state
        summed = decode(vector)
        if not summed.failed:
            state["energy_kwh_total"] += summed.energy_kwh
            state["co2_kg_total"] += summed.co2_kg
        return state

    def _read_open_epoch(self) -> EnergyRecord:
        tracker = self._require_tracker()
        if self._window is None:
            raise StateError("no epoch window is open (the previous one failed to open).")
        return tracker.read_window(self._window)

    def load_state_dict(self, state: Mapping[str, Any]) -> bool:
        """Continue the totals of a checkpointed run; False (after a warning) if ``state`` is unreadable."""
        ok, totals = self.attempt("restoring the emissions totals from the checkpoint", Totals.from_state, state)
        if ok and totals is not None:
            self.totals = totals
            return True
        return False

    # -- context manager -------------------------------------------------------------------

    def exit(self, exc: BaseException | None) -> None:
        """For ``with callback: fit(...)``: a training that raised gets its interrupted rows now."""
        if exc is not None and self._active:
            self.fail()
