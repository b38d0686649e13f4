"""CPU energy estimate for machines without a readable counter (VMs, containers, locked RAPL).

Model (method ``estimated``)::

    P [W] = visible CPUs x watts per thread x f(u)

* **visible CPUs**: the logical CPUs this process may use (affinity mask, capped by a cgroup
  quota; see :mod:`~wattprint.core.sensors.cpu_info`). A 2-vCPU slice of a 64-core chip is
  charged 2 threads' worth, never the whole chip; on bare metal with every thread visible the
  product is TDP x sockets.
* **watts per thread**: the matched table row's TDP / threads per socket, or a vendor median
  per thread when the model is masked or unknown (see :func:`~wattprint.core.sensors.cpu_info.cpu_info`).
* **f(u)**: fraction of TDP at utilisation ``u`` of the visible CPUs, piecewise-linear through
  the Teads/Boavizta points 0 % -> 0.12, 10 % -> 0.32, 50 % -> 0.75, 100 % -> 1.02 (concave
  with an idle floor, as SPECpower-style measurements are).

``u`` is measured over each interval between two reads (the sampler reads every
``measure_period``), so energy = P(u of that interval) x its length.

Process scope charges the tree its share of the slice's power, idle floor included::

    P_process = P(u_machine) x tree_cpu_s / machine_busy_cpu_s

The idle floor is power the slice draws whether or not we run; charging a process for it in
proportion to its share of the busy time means that processes sharing a machine add up to the
machine (when anything runs), a process alone on the machine gets the machine's figure, and an
idle process gets nothing. Intervals in which the whole slice is idle are charged to no one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import ConfigError
from wattprint.core.measurement import CPU, ESTIMATED
from wattprint.core.sensors.base import IntegratingSensor
from wattprint.core.sensors.cpu_info import (
    MEDIAN,
    OVERRIDE,
    CpuInfo,
    CpuSlice,
    CpuTimes,
    SliceBusy,
    cpu_info,
    cpu_slice,
)
from wattprint.core.sensors.process import MACHINE, PROCESS, ProcessTree, check_scope

#: Shortest span (s) over which utilisation is measured; /proc/stat counts in 10 ms ticks.
MIN_LOAD_SPAN_S = 0.1

#: Shortest span (s) for the *first* measurement, when no measured power exists yet. CPU times
#: come in 10 ms ticks (USER_HZ = 100), so a reading is off by up to one tick per CPU: 10 ms
#: over a 20 ms span is at most 50 points of utilisation. From 20 ms on, a CPU busy throughout
#: reads at least half busy and an idle one at most half, so the load is still told apart from
#: idle; below it a busy CPU can read 0 ticks, and the idle figure is as good a guess.
MIN_FIRST_LOAD_SPAN_S = 0.02

#: (utilisation, fraction of TDP) points of the Teads/Boavizta load curve.
TEADS_CURVE: tuple[tuple[float, float], ...] = ((0.0, 0.12), (0.10, 0.32), (0.50, 0.75), (1.0, 1.02))


def load_factor(u: float, curve: Sequence[tuple[float, float]] = TEADS_CURVE) -> float:
    """Fraction of TDP drawn at utilisation ``u`` (0-1, clamped), by linear interpolation."""
    u = min(max(u, curve[0][0]), curve[-1][0])
    for (u0, f0), (u1, f1) in pairwise(curve):
        if u <= u1:
            return f0 + (f1 - f0) * (u - u0) / (u1 - u0)
    return curve[-1][1]


def _check_watts(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not finite or value < 0:
        raise ConfigError(f"{name} must be a finite number of watts >= 0, not {value!r}")
    return float(value)


class CpuEstimateSensor(IntegratingSensor):
    """Estimated CPU energy (J) of a slice of CPUs; see the module docstring for the model.

    Args:
        w_per_thread: watts per logical CPU at TDP.
        busy: busy CPU-seconds of the visible slice (:class:`SliceBusy`).
        visible_cpus: logical CPUs' worth of capacity the power is computed for.
        scope: ``"machine"`` or ``"process"`` (needs ``process``).
        process: the :class:`ProcessTree` whose share is charged in process scope.
        curve: (utilisation, fraction of TDP) points, utilisation ascending from 0 to 1.

    The load is measured over at least ``MIN_LOAD_SPAN_S``: a read sooner after the previous
    measurement (a window closing just after the sampler's tick) is charged at the latest
    measured power instead of a utilisation taken from one or two 10 ms scheduler ticks.
    Before the first measurement there is no such power, so a read at least
    ``MIN_FIRST_LOAD_SPAN_S`` (20 ms) after creation measures the load since creation; only a
    read sooner than that is charged at the idle figure.

    ``energy_j()`` raises :class:`~wattprint.core.errors.SensorError` when CPU times cannot be
    read; the next successful read then covers the whole gap.
    """

    domain = CPU
    method = ESTIMATED

    def __init__(
        self,
        *,
        w_per_thread: float,
        busy: SliceBusy,
        visible_cpus: float,
        scope: str = MACHINE,
        process: ProcessTree | None = None,
        clock: Clock = SYSTEM_CLOCK,
        curve: Sequence[tuple[float, float]] = TEADS_CURVE,
        name: str = "CPU estimate",
        note: str = "",
    ) -> None:
        check_scope(scope)
        if scope == PROCESS and process is None:
            raise ConfigError("scope='process' needs a ProcessTree (process=...)")
        if visible_cpus <= 0:
            raise ConfigError(f"visible_cpus must be > 0, not {visible_cpus!r}")
        self.w_per_thread = _check_watts("w_per_thread", w_per_thread) or 0.0
        self.visible_cpus = float(visible_cpus)
        self.scope = scope
        self.curve = tuple(curve)
        self.name = name
        self.key = "cpu:estimate" if scope == MACHINE else "cpu:estimate:process"
        self.note = note
        self._busy = busy
        self._process = process if scope == PROCESS else None
        self._busy_s = busy.busy_s()
        tree = self._process.sample() if self._process else None
        self._tree_cpu_s = tree.cpu_s if tree else 0.0
        self._tree_t = tree.t if tree else 0.0
        self.last_utilisation = 0.0
        #: Power (W) of the latest load measurement; until the first one, the idle figure.
        self.last_power_w = self.power_w(0.0, 0.0 if self._process else None)
        self._measured = False
        super().__init__(clock)
        self._t_load = self._t_last

    @property
    def tdp_share_w(self) -> float:
        """Watts of the visible slice at TDP."""
        return self.visible_cpus * self.w_per_thread

    def power_w(self, u_machine: float, u_tree: float | None = None) -> float:
        """Power (W) at slice utilisation ``u_machine``; the tree's share if ``u_tree`` is given."""
        p_w = self.tdp_share_w * load_factor(u_machine, self.curve)
        if u_tree is None:
            return p_w
        if u_tree <= 0:
            return 0.0
        # The tree is part of the slice: tick rounding must not make its share exceed 1.
        return p_w * u_tree / max(u_machine, u_tree)

    def _energy_since_j(self, now: float, dt_s: float) -> float:
        span_s = now - self._t_load
        # A short first span is coarse but unbiased; the idle figure would charge a busy start
        # (a short first epoch) as if nothing ran.
        if span_s >= (MIN_LOAD_SPAN_S if self._measured else MIN_FIRST_LOAD_SPAN_S):
            self._measure_load(now, span_s)
        return self.last_power_w * dt_s

    def _measure_load(self, now: float, span_s: float) -> None:
        tree = self._process.sample() if self._process is not None else None
        if tree is not None and tree.t <= self._tree_t:
            # The tree's walk is shared for a few tens of ms, so a short first span can get the
            # reading it started from: that would read the tree as idle and push its work into
            # the next span. Keep the latest power until the tree has been read again.
            return
        busy_s = self._busy.busy_s()
        u_machine = min(1.0, max(0.0, (busy_s - self._busy_s) / (span_s * self._busy.cpus)))
        u_tree: float | None = None
        if tree is not None:
            d_tree_s = tree.cpu_s - self._tree_cpu_s
            u_tree = min(1.0, max(0.0, d_tree_s / (span_s * self.visible_cpus)))
            self._tree_cpu_s, self._tree_t = tree.cpu_s, tree.t
            u_machine = max(u_machine, u_tree)
        self._busy_s, self._t_load, self._measured = busy_s, now, True
        self.last_utilisation = u_machine if u_tree is None else u_tree
        self.last_power_w = self.power_w(u_machine, u_tree)


def cpu_estimate_sensor(
    *,
    scope: str = MACHINE,
    clock: Clock = SYSTEM_CLOCK,
    process: ProcessTree | None = None,
    w_per_thread: float | None = None,
    cpu_power_w: float | None = None,
    info: CpuInfo | None = None,
    slice_: CpuSlice | None = None,
    cpu_times: CpuTimes | None = None,
) -> CpuEstimateSensor:
    """The CPU estimate for this machine, ready for the meter.

    Args:
        scope: ``"machine"`` (default) or ``"process"`` (the process tree's share).
        clock: time source for the intervals.
        process: the :class:`ProcessTree` to share with the RAM estimate in process scope;
            created for this process when omitted.
        w_per_thread: watts per logical CPU at TDP, instead of the table or median.
        cpu_power_w: watts the visible CPUs draw at 100 % load, instead of the table or median
            (so ``P = cpu_power_w x f(u) / f(1)``).
        info: a :func:`cpu_info` result to use instead of detecting (for tests and ``info``).
        slice_: the CPU slice instead of detecting it; ``cpu_times``: ``psutil.cpu_times``-like.

    Raises :class:`ConfigError` for a bad scope or override.
    """
    check_scope(scope)
    w_override = _check_watts("w_per_thread", w_per_thread)
    p_override = _check_watts("cpu_power_w", cpu_power_w)
    if w_override is not None and p_override is not None:
        raise ConfigError("give w_per_thread or cpu_power_w, not both")
    slice_ = slice_ if slice_ is not None else cpu_slice()
    info = info if info is not None else cpu_info(slice_=slice_)
    visible = info.visible_cpus
    w, level, basis = info.w_per_thread, info.match_level, info.basis
    if w_override is not None:
        w, level, basis = w_override, OVERRIDE, f"w_per_thread={w_override:g} W given"
    elif p_override is not None:
        w = p_override / (visible * load_factor(1.0))
        level, basis = OVERRIDE, f"cpu_power_w={p_override:g} W at 100 % given"
    if process is None and scope == PROCESS:
        process = ProcessTree(clock=clock)

    how = {MEDIAN: "vendor median", OVERRIDE: "given"}.get(level, "table")
    name = f"{info.label} ({visible:g} of {info.logical_cpus} threads, {w:.3g} W/thread {how})"
    note = (
        f"{basis}; {visible:g} of {info.logical_cpus} logical CPUs visible"
        + (f" (cgroup quota {info.quota_cpus:g})" if info.quota_cpus is not None else "")
        + "; x Teads/Boavizta load curve"
        + ("; process tree's share of busy CPU time" if scope == PROCESS else "")
    )
    return CpuEstimateSensor(
        w_per_thread=w,
        busy=SliceBusy(slice_, cpu_times),
        visible_cpus=visible,
        scope=scope,
        process=process,
        clock=clock,
        name=name,
        note=note,
    )
