"""ECO2AI's ``Tracker`` and ``track``, measured by wattprint.

Code written for ECO2AI 0.3.x runs with one change, the import::

    import wattprint.eco2ai as eco2ai

    tracker = eco2ai.Tracker(project_name="YourProjectName", experiment_description="training the model")
    tracker.start()
    ...                     # your CPU and GPU calculations
    tracker.stop()          # one row appended to emission.csv, in ECO2AI's format

Behind it is a :class:`wattprint.Tracker`: energy counters where the machine has them,
estimates labelled as such where it does not, and wattprint's carbon tables, offline.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from wattprint.core.chain import Chain
from wattprint.core.errors import ConfigError
from wattprint.core.measurement import CPU, GPU
from wattprint.core.naming import PYTHON
from wattprint.core.record import EnergyRecord
from wattprint.core.settings import Settings
from wattprint.core.tracker import Tracker as CoreTracker
from wattprint.core.tracker import Window
from wattprint.eco2ai import params, regions
from wattprint.eco2ai.csvfile import Eco2aiCsv
from wattprint.eco2ai.errors import (
    IncorrectMethodSequenceError,
    NoCountryCodeError,
    NotNeededExtensionError,
)
from wattprint.eco2ai.pricing import Pricing

F = TypeVar("F", bound=Callable[..., Any])

# ECO2AI's names of wattprint's options, so messages name what the caller wrote.
_ALIASES = {"output_file": "file_name", "country": "alpha_2_code", "carbon_intensity": "emission_level",
            "scope": "cpu_processes"}
_CPU_PROCESSES = {"current": "process", "all": "machine"}


class Tracker:
    """ECO2AI's Tracker: ``start()``/``stop()`` for one row, or ``start_training()``,
    ``new_epoch(parameters_dict)`` and ``stop_training()`` for one row per epoch.

    Args (ECO2AI 0.3.12's, same defaults and meaning unless said):
        project_name, experiment_description: labels; None takes the remembered ones
            (:func:`~wattprint.eco2ai.set_params`).
        file_name: the CSV appended to (must end in ``.csv``); None: remembered, ``emission.csv``.
        measure_period: seconds between power samples (default 10). wattprint reads energy
            counters at the start and end of every row whatever the period; only sampled and
            estimated domains integrate at this period.
        emission_level: a fixed intensity in kg CO2 per MWh (the same number as g/kWh).
        alpha_2_code: the country (ISO 3166 alpha-2). Left out, ECO2AI asked ipinfo.io for the
            country of your IP address; wattprint never does: it locates the run from
            ``WATTPRINT_COUNTRY`` and the other settings ``wattprint info`` lists, then the
            time zone, then the world average with a warning.
        region: a region inside ``alpha_2_code``: a US state, Canadian province, Australian
            state or Russian federal subject by name (``"California"``), mapped to wattprint's
            figure for it (Russian regions to their grid zone); a region without one uses the
            country's figure, with one warning naming it.
        cpu_processes: ``"current"`` (default): this process tree's share of the host's energy;
            ``"all"``: the whole machine.
        pue: power usage effectiveness (default 1); energy in the file includes it, as in ECO2AI.
        encode_file: also write each row with every cell letter-shifted, as ECO2AI did, to
            ``"encoded_" + file_name`` (True) or to the ``.csv`` name given (ECO2AI ignored the
            name). The shift is an obfuscation anyone can undo, not encryption: do not rely on
            it to keep the figures private.
        electricity_pricing: ``{"8:30-19:00": 0.2, "19:00-8:30": 0.1}``, price per kWh by local
            time of day; fills the ``cost`` cell (``0`` without it).
        ignore_warnings: True silences the warnings given while this tracker is built, started
            and stopped (no location, no energy counter). Default False; ECO2AI's warning about
            VPNs is never given, since no IP address is looked up.
        timezone: accepted for ECO2AI code; ECO2AI's scheduler needed it, wattprint has none.

    Differences from ECO2AI, all on purpose: a row is appended once, when it is complete,
    instead of the whole file being rewritten at every sample; ``consumption()`` and
    ``price()`` after ``stop()`` return the last row's figures instead of 0; ``track`` stops its
    tracker once, so the function's own exception is the one raised.

    Raises:
        ConfigError (and ECO2AI's subclasses of it): bad arguments, at construction.
    """

    def __init__(
        self,
        project_name: str | None = None,
        experiment_description: str | None = None,
        file_name: str | os.PathLike[str] | None = None,
        measure_period: float | None = 10,
        emission_level: float | None = None,
        alpha_2_code: str | None = None,
        region: str | None = None,
        cpu_processes: str = "current",
        pue: float | None = 1,
        encode_file: str | bool | None = None,
        electricity_pricing: Mapping[str, float] | None = None,
        ignore_warnings: bool = False,
        timezone: str | bool = False,
    ) -> None:
        if not isinstance(ignore_warnings, bool):
            raise ConfigError(f"ignore_warnings= must be True or False, got {ignore_warnings!r}")
        self._ignore_warnings = ignore_warnings
        if timezone is not False and not isinstance(timezone, str):
            raise ConfigError(f"timezone= must be a time zone name such as 'Europe/Paris', got {timezone!r}")
        with self._warnings():
            self._build(project_name, experiment_description, file_name, measure_period, emission_level,
                        alpha_2_code, region, cpu_processes, pue, encode_file, electricity_pricing)

    def _build(self, project_name, experiment_description, file_name, measure_period, emission_level,
               alpha_2_code, region, cpu_processes, pue, encode_file, electricity_pricing) -> None:
        if file_name is not None:
            file_name = _csv_name(file_name, "file_name")
        if encode_file is not None and encode_file is not True:
            if not isinstance(encode_file, (str, os.PathLike)):
                raise TypeError(f"'encode_file' parameter should have str type, not {type(encode_file)}")
            encode_file = _csv_name(encode_file, "encode_file")
        if cpu_processes not in _CPU_PROCESSES:
            raise ConfigError(f"cpu_processes= must be 'current' or 'all', got {cpu_processes!r}")
        if region is not None and alpha_2_code is None:
            raise NoCountryCodeError("In order to set 'region' parameter, 'alpha_2_code' parameter should be set")
        self._pricing = Pricing(electricity_pricing) if electricity_pricing is not None else None

        # ECO2AI's remembered defaults fill what was not given, and what is used is remembered.
        stored = params.get_params()
        self.project_name = project_name if project_name is not None else stored.get("project_name")
        self.experiment_description = (experiment_description if experiment_description is not None
                                       else stored.get("experiment_description"))
        self.file_name = file_name if file_name is not None else _csv_name(stored.get("file_name") or "emission.csv",
                                                                          "file_name")
        self._measure_period = measure_period if measure_period is not None else stored.get("measure_period", 10)
        self._pue = pue if pue is not None else stored.get("pue", 1)

        options: dict[str, Any] = {
            "project_name": self.project_name,
            "experiment_description": self.experiment_description,
            "output_file": None,  # the rows go to ECO2AI's file below
            "measure_period": self._measure_period,
            "pue": self._pue,
            "scope": _CPU_PROCESSES[cpu_processes],
        }
        if emission_level is not None:
            options["carbon_intensity"] = emission_level
            self._country = f"({alpha_2_code}/{region})" if region is not None else f"({alpha_2_code or 'N/A'})"
        else:
            options.update(regions.resolve(alpha_2_code, region))
            self._country = f"{alpha_2_code}/{region}" if region is not None else alpha_2_code
        self._settings = Settings.build(options, naming=PYTHON.aliased(_ALIASES))

        sinks = [Eco2aiCsv(self.file_name, self._cells)]
        if encode_file is not None:
            path = encode_file if encode_file is not True else _encoded_name(self.file_name)
            sinks.append(Eco2aiCsv(path, self._cells, encoded=True, what="encode_file="))
        self._sinks = sinks
        self._core = self._first_core()
        self._remember()  # once every argument was accepted, as the ones to use next time
        if self._country is None:  # located by wattprint: say where, ECO2AI's way
            self._country = _place(self._core.intensity_source.current())
        import platform  # deferred: it is only needed once a tracker is made

        self._os = "MacOS" if platform.system() == "Darwin" else platform.system()
        self._mode = "first_time"
        self._chain: Chain | None = None
        self._live: Window | None = None
        self._last: EnergyRecord | None = None
        self._started = False

    def _first_core(self) -> CoreTracker:
        """The first wattprint tracker, with its location advice in ECO2AI's terms."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            core = CoreTracker(settings=self._settings, sinks=self._sinks)
        for w in caught:
            if issubclass(w.category, UserWarning) and "world average" in str(w.message):
                g = core.intensity_source.current().g_per_kwh
                warnings.warn(
                    f"wattprint.eco2ai: no location was given or detected, so CO2 uses the world average of {g:g} "
                    "gCO2e/kWh. ECO2AI looked the country up from your IP address; wattprint never goes online for "
                    "it: pass alpha_2_code='FR' (and region='California' inside it), set WATTPRINT_COUNTRY, or give "
                    "emission_level= (kg/MWh)", UserWarning, stacklevel=4)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return core

    def _remember(self) -> None:
        try:
            params.set_params(project_name=self.project_name, experiment_description=self.experiment_description,
                              file_name=self.file_name, measure_period=self._measure_period, pue=self._pue)
        except ConfigError as exc:  # remembering defaults is a convenience, never worth a run
            warnings.warn(f"wattprint.eco2ai: {exc}", RuntimeWarning, stacklevel=4)

    @contextlib.contextmanager
    def _warnings(self) -> Iterator[None]:
        if not self._ignore_warnings:
            yield
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield

    # -- running -------------------------------------------------------------------------

    def _fresh(self) -> CoreTracker:
        """A wattprint tracker not yet started (one per run: each start() is a new id)."""
        if self._started:
            self._core = CoreTracker(settings=self._settings, sinks=self._sinks)
        self._started = True
        return self._core

    def start(self) -> None:
        """Start measuring; ``stop()`` appends one row (``epoch`` ``N/A``)."""
        if self._mode == "training":
            raise IncorrectMethodSequenceError(
                'You have already run ".start_training" method. Please, use the interface for training: '
                '".start_training", ".new_epoch", and "stop_training"'
            )
        with self._warnings():
            self._finish_run()
            core = self._fresh()
            core.start()
            self._live = core.begin_window("eco2ai-live")  # what consumption() reads while running
        self._mode = "run time"

    def stop(self) -> None:
        """Stop and append the row; during training, the same as :meth:`stop_training`."""
        if self._mode == "training":
            self.stop_training()
            return
        if not self._core.running:
            raise IncorrectMethodSequenceError(
                "Need to first start the tracker by running tracker.start() or tracker.start_training()"
            )
        with self._warnings():
            self._finish_run()
        self._mode = "shut down"

    def _finish_run(self) -> None:
        """Write the row of a ``start()`` run still measuring."""
        if self._core.running and self._mode == "run time":
            if self._live is not None:
                self._core.discard_window(self._live)
                self._live = None
            self._last = self._core.stop()

    def start_training(self, start_epoch: int = 1) -> None:
        """Start measuring epochs, the first numbered ``start_epoch``; each ``new_epoch`` appends a row."""
        if not isinstance(start_epoch, int) or isinstance(start_epoch, bool):
            raise TypeError(f'"start_epoch" parameter must be of int type. Now, it is {type(start_epoch)}')
        with self._warnings():
            self._finish_run()
            if self._mode == "training":  # started again: the epoch under way is dropped, as in ECO2AI
                self._drop_training()
            core = self._fresh()
            core.start()
            self._chain = Chain(core, "epoch")
            self._chain.begin(start_epoch)
        self._mode = "training"

    def new_epoch(self, parameters_dict: Mapping[str, Any]) -> None:
        """Append the row of the epoch under way, with ``parameters_dict`` (``{"loss": 0.5}``), and start the next."""
        if self._mode != "training" or self._chain is None:
            raise IncorrectMethodSequenceError('You can run method ".new_epoch" only after method ".start_training" was run')
        if not isinstance(parameters_dict, Mapping):
            raise TypeError(f"parameters_dict must be a dict such as {{'loss': 0.5}}, got {type(parameters_dict).__name__}")
        index = self._chain.index
        self._last = self._chain.advance(parameters=dict(parameters_dict), next_index=None if index is None else index + 1)

    def stop_training(self) -> None:
        """Stop measuring epochs. Like ECO2AI, it writes nothing: the time since the last
        ``new_epoch`` belongs to no epoch."""
        if self._mode != "training":
            raise IncorrectMethodSequenceError('You should run ".start_training" method before ".stop_training" method')
        with self._warnings():
            self._drop_training()
        self._mode = "shut down"

    def _drop_training(self) -> None:
        if self._chain is not None:
            self._chain.drop()
            self._chain = None
        if self._core.running:
            self._core.stop()  # an ECO2AI file takes no run row (see Eco2aiCsv); a wattprint file does

    # -- ECO2AI's accessors --------------------------------------------------------------------

    def _current(self) -> EnergyRecord | None:
        """The row under way so far, or the last row written."""
        if self._core.running:
            if self._chain is not None and self._chain.open:
                return self._chain.read()
            if self._live is not None:
                return self._core.read_window(self._live)
        return self._last

    def consumption(self) -> float:
        """Energy in kWh (facility: IT x PUE) of the row under way, or of the last row written; 0 before any."""
        record = self._current()
        return 0.0 if record is None else record.facility_kwh

    def price(self) -> float:
        """Electricity cost of the row under way, or of the last row (0 without ``electricity_pricing``)."""
        record = self._current()
        return 0.0 if record is None else self._cost(record)

    def id(self) -> str | None:
        """The id of the current (or last) run's rows; None before the first start."""
        return self._core.run_id if self._started else None

    def emission_level(self) -> float:
        """The carbon intensity used, in kg CO2 per MWh (= g/kWh)."""
        return float(self._core.intensity_source.current().g_per_kwh)

    def measure_period(self) -> float:
        """Seconds between power samples."""
        return self._measure_period

    # -- the file's cells ----------------------------------------------------------------------

    def _cost(self, record: EnergyRecord) -> float:
        if self._pricing is None or record.start_time is None or record.end_time is None:
            return 0
        return self._pricing.cost(record.start_time.astimezone(), record.end_time.astimezone(), record.facility_kwh)

    def _cells(self, record: EnergyRecord) -> dict[str, str] | None:
        """ECO2AI's cells for ``record``; None for the records ECO2AI does not write (the run
        around training epochs, wattprint's own windows)."""
        labels = record.labels
        if labels.window == "run" and self._mode != "training":
            epoch = "N/A"
        elif labels.window == "epoch":
            epoch = f"epoch: {labels.index}, " + "".join(f"{k}: {v}, " for k, v in labels.parameters.items())
        else:
            return None
        start = labels.start_time.astimezone() if labels.start_time is not None else None
        return {
            "id": labels.run_id,
            "project_name": labels.project_name,
            "experiment_description": labels.experiment_description,
            "epoch": epoch,
            "start_time": start.strftime("%Y-%m-%d %H:%M:%S") if start is not None else "",
            "duration(s)": str(record.duration_s),
            "power_consumption(kWh)": str(record.facility_kwh),
            "CO2_emissions(kg)": str(record.co2_kg),
            "CPU_name": _cpu_cell(self._core),
            "GPU_name": _gpu_cell(self._core, labels.gpu_name),
            "OS": self._os,
            "region/country": self._country,
            "cost": str(self._cost(record)),
        }


def _csv_name(name: str | os.PathLike[str], what: str) -> str:
    text = os.fspath(name)
    if not isinstance(text, str) or not text:
        raise TypeError(f"'{what}' parameter should have str type, not {type(name)}")
    if not text.endswith(".csv"):
        raise NotNeededExtensionError(f"'{what}' name need to be with extension '.csv'")
    return text


def _encoded_name(file_name: str) -> str:
    head, tail = os.path.split(file_name)
    return os.path.join(head, "encoded_" + tail)


def _place(intensity: Any) -> str:
    """ECO2AI's ``region/country`` text for a location wattprint found: ``FR``, ``US/California``."""
    from wattprint.core.carbon.table import row_for

    row = row_for(intensity.key)
    if row is None:
        return intensity.name or intensity.key
    if row.kind == "country":
        return row.iso2 or row.key
    if row.kind == "region" and row.iso2:
        return f"{row.iso2}/{row.name}"
    return row.key


@functools.lru_cache(maxsize=1)
def _cpu_model() -> tuple[str, int, float]:
    """(model, sockets, TDP in W) of this machine's CPU: the table's TDP where the model is in
    it, else the per-thread figure the estimate uses times the threads."""
    from wattprint.core.sensors.cpu_info import cpu_info, read_host_cpu

    info = cpu_info()
    sockets = read_host_cpu().sockets or 1
    tdp = info.row.tdp_w if info.row is not None else round(info.w_per_thread * info.logical_cpus, 1)
    return info.model_raw, sockets, float(tdp)


def _cpu_cell(core: CoreTracker) -> str:
    if not any(s.domain == CPU for s in core.sensors):
        return ""
    try:
        model, sockets, tdp = _cpu_model()
    except (OSError, ValueError, LookupError):  # a label is not worth a row
        return ""
    return f"{model}/{sockets} device(s), TDP:{tdp}"


def _gpu_cell(core: CoreTracker, names: str) -> str:
    count = sum(1 for s in core.sensors if s.domain == GPU)
    return f"{names.split(', ')[0] if count else ''} {count} device(s)"


def track(func: F) -> F:
    """ECO2AI's decorator: each call of ``func`` runs between a new Tracker's ``start()`` and
    ``stop()``, with the remembered parameters (:func:`~wattprint.eco2ai.set_params`)."""

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        tracker = Tracker()
        tracker.start()
        try:
            return func(*args, **kwargs)
        finally:
            tracker.stop()

    return inner  # type: ignore[return-value]


