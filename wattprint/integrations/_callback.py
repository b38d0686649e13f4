"""What the Lightning, Keras and Hugging Face ``EmissionsCallback`` share: arguments, properties, state, ``with``.

Each framework's class is ``EmissionsCallback(EmissionsCallbackBase, <the framework's Callback>)``
and adds only the translation of its framework's hooks into :class:`~._epochs.EpochRun` calls.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from wattprint.core.errors import ConfigError
from wattprint.core.settings import DEFAULT_OUTPUT_FILE, Settings, accepts_settings
from wattprint.integrations._epochs import EpochRun

if TYPE_CHECKING:
    from typing_extensions import Self

    from wattprint.core.record import EnergyRecord
    from wattprint.core.tracker import Tracker


def _name_not_a_location(init: Callable[..., None]) -> Callable[..., None]:
    """Refuse ``EmissionsCallback("FR")``: a location key given where the project name goes.

    Only ``project_name`` may be positional; a positional value that names a bundled country,
    region or cloud region was almost surely meant as the location, and would otherwise be
    silently taken as the project's name while CO2 used another grid.
    """

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        if args and isinstance(args[0], str):
            place = _location_named(args[0])
            if place is not None:
                cls, (kind, name) = type(self).__name__, place
                raise ConfigError(
                    f"{cls}({args[0]!r}): the first argument is the project's name, but {args[0]!r} reads as a "
                    f"location ({name}). For the location pass {cls}({kind}={args[0]!r}); "
                    f"if it is the project's name, pass project_name={args[0]!r}."
                )
        init(self, *args, **kwargs)

    return wrapper


def _location_named(text: str) -> tuple[str, str] | None:
    """The kind and name of the bundled location ``text`` names (``("country", "France (FR)")``), or None."""
    from wattprint.core.carbon.location import lookup_key
    from wattprint.core.carbon.table import row_for
    from wattprint.core.errors import (
        CarbonDataError,  # deferred with the tables it guards
    )

    try:
        found = lookup_key(text)
    except CarbonDataError:
        return None
    row = row_for(found.key)
    return (row.kind if row is not None else "country"), f"{found.name} ({found.key})"


class EmissionsCallbackBase:
    """Arguments of every ``EmissionsCallback``:

    Args:
        project_name: label of the CSV rows; the only positional argument (a location key given
            there, ``EmissionsCallback("FR")``, is refused: pass ``country="FR"``).
        experiment_description: label of the CSV rows.
        country, region, cloud: location keys for the grid's carbon intensity (``"FR"``,
            ``"US-CA"``, ``"aws:us-east-1"``); default: detected, see :class:`wattprint.Tracker`.
        pue: power usage effectiveness of the facility (>= 1.0; default 1.0), or a preset
            such as ``"aws"`` or ``"gcp"`` (see :class:`wattprint.Tracker`).
        output_file: CSV file appended to; ``None`` for none.
        prefix: prefix of every logged key.
        on_error: ``"warn"`` or ``"raise"``: what an error inside the callback does.
        step_rows: also write a CSV row for every logged step interval and every validation
            pass inside training (default False: the epoch and run rows hold their sum).
        log_every_n_steps: step intervals. None (default): on the framework's own logging
            cadence (Lightning's ``Trainer(log_every_n_steps)``, the HF ``logging_steps``;
            Keras has none, so none); 0: none; N: every N optimizer steps (Keras: batches).
        scope: ``"machine"`` (default) or ``"process"``: whose host energy is counted.
        prometheus_port, pushgateway_url, pushgateway_job, pushgateway_delete, otel,
            otel_endpoint, export_period: live exports while training runs, per process (see
            :class:`wattprint.Tracker`).
        tracker: a configured :class:`wattprint.Tracker` to use instead of the options above
            (it then serves one training; started and stopped by the callback unless already
            running). A Tracker does not pickle: with spawn-based launchers pass the options
            instead, and each process builds its own.
        settings: a :class:`wattprint.Settings` with the options above, instead of them.

    Raises:
        ConfigError, CarbonDataError: bad settings, at construction.
    """

    @_name_not_a_location
    @accepts_settings()
    def __init__(
        self,
        project_name: str = "wattprint",
        *,
        experiment_description: str = "",
        country: str | None = None,
        region: str | None = None,
        cloud: str | None = None,
        pue: float | str = 1.0,
        output_file: str | os.PathLike[str] | None = DEFAULT_OUTPUT_FILE,
        prefix: str = "emissions/",
        on_error: str = "warn",
        step_rows: bool = False,
        log_every_n_steps: int | None = None,
        scope: str = "machine",
        prometheus_port: int | str | None = None,
        pushgateway_url: str | None = None,
        pushgateway_job: str = "wattprint",
        pushgateway_delete: bool = False,
        otel: bool = False,
        otel_endpoint: str | None = None,
        export_period: float = 10.0,
        tracker: Tracker | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__()
        assert settings is not None  # given by accepts_settings
        self._run = EpochRun(settings, tracker)
        self._setup()

    def _setup(self) -> None:
        """The framework adapter's own state, set once the run exists."""

    @property
    def prefix(self) -> str:
        return self._run.prefix

    @property
    def tracker(self) -> Tracker | None:
        """The :class:`wattprint.Tracker` measuring the current (or next) training."""
        return self._run.tracker

    @property
    def run_record(self) -> EnergyRecord | None:
        """The run row of the last finished training (summed over ranks; None before one finished)."""
        return self._run.run_record

    @property
    def stage_record(self) -> EnergyRecord | None:
        """The row of the last standalone stage run (Lightning ``validate``/``test``/``predict``,
        Keras and HF ``evaluate``/``predict``; summed over ranks), or None before one finished."""
        return self._run.stage_record

    def state_dict(self) -> dict[str, Any]:
        """The totals, JSON-ready, the epoch in progress included: what a checkpoint keeps."""
        return self._run.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue the totals saved by :meth:`state_dict` in the next training."""
        self._run.load_state_dict(state_dict)

    # -- ``with callback: fit(...)``: a training that raised gets its interrupted rows at once --

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._run.exit(exc)
