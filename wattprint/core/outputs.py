"""Where a Tracker's records go, each output's failure kept apart and reported back to the caller.

An output is any object with ``write(record)`` and ``close()`` (the CSV and JSON Lines sinks,
:class:`wattprint.testing.MemorySink`, your own). :meth:`Outputs.deliver` hands a record to
each; one that raises does not stop the others, warns once (later failures of the same output
go to the DEBUG log), and is named in the :class:`Delivery` returned, so the caller knows
which outputs hold the record. An output that raises :class:`OutputBusy` has kept the record
to write later (a file locked by another process): it is named as ``held``, not failed. An
output that cannot close (rows it still held) warns: a gap in a file is never silent.

An output may also take live *samples*: with a ``write_sample(record)`` method it is handed the
record of the run so far at each export tick of the sampler thread and when the run stops
(:meth:`Outputs.sample`; the exporters of :mod:`wattprint.export`), and with ``begin_run(labels)``
it is told when the run starts (:meth:`Outputs.begin_run`). Their failures are isolated and
reported the same way.
"""

from __future__ import annotations

import warnings
from collections import namedtuple
from collections.abc import Iterable

from wattprint._log import getLogger
from wattprint.core.record import EnergyRecord, Labels

log = getLogger(__name__)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # the interface is for type checkers; nothing checks it at run time


class OutputBusy(OSError):
    """Raised by an output that could not write now and kept the record to write later."""


class OutputNotOnDisk(OSError):
    """Raised by an output that wrote the record (it is in the file) but could not confirm it on
    disk in time: it survives a crash of the process, not yet one of the machine."""


class Output(Protocol):
    """Anything that accepts records. ``close()`` releases resources."""

    def write(self, record: EnergyRecord) -> None: ...

    def close(self) -> None: ...


def name_of(output: object) -> str:
    """How messages name an output: its ``name`` (a file path for the sinks), else its repr."""
    name = getattr(output, "name", None)
    return name if isinstance(name, str) and name else repr(output)


class Delivery(namedtuple("Delivery", ("written", "failed", "held"), defaults=((), (), ()))):
    """Which outputs took a record (``written``), which kept it to write later (``held``) and
    which failed, with why (``failed``)."""

    __slots__ = ()
    written: tuple[Output, ...]
    failed: tuple[tuple[Output, str], ...]
    held: tuple[Output, ...]

    @property
    def ok(self) -> bool:
        """True when every output took the record."""
        return not self.failed and not self.held

    def wrote(self, output: object) -> bool:
        return any(o is output for o in self.written)


class Outputs:
    """The outputs of one Tracker, in order."""

    def __init__(self, outputs: Iterable[Output]) -> None:
        self.outputs: tuple[Output, ...] = tuple(outputs)
        self._warned: set[int] = set()
        self._closed = False

    @property
    def sampled(self) -> tuple[Output, ...]:
        """The outputs that take live samples."""
        return tuple(o for o in self.outputs if callable(getattr(o, "write_sample", None)))

    def deliver(self, record: EnergyRecord) -> Delivery:
        """Write ``record`` to every output; never raises."""
        return self._each(self.outputs, "write", record)

    def sample(self, record: EnergyRecord) -> Delivery:
        """Hand the run-so-far ``record`` to every output that takes samples; never raises."""
        return self._each(self.sampled, "write_sample", record)

    def begin_run(self, labels: Labels) -> Delivery:
        """The run starts, with these labels: outputs with a ``begin_run(labels)`` method prepare
        (a pull endpoint binds its port); never raises."""
        return self._each(tuple(o for o in self.outputs if callable(getattr(o, "begin_run", None))), "begin_run", labels)

    def _each(self, outputs: tuple[Output, ...], method: str, record: EnergyRecord | Labels) -> Delivery:
        written: list[Output] = []
        failed: list[tuple[Output, str]] = []
        held: list[Output] = []
        for output in outputs:
            try:
                getattr(output, method)(record)
            except OutputBusy as exc:
                held.append(output)
                self._report(output, exc, kept=True)
            except OutputNotOnDisk as exc:
                written.append(output)
                self._report(output, exc, kept=True)
            except Exception as exc:  # one output's fault must neither stop the others nor training
                failed.append((output, f"{type(exc).__name__}: {exc}"))
                self._report(output, exc)
            else:
                written.append(output)
        if held and self._closed:  # written after close (a callback's final row): no later close would flush it
            for output in held:
                self._close(output)
        return Delivery(tuple(written), tuple(failed), tuple(held))

    def _report(self, output: Output, exc: Exception, *, kept: bool = False) -> None:
        if id(output) in self._warned:
            log.debug("wattprint: %s failed again: %s", name_of(output), exc)
            return
        self._warned.add(id(output))
        consequence = ("" if kept else
                       "; records are still returned and logged, but this output will miss them")
        warnings.warn(
            f"wattprint: could not write to {name_of(output)} ({exc}){consequence}.",
            RuntimeWarning,
            stacklevel=4,
        )

    def close(self) -> None:
        self._closed = True
        for output in self.outputs:
            self._close(output)

    @staticmethod
    def _close(output: Output) -> None:
        try:
            output.close()
        except Exception as exc:  # never raises: the record is returned anyway; but say what is missing
            warnings.warn(f"wattprint: closing {name_of(output)} failed: {exc}", RuntimeWarning, stacklevel=5)
