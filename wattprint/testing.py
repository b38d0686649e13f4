"""Test doubles for your own tests: a clock you move by hand, a sensor of known power, a sink in memory.

    from wattprint.testing import FakeClock, FakeSensor, MemorySink
    clock = FakeClock()
    sink = MemorySink()
    tracker = Tracker(sensors=[FakeSensor("gpu", power_w=300.0, clock=clock)], clock=clock,
                      carbon_intensity=100.0, output_file=None, sinks=[sink])
    tracker.start(); clock.advance(3600); record = tracker.stop()
    assert record.energy_kwh == 0.3
"""

from __future__ import annotations

from wattprint.core.clock import Clock
from wattprint.core.errors import SensorError
from wattprint.core.measurement import COUNTER
from wattprint.core.record import EnergyRecord
from wattprint.core.sensors.base import Sensor


class FakeClock:
    """A clock that only moves when told: ``advance(seconds)``. Wall time starts at ``wall_start``."""

    def __init__(self, start: float = 1000.0, wall_start: float = 1_767_225_600.0) -> None:
        self._mono = start
        self._offset = wall_start - start

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._mono + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go backwards")
        self._mono += seconds

    def jump_wall(self, seconds: float) -> None:
        """Move only the wall clock (an NTP step); durations must not change."""
        self._offset += seconds


class FakeSensor(Sensor):
    """A sensor drawing a constant ``power_w`` watts, integrated on ``clock``.

    ``power_w`` can be changed between reads. ``fail_after`` makes every read after the
    first N raise :class:`SensorError`, as a lost GPU or a vanished sysfs file would.
    """

    def __init__(
        self,
        domain: str,
        *,
        power_w: float = 10.0,
        clock: Clock,
        method: str = COUNTER,
        name: str | None = None,
        key: str | None = None,
        needs_polling: bool = False,
        fail_after: int | None = None,
    ) -> None:
        super().__init__()
        self.domain = domain
        self.method = method
        self.name = name or f"fake {domain}"
        self.key = key or f"fake:{domain}:{id(self)}"
        self.needs_polling = needs_polling
        self.power_w = power_w
        self.reads = 0
        self.closed = False
        self._fail_after = fail_after
        self._clock = clock
        self._t = clock.monotonic()
        self._total_j = 0.0

    def _read_j(self) -> float:
        self.reads += 1
        if self._fail_after is not None and self.reads > self._fail_after:
            raise SensorError(f"{self.name}: device lost")
        now = self._clock.monotonic()
        self._total_j += self.power_w * (now - self._t)
        self._t = now
        return self._total_j

    def close(self) -> None:
        self.closed = True


class MemorySink:
    """Keeps every record written to it in ``records``."""

    def __init__(self) -> None:
        self.records: list[EnergyRecord] = []
        self.closed = False

    def write(self, record: EnergyRecord) -> None:
        self.records.append(record)

    def close(self) -> None:
        self.closed = True


__all__ = ["FakeClock", "FakeSensor", "MemorySink"]
