"""A chain of contiguous windows on a running Tracker: closing one opens the next at the same instant.

Epochs are measured this way by ECO2AI's epoch API (``start_training`` / ``new_epoch`` /
``stop_training``) and by every framework callback, so whatever runs between two epoch hooks
(validation, checkpoints) is charged to an epoch and the epochs add up to the training.

A window can be opened before its number is known (a framework tells the epoch only when it
begins): it is then *unnumbered*. A chain that stops while its open window is still unnumbered
-- between two epochs -- drops that window: no epoch had begun, and its time stays in the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wattprint.core import validate
from wattprint.core.errors import StateError

if TYPE_CHECKING:
    from wattprint.core.record import EnergyRecord
    from wattprint.core.tracker import Tracker, Window


class Chain:
    """Contiguous windows named ``name`` on ``tracker``."""

    def __init__(self, tracker: Tracker, name: str = "epoch") -> None:
        self.tracker = tracker
        self.name = name
        self._window: Window | None = None

    @property
    def open(self) -> bool:
        """True while a window of the chain is open."""
        return self._window is not None

    @property
    def index(self) -> int | None:
        """The number of the open window (None: unnumbered, or none open)."""
        return None if self._window is None else self._window.index

    def begin(self, index: int | None = None) -> None:
        """Open the first window now, or number the one already open (it opened at the last close)."""
        if self._window is not None:
            self._window.index = validate.window_index(index)
            return
        self._window = self.tracker.begin_window(self.name, index=index)

    def advance(
        self,
        *,
        index: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        next_index: int | None = None,
        write: bool = True,
    ) -> EnergyRecord:
        """Close the open window (numbered ``index`` if given) and open the next, numbered ``next_index``.

        Returns the closed window's record; ``write`` sends it to the tracker's outputs.
        """
        window = self._require()
        if index is not None:
            window.index = validate.window_index(index)
        if parameters is not None:
            window.parameters = validate.parameters(parameters)
        self._window = None
        record, self._window = self.tracker.split_window(window, index=next_index, write=write)
        return record

    def close(self, *, interrupted: bool = False, write: bool = True) -> EnergyRecord:
        """Close the open window and open no other; returns its record."""
        window = self._require()
        self._window = None
        return self.tracker.end_window(window, interrupted=interrupted, write=write)

    def read(self) -> EnergyRecord:
        """The open window's record so far; it stays open and nothing is written."""
        return self.tracker.read_window(self._require())

    def drop(self) -> None:
        """Forget the open window: its energy stays in the run only."""
        window, self._window = self._window, None
        if window is not None:
            self.tracker.discard_window(window)

    def interrupt(self, *, write: bool = True) -> EnergyRecord | None:
        """Close the open window marked interrupted, if its epoch had begun (it is numbered);
        else drop it. Returns the interrupted record, or None."""
        window, self._window = self._window, None
        if window is None:
            return None
        if window.index is None:
            self.tracker.discard_window(window)
            return None
        return self.tracker.end_window(window, interrupted=True, write=write)

    def _require(self) -> Window:
        if self._window is None:
            raise StateError(f"no {self.name} window is open (it was never opened, or failed to open).")
        return self._window
