"""Time sources. Durations always come from a monotonic clock; wall time only labels rows."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What the meter needs from a clock. ``wattprint.testing.FakeClock`` implements it."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the Unix epoch (UTC); only used to label records."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` for durations, ``time.time`` for labels."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


SYSTEM_CLOCK = SystemClock()
