"""Tracker: the orchestrator behind ``wattprint.Tracker`` and every framework callback.

It takes validated :class:`~wattprint.core.settings.Settings`, discovers sensors at
:meth:`Tracker.start`, runs one sampler thread only if a sensor or a live intensity needs it,
and turns pairs of meter snapshots into :class:`EnergyRecord` s: the run (``start`` to
``stop``) and any number of nested or overlapping windows (epochs, steps, phases).
"""

from __future__ import annotations

import os
import threading
from collections import namedtuple
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from wattprint.core import exits, validate
from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.discovery import discover
from wattprint.core.distributed import RankInfo, job_run_id, random_run_id, rank_info
from wattprint.core.errors import ConfigError, StateError
from wattprint.core.footprint import Carbon
from wattprint.core.measurement import CPU, DOMAINS, GPU
from wattprint.core.meter import Meter, Snapshot
from wattprint.core.outputs import Delivery, Output, Outputs
from wattprint.core.record import EnergyRecord, Labels
from wattprint.core.sampler import Sampler
from wattprint.core.sensors.base import Sensor
from wattprint.core.settings import DEFAULT_OUTPUT_FILE, Settings, accepts_settings
from wattprint.core.sinks import CsvSink, JsonlSink

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    from wattprint.core.chain import Chain

#: The Tracker's arguments that are objects to use rather than options to validate.
COLLABORATORS = ("sinks", "sensors", "clock", "intensity", "environ")


@dataclass(eq=False)  # windows are compared by identity
class Window:
    """An open window: its name, index, parameters and the snapshot it began with.

    ``work`` is the units of work done in it (samples, tokens, requests: ``unit`` names
    them), set while it is open or when it closes; its record then carries the energy and
    CO2e per unit. ``stage`` says what part of the work it measured (``train``, ``predict``...).
    """

    name: str
    index: int | None
    parameters: Mapping[str, Any]
    begin: Snapshot
    closed: bool = field(default=False)
    stage: str = ""
    work: float | None = None
    unit: str = ""


class Opening(namedtuple("Opening", ("name", "index", "stage", "unit"), defaults=(None, "", ""))):
    """A window to open with :meth:`Tracker.split_windows`: its name, index and stage."""

    __slots__ = ()
    name: str
    index: int | None
    stage: str
    unit: str


