"""A chain of contiguous windows on a running Tracker: closing one opens the next at the same instant.

Epochs are measured this way by ECO2AI's epoch API (``start_training`` / ``new_epoch`` /
``stop_training``) and by every framework callback, so whatever runs between two epoch hooks
(validation, checkpoints) is charged to an epoch and the epochs add up to the training.

A window can be opened before its number is known (a framework tells the epoch only when it
begins): it is then *unnumbered*. A chain that stops while its open window is still unnumbered
-- between two epochs -- drops that window: no epoch had begun, and its time stays in the run.

Chains nest: the framework callbacks keep three on one run -- epochs, the stages inside them
(``train`` and ``validation`` pieces, one after another) and the step intervals -- and
:func:`advance_together` closes the epoch, its last stage piece and its last step interval from
one reading, opening the next of each at that same instant. So the steps of an epoch add up to
the epoch exactly, and so do its stages::

    run ⊃ epoch ⊃ stage ⊃ step       (each chain contiguous; every close of an outer one closes the inner ones)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wattprint.core import validate
from wattprint.core.errors import StateError
from wattprint.core.tracker import Opening

if TYPE_CHECKING:
    from wattprint.core.record import EnergyRecord
    from wattprint.core.tracker import Tracker, Window


class Chain:
    """Contiguous windows named ``name`` on ``tracker``; their records are labelled ``stage``
    and count their work in ``unit`` (when a work count is given)."""

    def __init__(self, tracker: Tracker, name: str = "epoch", *, stage: str = "", unit: str = "") -> None:
        self.tracker = tracker
        self.name = name
        self.stage = stage
        self.unit = unit
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
        o = self.opening(index=index)
        self._window = self.tracker.begin_window(o.name, index=index, stage=o.stage, unit=o.unit)

    def opening(self, name: str | None = None, index: int | None = None) -> Opening:
        """The next window of this chain, named ``name`` (default: the chain's name)."""
        name = name or self.name
        return Opening(name, index, name if self.stage == STAGES else self.stage, self.unit)

    def rename(self, name: str) -> None:
        """Rename the open window (and its stage, in a chain of stages or a chain named for its
        stage): for a framework that says what a span was only when it ends."""
        window = self._require()
        if self.stage in (STAGES, self.name):
            window.stage = name
        window.name = name

    @property
    def window_name(self) -> str | None:
        """The name of the open window (a stage chain's change), or None."""
        return None if self._window is None else self._window.name

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
        (record,) = advance_together([Move(self, index=index, parameters=parameters, next_index=next_index)], write=write)
        return record

    def close(self, *, interrupted: bool = False, write: bool = True, work: float | None = None) -> EnergyRecord:
        """Close the open window (``work`` units done in it) and open no other; returns its record."""
        window = self._require()
        self._window = None
        return self.tracker.end_window(window, interrupted=interrupted, write=write, work=work)

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


@dataclass(frozen=True)
class Move:
    """What :func:`advance_together` does to one chain: close its open window (numbered
    ``index``, with ``parameters`` and ``work`` if given), then open the next one -- named
    ``next_name`` (default: the chain's name), numbered ``next_index``. ``work`` is the units of work done in the closed window, in the chain's unit."""

    chain: Chain
    index: int | None = None
    parameters: Mapping[str, Any] | None = None
    work: float | None = None
    next_index: int | None = None
    next_name: str | None = None


def advance_together(moves: Sequence[Move], *, write: bool = False) -> list[EnergyRecord]:
    """Close the open window of every move's chain and open their next ones, all from one
    reading of the counters; returns the closed windows' records, in the order of ``moves``.

    The chains must share one tracker. ``write`` sends the records to its outputs.
    """
    if not moves:
        return []
    tracker = moves[0].chain.tracker
    closing, opening = [], []
    for move in moves:
        chain = move.chain
        if chain.tracker is not tracker:
            raise StateError("chains advanced together must measure on one tracker.")
        window = chain._require()
        if move.index is not None:
            window.index = validate.window_index(move.index)
        if move.parameters is not None:
            window.parameters = validate.parameters(move.parameters)
        if move.work is not None:
            window.work = float(move.work)
        closing.append(window)
        opening.append(chain.opening(move.next_name, move.next_index))
    for move in moves:
        move.chain._window = None
    records, opened = tracker.split_windows(closing, opening, write=write)
    for move, window in zip(moves, opened):
        move.chain._window = window
    return records


def begin_together(chains: Sequence[Chain], index: int | None = None) -> None:
    """Open the first window of every chain in ``chains`` that has none open, from one reading
    (numbered ``index``); a chain already open only takes the number."""
    fresh = [c for c in chains if not c.open]
    for chain in chains:
        if chain.open:
            chain.begin(index)
    if not fresh:
        return
    tracker = fresh[0].tracker
    openings = [c.opening(index=index) for c in fresh]
    _, opened = tracker.split_windows([], openings)
    for chain, window in zip(fresh, opened):
        chain._window = window


#: The ``stage`` of a chain whose windows are each labelled with their own name (``train``,
#: ``validation``...): a chain of stages.
STAGES = "*"
