"""What the GPU sensors (:mod:`~wattprint.core.sensors.nvml`, :mod:`~wattprint.core.sensors.amd`) share.

* :class:`GpuSession` -- one library initialisation, shut down when its last holder releases it;
* :class:`GpuDevice` -- a GPU held open by one sensor;
* :class:`GpuPowerSensor` -- a device's power (W) integrated over time (method ``sampled``);
* :func:`visible_entries` -- the walk of a ``*_VISIBLE_DEVICES`` value, with CUDA's rule that an
  entry naming no GPU hides every entry after it;
* :func:`discover_in_session`, :func:`open_sensor` and :func:`add_sensors` -- what discovery
  does with each GPU's outcome; a broken driver or a GPU lost mid-discovery leaves a note, never
  an exception.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from wattprint._log import getLogger
from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import SensorError
from wattprint.core.measurement import GPU
from wattprint.core.sensors.base import Discovery, PowerSampledSensor, Sensor

log = getLogger(__name__)

R = TypeVar("R")
D = TypeVar("D", bound="GpuDevice")


class FromEnv(enum.Enum):
    TOKEN = "read from the environment"


#: Default of the discovery functions' ``visible_devices``: read the vendor's environment variables.
FROM_ENV = FromEnv.TOKEN


class GpuInfo(Protocol):
    """A GPU as its library lists it: ``label`` for humans, ``key`` stable across runs."""

    @property
    def label(self) -> str: ...

    @property
    def key(self) -> str: ...


class GpuSession:
    """One library initialisation, held by the discovery call and by each sensor.

    It starts with one holder (the discovery call); ``library.<shutdown>()`` runs once, at the
    last :meth:`release`. A failing shutdown (any of ``errors``) is logged, not raised.
    """

    def __init__(
        self,
        library: Any,
        shutdown: str,
        errors: type[BaseException] | tuple[type[BaseException], ...],
    ) -> None:
        self._library = library
        self._shutdown = shutdown
        self._errors = errors
        self._holders = 1
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders != 0:
                return
        try:
            getattr(self._library, self._shutdown)()
        except self._errors as exc:
            log.debug("%s failed: %s", self._shutdown, exc)


class GpuDevice:
    """A GPU held by one sensor: keeps its session open until :meth:`close`.

    Subclasses read ``gpu`` through ``library`` (the vendor's module), calling
    :meth:`_check_open` first, and turn the library's errors into :class:`SensorError`.
    """

    def __init__(self, library: Any, session: GpuSession, gpu: GpuInfo) -> None:
        self.library = library
        self.gpu = gpu
        self._session = session
        self._closed = False
        session.acquire()

    def power_w(self) -> float:
        """Power drawn now, watts."""
        raise NotImplementedError

    def _check_open(self) -> None:
        if self._closed:
            raise SensorError(f"{self.gpu.label}: sensor is closed")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._session.release()


def describe(sensor: Sensor, device: GpuDevice, note: str) -> None:
    """Name a GPU sensor after its device; ``note`` says how it measures."""
    sensor.domain = GPU
    sensor.name = device.gpu.label
    sensor.key = device.gpu.key
    sensor.note = note


class GpuPowerSensor(PowerSampledSensor):
    """The device's power (W) integrated over time; method ``sampled``."""

    def __init__(self, device: GpuDevice, note: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._device = device  # read by power_w() during the base initialiser
        super().__init__(clock)
        describe(self, device, note)

    def power_w(self) -> float:
        return self._device.power_w()

    def close(self) -> None:
        self._device.close()


def is_index(entry: str) -> bool:
    """Whether a ``*_VISIBLE_DEVICES`` entry is a device index (ASCII digits only)."""
    return entry.isascii() and entry.isdigit()


def visible_entries(
    spec: str | None,
    resolve: Callable[[str], R | None],
    notes: list[str],
    *,
    prefix: str,
    source: str,
    ignored: str = "it is ignored",
) -> list[tuple[str, R]] | None:
    """The entries of a ``*_VISIBLE_DEVICES`` value and what ``resolve`` makes of each, in order.

    ``None`` when ``spec`` is ``None`` (every GPU is visible); ``[]`` with a note when it is
    empty. As in CUDA and HIP, the first entry that resolves to nothing hides itself and every
    entry after it; a note (``"<prefix>: <source> entry ... matches no GPU; <ignored>"``) says so.
    """
    if spec is None:
        return None
    if not spec.strip():
        notes.append(f"{prefix}: {source} is empty: no GPU is visible to this process")
        return []
    entries = [entry.strip() for entry in spec.split(",")]
    matched: list[tuple[str, R]] = []
    for position, entry in enumerate(entries):
        found = resolve(entry)
        if found is None:
            hidden = entries[position + 1 :]
            also = f", and so are the entries after it ({', '.join(hidden)})" if hidden else ""
            notes.append(f"{prefix}: {source} entry {entry!r} matches no GPU; {ignored}{also}")
            break
        matched.append((entry, found))
    return matched


def discover_in_session(
    session: GpuSession, fill: Callable[[Discovery], None], *, prefix: str, vendor: str
) -> Discovery:
    """Run ``fill`` on a new :class:`Discovery`, then release the discovery call's hold on ``session``.

    Whatever ``fill`` raises (a library/driver mismatch must not stop training) closes the
    sensors it opened and becomes a note: ``"<prefix>: enumerating GPUs failed (...); no
    <vendor> GPU measured"``.
    """
    found = Discovery()
    try:
        fill(found)
    except Exception as exc:  # the note says what failed
        for sensor in found.sensors:
            sensor.close()
        found = Discovery(
            notes=[*found.notes, f"{prefix}: enumerating GPUs failed ({exc!r}); no {vendor} GPU measured"]
        )
    finally:
        session.release()
    return found


def add_sensors(
    found: Discovery, results: Iterable[tuple[Sensor | None, str | None]], *, prefix: str
) -> None:
    """Add each ``(sensor, note)`` to ``found``, in order, then a note listing what is measured."""
    opened = []
    for sensor, note in results:
        if note:
            found.notes.append(note)
        if sensor is not None:
            found.sensors.append(sensor)
            opened.append(f"{sensor.name} ({sensor.method})")
    if opened:
        found.notes.append(f"{prefix}: measuring {', '.join(opened)}")


def open_sensor(
    device: D, make: Callable[[D], Sensor], *, prefix: str, note: str | None = None
) -> tuple[Sensor | None, str | None]:
    """``(make(device), note)``; ``(None, reason)`` when the first reading fails, the device closed."""
    try:
        return make(device), note
    except SensorError as exc:  # the first reading failed between the probe and now
        device.close()
        return None, f"{prefix}: {exc}; not measured"
