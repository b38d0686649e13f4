"""Process scope: the CPU time and memory of this process and its children.

``scope="process"`` charges a run with its process tree's share of the host instead of the whole
machine. :class:`ProcessTree` gives the tree's cumulative CPU-seconds and current RSS;
:class:`ScaledHostSensor` applies the tree's share of busy CPU time (or of memory in use) to a
host-wide sensor such as a RAPL package counter.

How the tree's CPU time is counted: the sum over the live processes of the tree of their own
user + system seconds **plus** ``children_user`` + ``children_system`` (the times of children they
have already waited for). When a child exits and its parent in the tree reaps it, its time moves
from the first term to the second, so the sum neither jumps nor double counts, and a child that
started and ended between two reads is still counted. Children that have exited but are not yet
reaped (zombies) keep their times in the first term. A descendant that leaves the tree (re-parented
to init because its parent exited without waiting for it) takes its time with it: the sum drops,
and that read's increase is clamped at zero, so at worst one interval's work is lost. On macOS and
Windows ``children_*`` is always zero: the CPU time of children that exited is lost there.
"""

from __future__ import annotations

import os
import threading
from collections import namedtuple
from collections.abc import Callable

from wattprint._log import getLogger
from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import ConfigError, SensorError
from wattprint.core.sensors.base import Sensor
from wattprint.core.sensors.cpu_info import CpuTimes, machine_busy_s

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

logger = getLogger(__name__)

PROCESS = "process"
MACHINE = "machine"
SCOPES = (MACHINE, PROCESS)


def check_scope(scope: str) -> str:
    """Return ``scope`` if it is ``"machine"`` or ``"process"``; else raise :class:`ConfigError`."""
    if scope not in SCOPES:
        raise ConfigError(f"scope must be 'machine' or 'process', not {scope!r}")
    return scope


class TreeSample(namedtuple("TreeSample", ("cpu_s", "rss_bytes", "processes", "t"))):
    """One reading of the process tree.

    ``cpu_s``: cumulative CPU-seconds of the tree since the :class:`ProcessTree` was created
    (never decreases); ``rss_bytes``: resident memory of the live processes now, in bytes;
    ``processes``: how many were alive; ``t``: monotonic time of the reading (s).
    """

    __slots__ = ()
    cpu_s: float
    rss_bytes: int
    processes: int
    t: float


def _own_and_reaped_s(times: Any) -> float:
    return float(
        times.user
        + times.system
        + getattr(times, "children_user", 0.0)
        + getattr(times, "children_system", 0.0)
    )


class ProcessTree:
    """A process (default: this one) and its descendants, read through psutil.

    Readings closer together than ``max_age_s`` (monotonic seconds) share one walk of the
    tree, so a CPU and a RAM sensor polled in the same sampler tick cost one walk, not two.
    ``process`` replaces ``psutil.Process(pid)`` (for tests; it needs ``pid``, ``oneshot()``,
    ``cpu_times()``, ``memory_info()`` and ``children(recursive=True)`` as psutil has them).

    Raises :class:`SensorError` from :meth:`sample` when the root process is gone.
    """

    def __init__(
        self,
        pid: int | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        max_age_s: float = 0.05,
        process: Any = None,
    ) -> None:
        if process is None:
            import psutil

            try:
                process = psutil.Process(os.getpid() if pid is None else pid)
            except psutil.Error as exc:
                raise ConfigError(f"cannot follow process {pid}: {exc}") from exc
        self._root = process
        self._clock = clock
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._last_sum_s: float | None = None
        self._cum_cpu_s = 0.0
        self._latest: TreeSample | None = None
        self.sample()

    @property
    def pid(self) -> int:
        """The root process id."""
        return int(self._root.pid)

    def _walk(self) -> tuple[float, int, int]:
        """Sum of own + reaped CPU seconds, RSS bytes, and the process count, now."""
        import psutil

        try:
            with self._root.oneshot():
                total_s = _own_and_reaped_s(self._root.cpu_times())
                rss = int(self._root.memory_info().rss)
            children = self._root.children(recursive=True)
        except psutil.Error as exc:
            raise SensorError(f"process {self.pid} cannot be read: {exc}") from exc
        count = 1
        for child in children:
            try:
                with child.oneshot():
                    times = child.cpu_times()
                    child_rss = int(child.memory_info().rss)
            except psutil.Error:
                # Exited (or was never ours to read) between listing and reading: its time
                # reaches its parent's children_* when reaped.
                continue
            total_s += _own_and_reaped_s(times)
            rss += child_rss
            count += 1
        return total_s, rss, count

    def sample(self) -> TreeSample:
        """The tree now, or the latest reading if it is younger than ``max_age_s``."""
        with self._lock:
            now = self._clock.monotonic()
            latest = self._latest
            if latest is not None and now - latest.t < self._max_age_s:
                return latest
            total_s, rss, count = self._walk()
            if self._last_sum_s is not None:
                self._cum_cpu_s += max(0.0, total_s - self._last_sum_s)
            self._last_sum_s = total_s
            self._latest = TreeSample(self._cum_cpu_s, rss, count, now)
            return self._latest


