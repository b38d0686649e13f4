"""The sensor interface every energy source implements.

A sensor reports **cumulative energy in joules** for one *domain* (``cpu``, ``gpu``, ``ram``;
the vocabulary is :mod:`wattprint.core.measurement`'s) since it was created. The meter takes two readings to make a window, so a sensor never needs to
know about windows. How the joules were obtained is its ``method``:

* ``counter``   -- a hardware energy counter (RAPL ``energy_uj``, NVML total energy, amdsmi);
* ``sampled``   -- a hardware *power* reading integrated over time by the sampler;
* ``estimated`` -- a model (TDP table x load curve, W/GB x memory used).

Sensors are read from two threads (the sampler and the caller closing a window), so
:meth:`Sensor.energy_j` takes a lock around the subclass's read.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import SensorError
from wattprint.core.measurement import ESTIMATED, SAMPLED


class Sensor(ABC):
    """One source of cumulative energy (J) for one domain.

    Subclasses set ``domain``, ``method``, ``name`` (for humans, e.g. ``"RAPL package-0"``) and
    ``key`` (unique within a meter, e.g. ``"rapl:intel-rapl:0"``), and implement :meth:`_read_j`.
    ``needs_polling`` is true when the sampler must read the sensor every period: power
    integration, load sampling or counter wraparound. ``note`` says why this method was chosen.
    """

    domain: str = ""
    method: str = ESTIMATED
    name: str = ""
    key: str = ""
    needs_polling: bool = False
    note: str = ""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def energy_j(self) -> float:
        """Cumulative energy in joules since this sensor was created.

        Raises :class:`~wattprint.core.errors.SensorError` when the source cannot be read.
        """
        with self._lock:
            return self._read_j()

    @abstractmethod
    def _read_j(self) -> float:
        """Read the source now and return cumulative joules (called with the lock held)."""

    def close(self) -> None:
        """Release handles (files, libraries). Idempotent."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key or self.name} {self.domain}/{self.method}>"


class UnavailableSensor(Sensor):
    """A domain whose sensor could not even be created: every read raises, so the meter
    reports the domain as failed (with a warning) and the other domains are measured."""

    def __init__(self, domain: str, reason: str) -> None:
        super().__init__()
        self.domain = domain
        self.name = f"{domain} (unavailable)"
        self.key = f"unavailable:{domain}"
        self.note = reason

    def _read_j(self) -> float:
        raise SensorError(self.note)


class Unwrapper:
    """Turns a wrapping hardware counter into a cumulative one.

    ``max_range`` is the value at which the raw counter wraps to zero (RAPL
    ``max_energy_range_uj``), in the counter's own unit. Correct as long as the counter is read
    at least once per wrap period; the sampler guarantees that for sensors with
    ``needs_polling``. With ``max_range=None`` a decrease is treated as a reset (NVML's counter
    restarts at driver reload): the new raw value counts from zero.
    """

    def __init__(self, first_raw: float, max_range: float | None) -> None:
        self._last = first_raw
        self._max_range = max_range
        self.total = 0.0
        self.wraps = 0

    def update(self, raw: float) -> float:
        """Feed a new raw reading; return the cumulative increase since the first reading."""
        delta = raw - self._last
        if delta < 0:
            self.wraps += 1
            delta = delta + self._max_range if self._max_range else raw
        self._last = raw
        self.total += delta
        return self.total


class IntegratingSensor(Sensor):
    """A sensor whose energy is integrated in software between reads.

    Subclasses implement :meth:`_energy_since_j`, the joules used in the interval that just
    ended. Used for power-only hardware and for the estimate models. ``needs_polling`` is true:
    the sampler reads it every ``measure_period`` so changes in load are followed.
    """

    needs_polling = True

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__()
        self._clock = clock
        self._t_last = clock.monotonic()
        self._total_j = 0.0

    def _read_j(self) -> float:
        now = self._clock.monotonic()
        dt = now - self._t_last
        if dt > 0:
            self._total_j += self._energy_since_j(now, dt)
            self._t_last = now
        return self._total_j

    @abstractmethod
    def _energy_since_j(self, now: float, dt_s: float) -> float:
        """Joules used during the ``dt_s`` seconds that end at monotonic time ``now``."""


class PowerSampledSensor(IntegratingSensor):
    """A power reading (W) integrated with the trapezoid rule; method ``sampled``."""

    method = SAMPLED

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(clock)
        self._p_last_w = self.power_w()

    @abstractmethod
    def power_w(self) -> float:
        """Instantaneous (or device-averaged) power in watts."""

    def _energy_since_j(self, now: float, dt_s: float) -> float:
        p_w = self.power_w()
        energy_j = 0.5 * (p_w + self._p_last_w) * dt_s
        self._p_last_w = p_w
        return energy_j


class Discovery:
    """What a discovery function found: usable sensors, and notes saying what was (not) found and why.

    A plain class: a container filled as discovery goes, compared by nobody.
    """

    def __init__(self, sensors: list[Sensor] | None = None, notes: list[str] | None = None) -> None:
        self.sensors: list[Sensor] = [] if sensors is None else sensors
        self.notes: list[str] = [] if notes is None else notes

    def __repr__(self) -> str:
        return f"Discovery(sensors={self.sensors!r}, notes={self.notes!r})"

    def extend(self, other: Discovery) -> None:
        self.sensors.extend(other.sensors)
        self.notes.extend(other.notes)
