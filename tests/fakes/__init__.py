"""Fakes for the hardware this test machine lacks: powercap trees, NVML, amdsmi, and a clock.

Each fake mirrors the real interface's names and units (``energy_uj`` in µJ, NVML energy in mJ
and power in mW, amdsmi power in W) so that the code under test cannot tell the difference.
"""

from __future__ import annotations


class FakeClock:
    """A clock that moves only when told to, by :meth:`advance` (seconds)."""

    def __init__(self, start: float = 100.0, wall_start: float = 1_767_225_600.0) -> None:
        self._mono = start
        self._wall_offset = wall_start - start

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._mono + self._wall_offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go backwards")
        self._mono += seconds
