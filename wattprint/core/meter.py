"""The meter: turns sensors into snapshots, and two snapshots into a window.

A *snapshot* holds every sensor's cumulative joules and the cumulative grams of CO2e at one
instant. Windows are pairs of snapshots, so they nest and overlap freely and cost nothing
while open. CO2e is accumulated interval by interval (energy of the interval x the intensity
current during it), which is exact for a constant intensity and follows a live one.
"""

from __future__ import annotations

import threading
import warnings
from collections import namedtuple
from collections.abc import Sequence

from wattprint._log import getLogger
from wattprint.core.clock import Clock
from wattprint.core.measurement import Measurement, weakest
from wattprint.core.sensors.base import Sensor
from wattprint.core.units import J_PER_KWH

log = getLogger(__name__)


class Snapshot(namedtuple("Snapshot", ("t_mono", "t_wall", "energy_j", "co2_g", "intensity_readings", "failed"),
                          defaults=(frozenset(),))):
    """Cumulative readings at one instant. ``energy_j`` is keyed by sensor key."""

    __slots__ = ()
    t_mono: float
    t_wall: float
    energy_j: dict[str, float]
    co2_g: float  # cumulative, before PUE
    intensity_readings: int
    failed: frozenset[str]


class Delta(namedtuple("Delta", ("measurement", "mean_g_per_kwh", "intensity_readings"))):
    """What happened between two snapshots: the measurement, and the intensity it was drawn at.

    ``mean_g_per_kwh`` is the energy-weighted mean intensity (gCO2e/kWh) over the interval,
    None when no energy was drawn; ``intensity_readings`` how many readings it spans.
    """

    __slots__ = ()
    measurement: Measurement
    mean_g_per_kwh: float | None
    intensity_readings: int


class Meter:
    """Reads a fixed set of sensors; thread-safe.

    ``intensity`` is an object with ``current()`` returning something with ``g_per_kwh``
    (an :class:`~wattprint.core.carbon.IntensitySource`). A sensor that raises is marked
    failed once (one warning), and its last good reading is kept from then on, so the other
    domains carry on.
    """

    def __init__(self, sensors: Sequence[Sensor], intensity, clock: Clock) -> None:
        keys = [s.key or f"{s.domain}:{i}" for i, s in enumerate(sensors)]
        if len(set(keys)) != len(keys):
            raise ValueError(f"sensor keys must be unique, got {keys}")
        self._sensors = dict(zip(keys, sensors))
        self._intensity = intensity
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._last_j: dict[str, float] = {}
        self._failed: set[str] = set()
        self._co2_g = 0.0
        # A live source's first fetch can take seconds: start on its bundled figure and let
        # the sampler thread fetch, so start() never waits on the network.
        live = getattr(intensity, "refresh_s", None) is not None and hasattr(intensity, "fallback")
        self.intensity = intensity.fallback if live else intensity.current()
        self._g_per_kwh = float(self.intensity.g_per_kwh)
        self._readings = 1
        for key, sensor in self._sensors.items():
            self._last_j[key] = self._read_sensor(key, sensor)

    @property
    def sensors(self) -> dict[str, Sensor]:
        return dict(self._sensors)

    def _read_sensor(self, key: str, sensor: Sensor) -> float:
        if key in self._failed:
            return self._last_j.get(key, 0.0)
        try:
            value = float(sensor.energy_j())
        except Exception as exc:  # any sensor fault must degrade, never stop training
            self._failed.add(key)
            warnings.warn(
                f"wattprint: {sensor.name or key} ({sensor.domain}) stopped answering ({exc}); "
                f"its energy is kept as measured so far and the other domains go on.",
                RuntimeWarning,
                stacklevel=3,
            )
            return self._last_j.get(key, 0.0)
        return value

    def _read_locked(self, keys) -> None:
        added_j = 0.0
        for key in keys:
            value = self._read_sensor(key, self._sensors[key])
            added_j += max(0.0, value - self._last_j[key])
            self._last_j[key] = value
        # Energy read since the last read is charged at the intensity in force until now.
        self._co2_g += added_j / J_PER_KWH * self._g_per_kwh

    def poll(self) -> None:
        """Read the sensors that need polling (power integration, wraparound)."""
        with self._lock:
            self._read_locked([k for k, s in self._sensors.items() if s.needs_polling])

    def refresh_intensity(self) -> None:
        """Read every sensor, charge that energy at the old intensity, then take the new one.

        Called from the sampler thread only: a live source may block on the network here.
        """
        current = self._intensity.current()
        with self._lock:
            if self._closed:  # the run ended while the fetch was in flight
                return
            self._read_locked(self._sensors)
            self.intensity = current
            self._g_per_kwh = float(current.g_per_kwh)
            self._readings += 1

    def snapshot(self) -> Snapshot:
        """Read every sensor now and return the cumulative state."""
        with self._lock:
            self._read_locked(self._sensors)
            return Snapshot(
                t_mono=self._clock.monotonic(),
                t_wall=self._clock.time(),
                energy_j=dict(self._last_j),
                co2_g=self._co2_g,
                intensity_readings=self._readings,
                failed=frozenset(self._failed),
            )

    def delta(self, begin: Snapshot, end: Snapshot) -> Delta:
        """Group the difference of two snapshots by domain."""
        joules: dict[str, float] = {}
        methods: dict[str, list[str]] = {}
        failed: set[str] = set()
        for key, sensor in self._sensors.items():
            d = sensor.domain
            joules[d] = joules.get(d, 0.0) + max(0.0, end.energy_j[key] - begin.energy_j[key])
            methods.setdefault(d, []).append(sensor.method)
            if key in end.failed:
                failed.add(d)
        measurement = Measurement.of(
            duration_s=max(0.0, end.t_mono - begin.t_mono),
            energy_kwh_by_domain={d: j / J_PER_KWH for d, j in joules.items()},
            # A domain made of several sensors is as trustworthy as its weakest one.
            method_by_domain={d: weakest(m) for d, m in methods.items()},
            failed_domains=failed,
        )
        co2_g = max(0.0, end.co2_g - begin.co2_g)
        return Delta(
            measurement=measurement,
            mean_g_per_kwh=co2_g / measurement.energy_kwh if measurement.energy_kwh > 0 else None,
            intensity_readings=end.intensity_readings - begin.intensity_readings + 1,
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
        for sensor in self._sensors.values():
            try:
                sensor.close()
            except Exception as exc:  # closing must not mask the result of a run
                log.debug("closing %r failed: %s", sensor, exc)
