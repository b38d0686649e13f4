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

In a container the "machine" is the cgroup's slice, as for the CPU estimate: when a memory
limit is set on the path from this process's cgroup to the root (v2 ``memory.max`` other than
``max``; v1 ``memory.limit_in_bytes`` below the host's total, v1 writing "no limit" as a huge
page-rounded number), memory in use is that of the cgroup holding the tightest limit -- v2
``memory.current`` - ``inactive_file``, v1 ``memory.usage_in_bytes`` - ``total_inactive_file``
(``memory.stat``), the figure ``docker stats`` shows -- and never more than the host's figure.
Other tenants of the host are not charged to this run.
"""

from __future__ import annotations

import math
import os
from collections import namedtuple
from collections.abc import Callable

from wattprint._log import getLogger
from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import ConfigError, SensorError
from wattprint.core.measurement import ESTIMATED, RAM
from wattprint.core.sensors.base import PowerSampledSensor
from wattprint.core.sensors.cpu_info import CGROUP_ROOT, cgroup_dirs, read_cgroup_file
from wattprint.core.sensors.process import MACHINE, PROCESS, ProcessTree, check_scope

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

logger = getLogger(__name__)

#: A reading of the memory in use younger than this (s) is reused when the energy is read
#: again: windows closing in quick succession (step intervals of a fast training) then cost
#: no read of ``/proc/meminfo`` each. The sampler still reads it every period.
HOLD_S = 0.1
#: Watts per GB (2**30 bytes) of memory in use: ECO2AI's "3 W per 8 GB".
DEFAULT_W_PER_GB = 3.0 / 8.0
BYTES_PER_GB = 2**30

VirtualMemory = Callable[[], "Any"]  # a string: Any is imported for type checkers only
"""``psutil.virtual_memory``-like: returns an object with ``total`` and ``available`` in bytes."""


def _finite_non_negative(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _host_virtual_memory() -> Any:
    # /proc/meminfo on Linux, psutil elsewhere
    from wattprint.core.sensors.host import virtual_memory

    return virtual_memory()


# Per cgroup version: the limit file, the usage file, and the memory.stat field of file pages
# the kernel reclaims first (not "in use", as page cache is not in the host's figure).
_V2_FILES = ("memory.max", "memory.current", "inactive_file")
_V1_FILES = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")


class CgroupMemory(namedtuple("CgroupMemory", ("version", "directory", "limit_bytes"))):
    """The cgroup whose memory limit binds this process: ``limit_bytes`` set on ``directory`` (a ``str`` path)."""

    __slots__ = ()
    version: int
    directory: str
    limit_bytes: int

    @property
    def source(self) -> str:
        """The files read, in words, e.g. ``"cgroup v2 memory.current - inactive_file"``."""
        _, usage, inactive = _V2_FILES if self.version == 2 else _V1_FILES
        return f"cgroup v{self.version} {usage} - {inactive}"

    def used_bytes(self) -> int:
        """Bytes in use by the cgroup: usage minus inactive file pages. Raises :class:`SensorError`."""
        _, usage_name, inactive_name = _V2_FILES if self.version == 2 else _V1_FILES
        usage_file = os.path.join(self.directory, usage_name)
        usage = read_cgroup_file(usage_file)
        if usage is None or not usage.isdigit():
            raise SensorError(f"cannot read {usage_file}: {usage!r}")
        inactive = 0
        # Without memory.stat the page cache stays in: an overstatement, not a failed read.
        for line in (read_cgroup_file(os.path.join(self.directory, "memory.stat")) or "").splitlines():
            name, _, value = line.partition(" ")
            if name == inactive_name and value.strip().isdigit():
                inactive = int(value)
                break
        return max(0, int(usage) - inactive)


def cgroup_memory(
    host_total_bytes: int, cgroup_root: str | os.PathLike[str] = CGROUP_ROOT, self_cgroup: str | None = None
) -> CgroupMemory | None:
    """The tightest memory limit (bytes) between this process's cgroup and the root; ``None`` if none.

    ``host_total_bytes`` is the host's physical memory: a v1 limit at or above it is "no limit".
    ``self_cgroup`` replaces the text of ``/proc/self/cgroup`` (for tests).
    """
    found = cgroup_dirs("memory", ("memory",), "memory.limit_in_bytes", cgroup_root, self_cgroup)
    if found is None:
        return None
    limit_name = (_V2_FILES if found.version == 2 else _V1_FILES)[0]
    limits: list[tuple[int, str]] = []
    for directory in found.dirs:
        text = read_cgroup_file(os.path.join(directory, limit_name))
        if text is None or not text.isdigit():  # v2 "max", or no limit file (the root)
            continue
        if found.version == 1 and int(text) >= host_total_bytes:
            continue
        limits.append((int(text), directory))
    if not limits:
        return None
    limit, where = min(limits, key=lambda item: item[0])
    return CgroupMemory(found.version, where, limit)


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
        cgroup: CgroupMemory | None = None,
    ) -> None:
        check_scope(scope)
        if not _finite_non_negative(w_per_gb):
            raise ConfigError(f"w_per_gb must be a finite number of watts per GB >= 0, not {w_per_gb!r}")
        if scope == PROCESS and process is None:
            raise ConfigError("scope='process' needs a ProcessTree (process=...)")
        self.w_per_gb = float(w_per_gb)
        self.scope = scope
        self._process = process if scope == PROCESS else None
        self._cgroup = cgroup if scope == MACHINE else None
        self._virtual_memory = virtual_memory or _host_virtual_memory
        what = "memory in use" if scope == MACHINE else "process tree RSS"
        how = what
        if self._cgroup is not None:
            what = "cgroup memory in use"
            limit_gb = self._cgroup.limit_bytes / BYTES_PER_GB
            how = (
                f"memory in use of this process's cgroup (limit {limit_gb:.3g} GB; "
                f"{self._cgroup.source}, at most the host's figure)"
            )
        self.name = f"RAM {self.w_per_gb:g} W/GB x {what}"
        self.key = "ram:estimate" if scope == MACHINE else "ram:estimate:process"
        default = "ECO2AI's 3 W per 8 GB" if self.w_per_gb == DEFAULT_W_PER_GB else "given"
        self.note = f"{self.w_per_gb:g} W/GB ({default}) x {how}; no DRAM counter read"
        self.last_used_bytes = 0
        super().__init__(clock)
        self._t_used = self._clock.monotonic()  # when power_w last read the memory in use

    def used_bytes(self) -> int:
        """Bytes of memory counted now. Raises :class:`SensorError`."""
        if self._process is not None:
            return self._process.sample().rss_bytes
        try:
            vm = self._virtual_memory()
            host = max(0, int(vm.total - vm.available))
        except (OSError, RuntimeError, AttributeError) as exc:
            raise SensorError(f"cannot read memory use: {exc}") from exc
        if self._cgroup is None:
            return host
        # The cgroup's count includes kernel memory and active page cache that the host's
        # "available" treats as free: the host figure is the most the slice can be using.
        return min(host, self._cgroup.used_bytes())

    def _energy_since_j(self, now: float, dt_s: float) -> float:
        if now - self._t_used < HOLD_S:
            return self._p_last_w * dt_s  # the power of a reading under HOLD_S old, held
        self._t_used = now
        return super()._energy_since_j(now, dt_s)

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
    cgroup_root: str | os.PathLike[str] = CGROUP_ROOT,
    self_cgroup: str | None = None,
) -> RamEstimateSensor:
    """The RAM estimate, ready for the meter.

    ``process`` is the :class:`ProcessTree` shared with the CPU estimate in process scope
    (created for this process when omitted); ``w_per_gb`` overrides the 0.375 W/GB default.
    In machine scope a cgroup memory limit is looked for under ``cgroup_root`` (see
    :func:`cgroup_memory`; ``self_cgroup`` replaces ``/proc/self/cgroup``, for tests).
    Raises :class:`ConfigError` for a bad scope or constant.
    """
    check_scope(scope)
    if process is None and scope == PROCESS:
        process = ProcessTree(clock=clock)
    cgroup = None
    if scope == MACHINE:
        cgroup = _find_cgroup(virtual_memory or _host_virtual_memory, cgroup_root, self_cgroup)
    return RamEstimateSensor(
        w_per_gb=DEFAULT_W_PER_GB if w_per_gb is None else w_per_gb,
        scope=scope,
        process=process,
        clock=clock,
        virtual_memory=virtual_memory,
        cgroup=cgroup,
    )


def _find_cgroup(
    virtual_memory: VirtualMemory, cgroup_root: str | os.PathLike[str], self_cgroup: str | None
) -> CgroupMemory | None:
    """The binding cgroup if its usage reads now; ``None`` (the host figure) otherwise."""
    try:
        found = cgroup_memory(int(virtual_memory().total), cgroup_root, self_cgroup)
        if found is not None:
            found.used_bytes()
        return found
    except (OSError, RuntimeError, AttributeError, ValueError, SensorError) as exc:
        # Detection must never stop a run: the host figure is an overstatement, not a failure.
        logger.debug("no cgroup memory figure, using the host's: %s", exc)
        return None
