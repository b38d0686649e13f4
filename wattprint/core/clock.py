"""Time sources. Durations always come from a monotonic clock; wall time only labels rows."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # the interface is for type checkers; nothing checks it at run time


class Clock(Protocol):
    """What the meter needs from a clock. ``wattprint.testing.FakeClock`` implements it."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""

    def time(self) -> float:
        """Wall-clock seconds since the Unix epoch (UTC); only used to label records."""


class SystemClock:
    """The real clock: ``time.monotonic`` for durations, ``time.time`` for labels."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


SYSTEM_CLOCK = SystemClock()