class ScaledHostSensor(Sensor):
    """A host-wide sensor's energy, scaled to the process tree's share of it in each interval.

    Each read takes the inner sensor's increase since the last read and multiplies it by the
    tree's share over the same interval: with ``basis="cpu"`` (default) the tree's CPU-seconds
    over the machine's busy CPU-seconds (``psutil.cpu_times()``, all CPUs, because a package
    counter covers all of them); with ``basis="memory"`` the tree's RSS over the memory in use
    (for a DRAM counter). The share is clamped to [0, 1]; an idle machine gives a share of 0:
    idle power is no process's doing. ``method`` is the inner sensor's.
    """

    needs_polling = True

    def __init__(
        self,
        inner: Sensor,
        process: ProcessTree,
        *,
        basis: str = "cpu",
        cpu_times: CpuTimes | None = None,
        virtual_memory: Callable[[], Any] | None = None,
    ) -> None:
        if basis not in ("cpu", "memory"):
            raise ConfigError(f"basis must be 'cpu' or 'memory', not {basis!r}")
        super().__init__()
        self._inner = inner
        self._tree = process
        self._basis = basis
        self._cpu_times = cpu_times
        self._virtual_memory = virtual_memory
        self.domain = inner.domain
        self.method = inner.method
        self.name = f"{inner.name} (process tree share)"
        self.key = f"{inner.key}:process"
        what = "busy CPU time" if basis == "cpu" else "memory in use"
        self.note = "; ".join(
            n for n in (inner.note, f"scaled by the process tree's share of {what}") if n
        )
        self._inner_j = inner.energy_j()
        self._tree_cpu_s = process.sample().cpu_s
        self._machine_busy_s = machine_busy_s(cpu_times) if basis == "cpu" else 0.0
        self._total_j = 0.0

    @property
    def inner(self) -> Sensor:
        return self._inner

    def _share(self) -> float:
        sample = self._tree.sample()
        if self._basis == "memory":
            vm = self._virtual_memory() if self._virtual_memory else _host_virtual_memory()
            used = vm.total - vm.available
            return min(1.0, sample.rss_bytes / used) if used > 0 else 0.0
        busy_s = machine_busy_s(self._cpu_times)
        d_tree = sample.cpu_s - self._tree_cpu_s
        d_busy = busy_s - self._machine_busy_s
        self._tree_cpu_s, self._machine_busy_s = sample.cpu_s, busy_s
        if d_tree <= 0:
            return 0.0
        # /proc/stat ticks and per-process times round differently: the tree may outrun the
        # machine by a tick in a short interval.
        return min(1.0, d_tree / d_busy) if d_busy > 0 else 1.0

    def _read_j(self) -> float:
        inner_j = self._inner.energy_j()
        share = self._share()
        self._total_j += max(0.0, inner_j - self._inner_j) * share
        self._inner_j = inner_j
        return self._total_j

    def close(self) -> None:
        self._inner.close()


def _host_virtual_memory() -> Any:
    # /proc/meminfo on Linux, psutil elsewhere
    from wattprint.core.sensors.host import virtual_memory

    return virtual_memory()