class Tracker:
    """Measure energy and CO2e of whatever runs between :meth:`start` and :meth:`stop`.

    Args:
        project_name, experiment_description: labels written to every row.
        output_file: CSV appended to (default ``wattprint.csv``; ECO2AI's 13 columns first);
            ``None`` for none.
        jsonl_file: optional JSON Lines file, one object per record.
        country, region, cloud: location keys for the grid's carbon intensity
            (``"FR"``, ``"US-CA"``, ``"aws:us-east-1"``); see ``wattprint intensity --list``.
        carbon_intensity: a fixed intensity in gCO2e/kWh, overriding the location.
        live: a live intensity provider name or object (opt-in; the only network use).
        pue: power usage effectiveness of the facility (>= 1.0), or a preset: ``"aws"``, ``"gcp"``, ``"azure"``, ``"industry"``.
        electricity_price, currency: price per kWh, to fill the ``cost`` column.
        measure_period: sampler period in seconds (default 1.0).
        scope: ``"machine"`` (default) or ``"process"`` (this process tree's share of host energy).
        measure_host: whether this process measures CPU and RAM; default: local rank 0 only.
        gpu: whether to look for GPUs.
        ranks: this process's place in a multi-process job (:class:`wattprint.RankInfo`); default:
            read from the launcher's environment variables (torchrun, SLURM job steps, MPI).
            Pass it where processes are started without them (``torch.multiprocessing.spawn``):
            each rank then measures only the GPU ``local_rank`` selects.
        prometheus_port: serve live Prometheus metrics on this port (``"ADDRESS:PORT"`` to pick
            the interface; each process of a multi-process job adds its local rank). Extra ``prometheus``.
        pushgateway_url: push live Prometheus metrics to this Pushgateway (group: job, instance,
            run id); ``pushgateway_job`` names the job, ``pushgateway_delete`` deletes the group
            when the run stops. Credentials in the URL are never shown. Extra ``prometheus``.
        otel, otel_endpoint: export OpenTelemetry metrics over OTLP, configured by the standard
            ``OTEL_EXPORTER_OTLP_*`` variables, or to ``otel_endpoint``. Extra ``otel``.
        export_period: seconds between live exports (default 10), on the sampler thread.
        settings: a :class:`wattprint.Settings` holding the options above, instead of them.
        sinks: extra outputs (objects with ``write(record)`` and ``close()``).
        sensors: sensors to use instead of discovering them (tests, custom hardware).
        clock: time source (tests inject ``wattprint.testing.FakeClock``).
        intensity: an intensity source object instead of the location arguments.
        environ: environment to read ranks and location from, instead of ``os.environ``.

    ECO2AI's own names (``file_name=``, ``alpha_2_code=``, ...) are :mod:`wattprint.eco2ai`'s.

    Raises:
        ConfigError, CarbonDataError: bad settings, at construction, before any work starts.
    """

    @accepts_settings()
    def __init__(
        self,
        project_name: str = "wattprint",
        experiment_description: str = "",
        *,
        output_file: str | os.PathLike[str] | None = DEFAULT_OUTPUT_FILE,
        jsonl_file: str | os.PathLike[str] | None = None,
        country: str | None = None,
        region: str | None = None,
        cloud: str | None = None,
        carbon_intensity: float | None = None,
        live: Any = None,
        pue: float | str = 1.0,
        electricity_price: float | None = None,
        currency: str = "USD",
        measure_period: float = 1.0,
        scope: str = "machine",
        measure_host: bool | None = None,
        gpu: bool = True,
        ranks: RankInfo | None = None,
        prometheus_port: int | str | None = None,
        pushgateway_url: str | None = None,
        pushgateway_job: str = "wattprint",
        pushgateway_delete: bool = False,
        otel: bool = False,
        otel_endpoint: str | None = None,
        export_period: float = 10.0,
        settings: Settings | None = None,
        sinks: Sequence[Output] = (),
        sensors: Sequence[Sensor] | None = None,
        clock: Clock | None = None,
        intensity: Any = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        s = settings
        assert s is not None  # given by accepts_settings
        self.settings = s
        if environ is not None and not isinstance(environ, Mapping):
            raise ConfigError(f"environ= must be a mapping of names to values, got {type(environ).__name__}.")
        self._environ = os.environ if environ is None else environ
        self.ranks = rank_info(self._environ) if s.ranks is None else s.ranks
        self.measure_host = self.ranks.measures_host if s.measure_host is None else s.measure_host
        # The objects given are checked now, not when start() first uses them.
        self._clock = SYSTEM_CLOCK if clock is None else validate.provides(clock, "clock=", ("monotonic", "time"), "a clock")
        self._given_sensors = None if sensors is None else validate.objects(sensors, "sensors=", ("energy_j",), "a sensor")
        for i, sensor in enumerate(self._given_sensors or ()):
            if getattr(sensor, "domain", None) not in DOMAINS:
                raise ConfigError(f"sensors=[{i}] must have a domain (one of {', '.join(DOMAINS)}), got {sensor!r:.80}.")
        sinks = validate.objects(sinks, "sinks=", ("write", "close"), "an output")
        if intensity is not None:
            validate.provides(intensity, "intensity=", ("current",), "an intensity source")
        # Output files first: a path that cannot be written fails before any location warning.
        files: list[Output] = []
        if s.output_file is not None:
            files.append(CsvSink(s.output_file, what=s.naming("output_file")))
        if s.jsonl_file is not None:
            files.append(JsonlSink(s.jsonl_file, what=s.naming("jsonl_file")))
        self._outputs = Outputs([*files, *sinks, *_exporters(s)])
        location = {"country": s.country, "region": s.region, "cloud": s.cloud,
                    "carbon_intensity": s.carbon_intensity, "live": s.live}
        if intensity is None:
            from wattprint.core.carbon import resolve_source

            intensity = resolve_source(**location, environ=self._environ, naming=s.naming)
        elif any(v is not None for v in location.values()):
            raise ConfigError(f"pass either intensity= or location options ({s.spelled(*location)}), not both.")
        self.intensity_source = intensity
        self.run_id = random_run_id()
        self.notes: list[str] = []
        self.last_record: EnergyRecord | None = None
        #: Which outputs took the last record this tracker wrote.
        self.last_delivery: Delivery | None = None
        self._meter: Meter | None = None
        self._sampler: Sampler | None = None
        self._run: Window | None = None
        self._epochs: Chain | None = None  # ECO2AI's epoch API
        self._open: list[Window] = []  # windows begun and not yet ended, oldest first
        self._windows_lock = threading.Lock()
        self._stopped = False
        self._labels = Labels()

    # -- settings, read-only ----------------------------------------------------------------

    project_name = property(lambda self: self.settings.project_name)
    experiment_description = property(lambda self: self.settings.experiment_description)
    pue = property(lambda self: self.settings.pue)
    electricity_price = property(lambda self: self.settings.electricity_price)
    currency = property(lambda self: self.settings.currency)
    measure_period = property(lambda self: self.settings.measure_period)
    scope = property(lambda self: self.settings.scope)
    output_file = property(lambda self: self.settings.output_file)
    gpu = property(lambda self: self.settings.gpu)

    @property
    def sensors(self) -> tuple[Sensor, ...]:
        """The sensors this run reads (empty until :meth:`start`)."""
        return tuple(self._meter.sensors.values()) if self._meter is not None else ()

    @property
    def outputs(self) -> tuple[Output, ...]:
        """Where records go: the CSV and JSON Lines files, then the ``sinks`` given."""
        return self._outputs.outputs

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._run is not None

    def start(self) -> Tracker:
        """Discover sensors, take the first reading and start the sampler (if needed)."""
        if self._run is not None:
            raise StateError("this Tracker is already running; call stop() before start() again.")
        if self._stopped:
            raise StateError("this Tracker was stopped; create a new Tracker for a new run.")
        sensors = self._given_sensors
        if sensors is None:
            found = discover(scope=self.scope, clock=self._clock, measure_host=self.measure_host,
                             gpu=self.gpu, ranks=self.ranks, environ=self._environ)
            sensors, self.notes = found.sensors, found.notes
        self._meter = Meter(sensors, self.intensity_source, self._clock)
        if self.ranks.distributed:
            self.run_id = job_run_id(self._environ) or self.run_id
        self._labels = self._fixed_labels(sensors)
        self._outputs.begin_run(self._labels)  # local work only (a pull endpoint binds its port): no network wait
        live = bool(self._outputs.sampled)
        export_s = self.settings.export_period
        # Exports faster than the sampling period make the sampler tick at the export period.
        period_s = min(self.measure_period, export_s) if live else self.measure_period
        self._sampler = Sampler(self._meter, period_s, getattr(self.intensity_source, "refresh_s", None),
                                on_sample=self._sample if live else None, sample_s=export_s if live else None)
        with exits.critical():
            self._run = Window("run", None, {}, self._meter.snapshot())
        self._sampler.start()
        exits.register(self._close_at_exit, exits.TRACKER)
        return self

    def join_run(self, run_id: str) -> None:
        """Label this run's records with ``run_id`` (call it before any window closes).

        The processes of one distributed job share one run id, so that ``wattprint report``
        sums their rows as one run: the callbacks take rank 0's, and :meth:`start` derives one
        from the launcher's job id where it names one (torchrun, a SLURM job step).
        """
        self.run_id = run_id
        self._labels = replace(self._labels, run_id=run_id)

    def stop(self, *, interrupted: bool = False, write: bool = True, exit_status: int | None = None) -> EnergyRecord:
        """Close the run: an open ECO2AI epoch first, then the run window. Returns the run record.

        ``exit_status``: the exit status of the program the run measured (``wattprint run``
        records its command's), kept in the run row's ``exit_status`` column.
        """
        if self._run is None:
            raise StateError("stop() called on a Tracker that is not running; call start() first.")
        epochs, self._epochs = self._epochs, None
        if epochs is not None and epochs.open:
            self._quietly(lambda: epochs.close(interrupted=interrupted))
        # Windows still open here were cut short (SIGTERM, an exception, a forgotten end):
        # keep their energy, marked interrupted, before the run row.
        for window in list(self._open):
            self._quietly(lambda w=window: self.end_window(w, interrupted=True))
        record = self.end_window(self._run, interrupted=interrupted, write=False)
        if exit_status is not None:
            record = record.relabel(exit_status=exit_status)
        if write:
            self.write(record)
        self.last_record = record
        self._shutdown(final=record)
        return record

    @staticmethod
    def _quietly(close: Any) -> None:
        try:
            close()
        except StateError:
            pass  # another thread closed that window meanwhile: its record is that thread's

    def _shutdown(self, final: EnergyRecord | None = None) -> None:
        exits.unregister(self._close_at_exit)
        if self._sampler is not None:
            self._sampler.stop()
        if final is not None and self._outputs.sampled:
            # After the sampler stopped, so that no older sample can follow: exporters end on the run's figures.
            self._outputs.sample(final)
        if self._meter is not None:
            self._meter.close()
        self._outputs.close()
        self._run = None
        self._stopped = True

    def _close_at_exit(self) -> None:
        # The process is ending with the tracker still running (an exception, sys.exit,
        # SIGTERM, a framework without an exception hook): keep what was measured.
        if self._run is None:
            return
        if self._run.closed:  # told to end while stop() was under way: its records are out; close the outputs
            self._shutdown()
            return
        self.stop(interrupted=True)

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._run is not None:
            self.stop(interrupted=exc_type is not None)

    def _sample(self) -> bool:
        """The sampler thread's export tick: the run so far, to the outputs that take samples;
        True when the sensors were read for it."""
        run = self._run
        if run is None or run.closed:
            return False
        self._outputs.sample(self.read_window(run))
        return True

    # -- windows ---------------------------------------------------------------------------

    def begin_window(
        self,
        name: str = "window",
        *,
        index: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        stage: str = "",
        work: float | None = None,
        unit: str = "",
    ) -> Window:
        """Open a window now. Windows nest and overlap freely; close each with :meth:`end_window`.

        ``work``/``unit``: the units of work the window will cover (samples, tokens...), if known
        now; else set ``window.work`` or pass ``work=`` to :meth:`end_window`.

        Raises:
            ConfigError: a name, stage or unit that is not one line of text, an index that is not
                an integer, parameters that are not a dict or too large (see
                :mod:`wattprint.core.validate`), a work count that is not a finite count >= 0.
        """
        name, index = validate.window_name(name), validate.window_index(index)
        parameters = validate.parameters(parameters)
        stage, unit = validate.text(stage, "stage="), validate.text(unit or "", "unit=")
        meter = self._require_running()
        work = _checked_work(work)
        with exits.critical():  # the windows lock too: a handler must not wait on it
            window = Window(name, index, parameters, meter.snapshot(), stage=stage, work=work, unit=unit)
            with self._windows_lock:
                self._open.append(window)
        return window

    def end_window(
        self, window: Window, *, interrupted: bool = False, write: bool = True, work: float | None = None, unit: str | None = None
    ) -> EnergyRecord:
        """Close ``window`` now and return its record; ``write`` sends it to the outputs too.

        ``work`` (and its ``unit``) count the work done in the window: the record then carries
        ``energy_j_per_unit`` and ``co2_kg_per_unit``.
        """
        meter = self._require_running()
        work = _checked_work(work)
        unit = None if unit is None else validate.text(unit, "unit=")
        if work is not None:
            window.work = work
        if unit is not None:
            window.unit = unit
        with exits.critical():
            with self._windows_lock:
                self._claim(window)
            record = self._record(window, meter.snapshot(), interrupted)
            if write:
                self.write(record)
        return record

    def split_window(self, window: Window, *, index: int | None = None, write: bool = True) -> tuple[EnergyRecord, Window]:
        """Close ``window`` and open the next window of its name (numbered ``index``) at the same
        instant, from one reading: consecutive windows then add up exactly."""
        index = validate.window_index(index)
        opening = Opening(window.name, index, window.stage, window.unit)
        records, (following,) = self.split_windows([window], [opening], write=write)
        return records[0], following

    def split_windows(
        self, closing: Sequence[Window], opening: Sequence[Opening], *, write: bool = False
    ) -> tuple[list[EnergyRecord], list[Window]]:
        """Close every window of ``closing`` and open one window per ``opening``, all from one
        reading: windows that follow each other, and windows of several chains closing
        together (an epoch and its last step), then add up exactly."""
        meter = self._require_running()
        with exits.critical():
            with self._windows_lock:
                if any(w.closed for w in closing):
                    raise StateError("a window was already closed.")
                for window in closing:
                    self._claim(window)
                snapshot = meter.snapshot()
                following = [Window(o.name, o.index, {}, snapshot, stage=o.stage, unit=o.unit) for o in opening]
                self._open.extend(following)  # the newest: _open stays oldest first
            records = [self._record(window, snapshot, False) for window in closing]
            if write:
                for record in records:
                    self.write(record)
        return records, following

    def _claim(self, window: Window) -> None:
        """Mark ``window`` closed, under the windows lock: one closer wins when threads (or
        ``stop()``) race for a window."""
        if window.closed:
            raise StateError(f"window {window.name!r} was already closed.")
        window.closed = True
        if window in self._open:
            self._open.remove(window)

    def read_window(self, window: Window) -> EnergyRecord:
        """The record of an open ``window`` so far; the window stays open and nothing is written."""
        meter = self._require_running()
        if window.closed:
            raise StateError(f"window {window.name!r} was already closed.")
        with exits.critical():
            return self._record(window, meter.snapshot(), interrupted=False)

    def discard_window(self, window: Window) -> None:
        """Forget an open window without a record (its energy stays in the enclosing windows)."""
        with exits.critical(), self._windows_lock:
            if window in self._open:
                self._open.remove(window)
            window.closed = True

    @contextmanager
    def window(
        self,
        name: str = "window",
        *,
        index: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        stage: str = "",
        work: float | None = None,
        unit: str = "",
    ) -> Iterator[Window]:
        """``with tracker.window("epoch", index=3) as w: ...``; the record is then ``w.record``.

        Count the work inside the block with ``w.work = n`` (``unit=`` names it: ``"sample"``,
        ``"token"``, ``"request"``...): the record then carries ``energy_j_per_unit`` (J) and
        ``co2_kg_per_unit`` (kg).
        """
        w = self.begin_window(name, index=index, parameters=parameters, stage=stage, work=work, unit=unit)
        try:
            yield w
        except BaseException:
            w.record = self.end_window(w, interrupted=True)  # type: ignore[attr-defined]
            raise
        w.record = self.end_window(w)  # type: ignore[attr-defined]

    def write(self, record: EnergyRecord) -> Delivery:
        """Send a record to every output. A failing output warns once; this never raises.

        Returns which outputs took the record, which kept it to write later (a file locked by
        another process: ``held``) and which failed (also kept as :attr:`last_delivery`). A
        SIGINT or SIGTERM arriving meanwhile is handled once every output has had the record.
        """
        with exits.critical():  # a CSV append holds the file's lock
            delivery = self._outputs.deliver(record)
        self.last_delivery = delivery
        return delivery

    # -- ECO2AI's epoch API ------------------------------------------------------------------

    def start_training(self, start_epoch: int = 1) -> None:
        """ECO2AI compatibility: start the run and the first epoch, numbered ``start_epoch`` (ECO2AI's default 1)."""
        if isinstance(start_epoch, bool) or not isinstance(start_epoch, int):
            raise ConfigError(f"start_epoch= must be an int (the first epoch's number), got {start_epoch!r}.")
        from wattprint.core.chain import Chain  # deferred: only ECO2AI's epoch API needs it here

        if self._run is None:
            self.start()
        if self._epochs is not None:
            self._epochs.drop()
        self._epochs = Chain(self, "epoch")
        self._epochs.begin(start_epoch)

    def new_epoch(self, parameters: Mapping[str, Any] | None = None) -> EnergyRecord:
        """ECO2AI compatibility: close the current epoch (one row, with ``parameters``) and open the next."""
        if self._epochs is None:
            raise StateError("new_epoch() called before start_training().")
        index = self._epochs.index
        return self._epochs.advance(parameters=parameters or {}, next_index=None if index is None else index + 1)

    def stop_training(self) -> EnergyRecord:
        """ECO2AI compatibility: end training; the epoch opened by the last ``new_epoch`` is dropped."""
        if self._epochs is None:
            raise StateError("stop_training() called before start_training().")
        # ECO2AI rows are the epochs closed by new_epoch(); the tail after the last one is
        # still part of the run row.
        self._epochs.drop()
        self._epochs = None
        return self.stop()

    # -- records ---------------------------------------------------------------------------

    def _require_running(self) -> Meter:
        if self._run is None or self._meter is None:
            raise StateError("this Tracker is not running; call start() first (or use it as a context manager).")
        return self._meter

    def _fixed_labels(self, sensors: Sequence[Sensor]) -> Labels:
        """The labels every record of this run shares."""
        system, host, release = _uname()
        s, r = self.settings, self.ranks
        return Labels(
            project_name=s.project_name,
            experiment_description=s.experiment_description,
            run_id=self.run_id,
            scope=s.scope,
            host=host,
            rank=r.rank,
            local_rank=r.local_rank,
            world_size=r.world_size,
            cpu_name=_cpu_name(sensors),
            gpu_name=", ".join(sorted({x.name for x in sensors if x.domain == GPU})),
            os=f"{system}-{release}",
        )

    def _record(self, window: Window, end: Snapshot, interrupted: bool) -> EnergyRecord:
        assert self._meter is not None
        delta = self._meter.delta(window.begin, end)
        intensity = self._meter.intensity  # the latest reading; never a network call here
        s = self.settings
        carbon = Carbon(
            pue=s.pue,
            intensity_g_per_kwh=delta.mean_g_per_kwh if delta.mean_g_per_kwh is not None else float(intensity.g_per_kwh),
            electricity_price=s.electricity_price,
            currency=s.currency,
            intensity_key=intensity.key,
            intensity_name=intensity.name,
            intensity_source=intensity.source,
            intensity_basis=intensity.basis,
            intensity_year=intensity.year,
            located_by=intensity.located_by,
            intensity_readings=delta.intensity_readings,
        )
        labels = replace(self._labels, window=window.name, index=window.index, parameters=dict(window.parameters),
                         interrupted=interrupted, start_time=datetime.fromtimestamp(window.begin.t_wall, tz=timezone.utc),
                         stage=window.stage, work=window.work, work_unit=window.unit if window.work is not None else "")
        return EnergyRecord(labels, delta.measurement, carbon)  # the footprint is accounted from these


def _exporters(settings: Settings) -> list[Output]:
    """The live exporters ``settings`` ask for; their modules load only then."""
    from wattprint import export  # the package's own module is light

    return export.build(settings) if export.configured(settings) else []


def _checked_work(work: float | None) -> float | None:
    """A work count: a finite number >= 0 (samples, tokens, requests...), or None; ConfigError otherwise."""
    return None if work is None else validate.nonnegative(work, "work=", "(samples, tokens, requests...)")


def _uname() -> tuple[str, str, str]:
    """(system, host name, release) without ``platform.platform()``, which imports subprocess."""
    if hasattr(os, "uname"):
        u = os.uname()
        return u.sysname, u.nodename, u.release
    import platform  # deferred: only where os.uname is missing (Windows)

    return platform.system(), platform.node(), platform.release()


def _cpu_name(sensors: Sequence[Sensor]) -> str:
    """The CPU model for the ECO2AI ``CPU_name`` column ("" on ranks that do not measure the host)."""
    if not any(s.domain == CPU for s in sensors):
        return ""
    try:
        from wattprint.core.sensors.cpu_info import cpu_info

        return cpu_info().model_raw
    except Exception:  # a label is not worth failing a run over (and processor() may spawn uname)
        import platform

        return platform.machine()
