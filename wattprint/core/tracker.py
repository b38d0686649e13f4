"""Tracker: the orchestrator behind ``wattprint.Tracker`` and every framework callback.

It validates its settings at construction, discovers sensors at :meth:`Tracker.start`, runs
one sampler thread only if a sensor or a live intensity needs it, and turns pairs of meter
snapshots into :class:`EnergyRecord` s: the run (``start`` to ``stop``) and any number of
nested or overlapping windows (epochs, steps, phases).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from wattprint.core import signals, validate
from wattprint.core.carbon.pue import validate_price, validate_pue
from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.discovery import discover
from wattprint.core.distributed import RankInfo, rank_info
from wattprint.core.errors import StateError
from wattprint.core.meter import Meter, Snapshot
from wattprint.core.record import EnergyRecord
from wattprint.core.sampler import Sampler
from wattprint.core.sensors.base import CPU, GPU, Sensor
from wattprint.core.sinks import CsvSink, JsonlSink, Sink
from wattprint.core.units import J_PER_KWH, g_to_kg

log = logging.getLogger(__name__)


@dataclass(eq=False)  # windows are compared by identity
class Window:
    """An open window: its name, index, parameters and the snapshot it began with."""

    name: str
    index: int | None
    parameters: Mapping[str, Any]
    begin: Snapshot
    closed: bool = field(default=False)


class Tracker:
    """Measure energy and CO2e of whatever runs between :meth:`start` and :meth:`stop`.

    Args:
        project_name, experiment_description: labels written to every row.
        country, region, cloud: location keys for the grid's carbon intensity
            (``"FR"``, ``"US-CA"``, ``"aws:us-east-1"``); see ``wattprint intensity --list``.
        carbon_intensity: a fixed intensity in gCO2e/kWh, overriding the location.
        live: a live intensity provider name or object (opt-in; the only network use).
        pue: power usage effectiveness of the facility (>= 1.0), or a preset: ``"aws"``, ``"gcp"``, ``"azure"``, ``"industry"``.
        electricity_price, currency: price per kWh, to fill the ``cost`` column.
        output_file: CSV appended to (ECO2AI's 13 columns first); ``None`` for none.
        jsonl_file: optional JSON Lines file, one object per record.
        sinks: extra sinks (objects with ``write(record)`` and ``close()``).
        measure_period: sampler period in seconds (default 1.0).
        scope: ``"machine"`` (default) or ``"process"`` (this process tree's share of host energy).
        sensors: sensors to use instead of discovering them (tests, custom hardware).
        clock: time source (tests inject ``wattprint.testing.FakeClock``).
        intensity: an intensity source object instead of the location arguments.
        measure_host: whether this process measures CPU and RAM; default: local rank 0 only.
        gpu: whether to look for GPUs.
        ranks: this process's place in a multi-process job (:class:`wattprint.RankInfo`); default:
            read from the launcher's environment variables (torchrun, SLURM job steps, MPI).
            Pass it where processes are started without them (``torch.multiprocessing.spawn``):
            each rank then measures only the GPU ``local_rank`` selects.
        file_name, alpha_2_code, emission_level, cpu_processes: ECO2AI's names for
            ``output_file``, ``country``, ``carbon_intensity`` (kg/MWh = g/kWh) and ``scope``
            (``"current"`` = ``"process"``, ``"all"`` = ``"machine"``), so ECO2AI code runs as is.

    Raises:
        ConfigError, CarbonDataError: bad settings, at construction, before any work starts.
    """

    def __init__(
        self,
        project_name: str = "wattprint",
        experiment_description: str = "",
        *,
        country: str | None = None,
        region: str | None = None,
        cloud: str | None = None,
        carbon_intensity: float | None = None,
        live: Any = None,
        pue: float | str = 1.0,
        electricity_price: float | None = None,
        currency: str = "USD",
        output_file: str | os.PathLike[str] | None = "emissions.csv",
        jsonl_file: str | os.PathLike[str] | None = None,
        sinks: Sequence[Sink] = (),
        measure_period: float = 1.0,
        scope: str = "machine",
        sensors: Sequence[Sensor] | None = None,
        clock: Clock | None = None,
        intensity: Any = None,
        measure_host: bool | None = None,
        gpu: bool = True,
        environ: Mapping[str, str] | None = None,
        ranks: RankInfo | None = None,
        **eco2ai_names: Any,
    ) -> None:
        if eco2ai_names:
            from wattprint.core.eco2ai_names import translate

            passed = {"output_file": output_file != "emissions.csv", "country": country is not None,
                      "carbon_intensity": carbon_intensity is not None, "scope": scope != "machine"}
            renamed = translate(eco2ai_names, {name for name, given in passed.items() if given})
            output_file = renamed.get("output_file", output_file)
            country = renamed.get("country", country)
            carbon_intensity = renamed.get("carbon_intensity", carbon_intensity)
            scope = renamed.get("scope", scope)
        self.project_name = validate.name("project_name", project_name)
        self.experiment_description = validate.name("experiment_description", experiment_description)
        self.pue = validate_pue(pue)
        self.electricity_price = validate_price(electricity_price)
        self.currency = currency
        self.measure_period = validate.measure_period(measure_period)
        self.scope = validate.scope(scope)
        self._environ = os.environ if environ is None else environ
        self.ranks = rank_info(self._environ) if ranks is None else ranks
        self.measure_host = self.ranks.measures_host if measure_host is None else bool(measure_host)
        self.gpu = gpu
        self._clock = clock or SYSTEM_CLOCK
        self._given_sensors = list(sensors) if sensors is not None else None
        if intensity is None:
            from wattprint.core.carbon import resolve_source

            intensity = resolve_source(
                country=country,
                region=region,
                cloud=cloud,
                carbon_intensity=carbon_intensity,
                live=live,
                environ=self._environ,
            )
        elif any(v is not None for v in (country, region, cloud, carbon_intensity, live)):
            raise validate.ConfigError("pass either intensity= or location arguments (country, region, cloud, carbon_intensity, live), not both.")
        self.intensity_source = intensity
        self._sinks: list[Sink] = []
        if output_file is not None:
            self._sinks.append(CsvSink(output_file))
        if jsonl_file is not None:
            self._sinks.append(JsonlSink(jsonl_file))
        self._sinks.extend(sinks)
        self.output_file = output_file
        self.run_id = str(uuid.uuid4())
        self.notes: list[str] = []
        self._meter: Meter | None = None
        self._sampler: Sampler | None = None
        self._run: Window | None = None
        self._epoch: Window | None = None
        self._open: list[Window] = []  # windows begun and not yet ended, oldest first
        self._windows_lock = threading.Lock()
        self._epoch_index = 0
        self._stopped = False
        self._labels: dict[str, str] = {}
        self.last_record: EnergyRecord | None = None

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
            found = discover(
                scope=self.scope,
                clock=self._clock,
                measure_host=self.measure_host,
                gpu=self.gpu,
                ranks=self.ranks,
                environ=self._environ,
            )
            sensors, self.notes = found.sensors, found.notes
        self._meter = Meter(sensors, self.intensity_source, self._clock)
        self._labels = self._hardware_labels(sensors)
        self._sampler = Sampler(self._meter, self.measure_period, getattr(self.intensity_source, "refresh_s", None))
        with signals.critical():
            self._run = Window("run", None, {}, self._meter.snapshot())
        self._sampler.start()
        atexit.register(self._stop_at_exit)
        signals.register(self)
        return self

    def stop(self, *, interrupted: bool = False, write: bool = True) -> EnergyRecord:
        """Close the run: an open ECO2AI epoch first, then the run window. Returns the run record."""
        if self._run is None:
            raise StateError("stop() called on a Tracker that is not running; call start() first.")
        epoch, self._epoch = self._epoch, None
        if epoch is not None and not epoch.closed:
            self._end_if_open(epoch, interrupted)
        # Windows still open here were cut short (SIGTERM, an exception, a forgotten end):
        # keep their energy, marked interrupted, before the run row.
        for window in list(self._open):
            self._end_if_open(window, True)
        record = self.end_window(self._run, interrupted=interrupted, write=write)
        self.last_record = record
        self._shutdown()
        return record

    def _end_if_open(self, window: Window, interrupted: bool) -> None:
        try:
            self.end_window(window, interrupted=interrupted)
        except StateError:
            pass  # another thread closed it meanwhile: its record is that thread's

    def _shutdown(self) -> None:
        atexit.unregister(self._stop_at_exit)
        signals.unregister(self)
        if self._sampler is not None:
            self._sampler.stop()
        if self._meter is not None:
            self._meter.close()
        for sink in self._sinks:
            try:
                sink.close()
            except Exception as exc:  # a sink failing to close must not hide the record
                log.debug("closing sink %r failed: %s", sink, exc)
        self._run = None
        self._stopped = True

    def _stop_at_exit(self) -> None:
        # The interpreter is exiting with the tracker still running (an exception, sys.exit,
        # a framework without an exception hook): keep what was measured, marked interrupted.
        if self._run is not None:
            try:
                self.stop(interrupted=True)
            except Exception as exc:
                log.warning("wattprint: could not write the final record at exit: %s", exc)

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._run is not None:
            self.stop(interrupted=exc_type is not None)

    # -- windows ---------------------------------------------------------------------------

    def begin_window(self, name: str = "window", *, index: int | None = None, parameters: Mapping[str, Any] | None = None) -> Window:
        """Open a window now. Windows nest and overlap freely; close each with :meth:`end_window`."""
        meter = self._require_running()
        with signals.critical():  # the windows lock too: a handler must not wait on it
            window = Window(name, index, dict(parameters or {}), meter.snapshot())
            with self._windows_lock:
                self._open.append(window)
        return window

    def end_window(self, window: Window, *, interrupted: bool = False, write: bool = True) -> EnergyRecord:
        """Close ``window`` now and return its record; ``write`` sends it to the sinks too."""
        meter = self._require_running()
        with signals.critical():
            with self._windows_lock:  # one closer wins when threads (or stop()) race for a window
                if window.closed:
                    raise StateError(f"window {window.name!r} was already closed.")
                window.closed = True
                if window in self._open:
                    self._open.remove(window)
            record = self._record(window, meter.snapshot(), interrupted)
            if write:
                self.write(record)
        return record

    def read_window(self, window: Window) -> EnergyRecord:
        """The record of an open ``window`` so far; the window stays open and nothing is written."""
        meter = self._require_running()
        if window.closed:
            raise StateError(f"window {window.name!r} was already closed.")
        with signals.critical():
            return self._record(window, meter.snapshot(), interrupted=False)

    def discard_window(self, window: Window) -> None:
        """Forget an open window without a record (its energy stays in the enclosing windows)."""
        with signals.critical(), self._windows_lock:
            if window in self._open:
                self._open.remove(window)
            window.closed = True

    @contextmanager
    def window(self, name: str = "window", *, index: int | None = None, parameters: Mapping[str, Any] | None = None) -> Iterator[Window]:
        """``with tracker.window("epoch", index=3) as w: ...``; the record is then ``w.record``."""
        w = self.begin_window(name, index=index, parameters=parameters)
        try:
            yield w
        except BaseException:
            w.record = self.end_window(w, interrupted=True)  # type: ignore[attr-defined]
            raise
        w.record = self.end_window(w)  # type: ignore[attr-defined]

    def write(self, record: EnergyRecord) -> None:
        """Send a record to every sink. A failing sink warns; it never raises."""
        with signals.critical():  # a CSV append holds the file's lock
            for sink in self._sinks:
                try:
                    sink.write(record)
                except Exception as exc:
                    warnings.warn(f"wattprint: output {sink!r} failed: {exc}", RuntimeWarning, stacklevel=2)

    # -- ECO2AI's epoch API ------------------------------------------------------------------

    def start_training(self, start_epoch: int = 1) -> None:
        """ECO2AI compatibility: start the run and the first epoch, numbered ``start_epoch`` (ECO2AI's default 1)."""
        if isinstance(start_epoch, bool) or not isinstance(start_epoch, int):
            raise validate.ConfigError(f"start_epoch must be an int (the first epoch's number), got {start_epoch!r}.")
        if self._run is None:
            self.start()
        self._epoch_index = start_epoch
        self._epoch = self.begin_window("epoch", index=self._epoch_index)

    def new_epoch(self, parameters: Mapping[str, Any] | None = None, *, parameters_dict: Mapping[str, Any] | None = None) -> EnergyRecord:
        """ECO2AI compatibility: close the current epoch (one row, with ``parameters``) and open the next.

        ``parameters_dict`` is ECO2AI's name for ``parameters``.
        """
        if self._epoch is None:
            raise StateError("new_epoch() called before start_training().")
        if parameters is not None and parameters_dict is not None:
            raise validate.ConfigError("pass parameters or parameters_dict (ECO2AI's name), not both.")
        self._epoch.parameters = dict(parameters if parameters is not None else parameters_dict or {})
        record = self.end_window(self._epoch)
        self._epoch_index += 1
        self._epoch = self.begin_window("epoch", index=self._epoch_index)
        return record

    def stop_training(self) -> EnergyRecord:
        """ECO2AI compatibility: end training; the epoch opened by the last ``new_epoch`` is dropped."""
        if self._epoch is None:
            raise StateError("stop_training() called before start_training().")
        # ECO2AI rows are the epochs closed by new_epoch(); the tail after the last one is
        # still part of the run row.
        self.discard_window(self._epoch)
        self._epoch = None
        return self.stop()

    # -- helpers ---------------------------------------------------------------------------

    def _require_running(self) -> Meter:
        if self._run is None or self._meter is None:
            raise StateError("this Tracker is not running; call start() first (or use it as a context manager).")
        return self._meter

    def _hardware_labels(self, sensors: Sequence[Sensor]) -> dict[str, str]:
        gpu_names = sorted({s.name for s in sensors if s.domain == GPU})
        system, host, release = _uname()
        return {
            "cpu_name": _cpu_name(sensors),
            "gpu_name": ", ".join(gpu_names),
            "os": f"{system}-{release}",
            "host": host,
        }

    def _record(self, window: Window, end: Snapshot, interrupted: bool) -> EnergyRecord:
        assert self._meter is not None
        delta = self._meter.delta(window.begin, end)
        intensity = self._meter.intensity  # the latest reading; never a network call here
        energy_kwh = delta.energy_j / J_PER_KWH
        mean_g_per_kwh = delta.co2_g / energy_kwh if energy_kwh > 0 else float(intensity.g_per_kwh)
        return EnergyRecord(
            window=window.name,
            index=window.index,
            start_time=datetime.fromtimestamp(window.begin.t_wall, tz=timezone.utc),
            duration_s=delta.duration_s,
            energy_kwh_by_domain={d: j / J_PER_KWH for d, j in delta.energy_j_by_domain.items()},
            method_by_domain=dict(delta.method_by_domain),
            failed_domains=delta.failed_domains,
            co2_kg=g_to_kg(delta.co2_g * self.pue),
            intensity_g_per_kwh=mean_g_per_kwh,
            intensity_key=intensity.key,
            intensity_name=intensity.name,
            intensity_source=intensity.source,
            intensity_basis=intensity.basis,
            intensity_year=intensity.year,
            located_by=intensity.located_by,
            intensity_readings=delta.intensity_readings,
            pue=self.pue,
            electricity_price=self.electricity_price,
            currency=self.currency,
            project_name=self.project_name,
            experiment_description=self.experiment_description,
            run_id=self.run_id,
            scope=self.scope,
            rank=self.ranks.rank,
            local_rank=self.ranks.local_rank,
            world_size=self.ranks.world_size,
            interrupted=interrupted,
            parameters=dict(window.parameters),
            **self._labels,
        )


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
