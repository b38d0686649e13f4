"""What the Lightning, Keras and Hugging Face ``EmissionsCallback`` share: arguments, properties, state, ``with``.

Each framework's class is ``EmissionsCallback(EmissionsCallbackBase, <the framework's Callback>)``
and adds only the translation of its framework's hooks into :class:`~._epochs.EpochRun` calls.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

from wattprint.core.settings import Settings, accepts_settings
from wattprint.integrations._epochs import EpochRun

if TYPE_CHECKING:
    from typing_extensions import Self

    from wattprint.core.record import EnergyRecord
    from wattprint.core.tracker import Tracker


class EmissionsCallbackBase:
    """Arguments of every ``EmissionsCallback``:

    Args:
        project_name, experiment_description: labels of the CSV rows.
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
        tracker: a configured :class:`wattprint.Tracker` to use instead of the options above
            (it then serves one training; started and stopped by the callback unless already
            running). A Tracker does not pickle: with spawn-based launchers pass the options
            instead, and each process builds its own.
        settings: a :class:`wattprint.Settings` with the options above, instead of them.

    Raises:
        ConfigError, CarbonDataError: bad settings, at construction.
    """

    @accepts_settings()
    def __init__(
        self,
        project_name: str = "wattprint",
        experiment_description: str = "",
        *,
        country: str | None = None,
        region: str | None = None,
        cloud: str | None = None,
        pue: float | str = 1.0,
        output_file: str | os.PathLike[str] | None = "emissions.csv",
        prefix: str = "emissions/",
        on_error: str = "warn",
        step_rows: bool = False,
        log_every_n_steps: int | None = None,
        scope: str = "machine",
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
