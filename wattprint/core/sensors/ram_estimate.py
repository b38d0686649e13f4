"""RAM energy estimate: a W/GB constant on the memory actually in use (method ``estimated``).

    P [W] = w_per_gb x GB in use

Default constant: **0.375 W/GB** -- ECO2AI's "3 W per 8 GB" (also CodeCarbon before v3), which
keeps our figures comparable with the method we implement. GB here is 2**30 bytes, as in
ECO2AI. Other published constants: Green Algorithms 0.3725 W/GB, Boavizta 0.284 W/GB, Cloud
Carbon Footprint 0.392 W/GB. None is a physical constant -- DIMM power follows DIMM count,
rank, speed and activity more than capacity -- so the figure is labelled ``estimated`` and is
overridable with ``w_per_gb=``. Where a RAPL ``dram`` domain is readable, it is measured instead.

Memory in use: ``scope="machine"`` takes ``psutil.virtual_memory()`` total - available (page
cache that can be dropped is not "in use"); ``scope="process"`` takes the process tree's resident
set (RSS; pages shared between processes of the tree are counted once per process, which
overstates forked workers somewhat -- exact shares (PSS) cost a read of every ``smaps`` file).
The power is integrated with the trapezoid rule between reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import ConfigError, SensorError
from wattprint.core.sensors.base import ESTIMATED, RAM, PowerSampledSensor
from wattprint.core.sensors.process import MACHINE, PROCESS, ProcessTree, check_scope

#: Watts per GB (2**30 bytes) of memory in use: ECO2AI's "3 W per 8 GB".
DEFAULT_W_PER_GB = 3.0 / 8.0
BYTES_PER_GB = 2**30

VirtualMemory = Callable[[], Any]
"""``psutil.virtual_memory``-like: returns an object with ``total`` and ``available`` in bytes."""


def _finite_non_negative(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _psutil_virtual_memory() -> Any:
    import psutil

    return psutil.virtual_memory()


class RamEstimateSensor(PowerSampledSensor):
    """Estimated RAM energy (J): ``w_per_gb`` x GB in use, integrated over time.

    ``energy_j()`` raises :class:`~wattprint.core.errors.SensorError` when memory use cannot be
    read (or, in process scope, when the tree's root process is gone).
    """

    domain = RAM
    method = ESTIMATED

    def __init__(
        self,
        *,
        w_per_gb: float = DEFAULT_W_PER_GB,
        scope: str = MACHINE,
        process: ProcessTree | None = None,
        clock: Clock = SYSTEM_CLOCK,
        virtual_memory: VirtualMemory | None = None,
    ) -> None:
        check_scope(scope)
        if not _finite_non_negative(w_per_gb):
            raise ConfigError(f"w_per_gb must be a finite number of watts per GB >= 0, not {w_per_gb!r}")
        if scope == PROCESS and process is None:
            raise ConfigError("scope='process' needs a ProcessTree (process=...)")
        self.w_per_gb = float(w_per_gb)
        self.scope = scope
        self._process = process if scope == PROCESS else None
        self._virtual_memory = virtual_memory or _psutil_virtual_memory
        what = "memory in use" if scope == MACHINE else "process tree RSS"
        self.name = f"RAM {self.w_per_gb:g} W/GB x {what}"
        self.key = "ram:estimate" if scope == MACHINE else "ram:estimate:process"
        default = "ECO2AI's 3 W per 8 GB" if self.w_per_gb == DEFAULT_W_PER_GB else "given"
        self.note = f"{self.w_per_gb:g} W/GB ({default}) x {what}; no DRAM counter read"
        self.last_used_bytes = 0
        super().__init__(clock)

    def used_bytes(self) -> int:
        """Bytes of memory counted now."""
        if self._process is not None:
            return self._process.sample().rss_bytes
        try:
            vm = self._virtual_memory()
            return max(0, int(vm.total - vm.available))
        except (OSError, RuntimeError, AttributeError) as exc:
            raise SensorError(f"cannot read memory use: {exc}") from exc

    def power_w(self) -> float:
        """Power (W) of the memory in use now."""
        used = self.used_bytes()
        self.last_used_bytes = used
        return self.w_per_gb * used / BYTES_PER_GB


def ram_estimate_sensor(
    *,
    scope: str = MACHINE,
    clock: Clock = SYSTEM_CLOCK,
    process: ProcessTree | None = None,
    w_per_gb: float | None = None,
    virtual_memory: VirtualMemory | None = None,
) -> RamEstimateSensor:
    """The RAM estimate, ready for the meter.

    ``process`` is the :class:`ProcessTree` shared with the CPU estimate in process scope
    (created for this process when omitted); ``w_per_gb`` overrides the 0.375 W/GB default.
    Raises :class:`ConfigError` for a bad scope or constant.
    """
    check_scope(scope)
    if process is None and scope == PROCESS:
        process = ProcessTree(clock=clock)
    return RamEstimateSensor(
        w_per_gb=DEFAULT_W_PER_GB if w_per_gb is None else w_per_gb,
        scope=scope,
        process=process,
        clock=clock,
        virtual_memory=virtual_memory,
    )
