"""What CPU this is, how much of it this process may use, and how busy that slice is.

Everything is read from files (``/proc/cpuinfo``, ``/proc/self/cgroup``, the cgroup tree) or
stdlib calls; nothing spawns a process. Every source can be injected for tests.

* :func:`read_host_cpu` -- brand string, vendor, CPUID family/model, topology hints.
* :func:`cpu_slice` -- the logical CPUs this process may run on: ``os.sched_getaffinity``, then the
  cgroup CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), the smallest
  limit on the path from the process's cgroup to the root. A quota of 1.5 CPUs is 1.5 CPUs.
* :func:`cgroup_dirs` -- that path for any controller, v1 or v2 (the RAM estimate reads the
  memory controller's limit and usage along it).
* :class:`SliceBusy` -- cumulative busy CPU-seconds of that slice, for utilisation.
* :func:`cpu_info` -- all of the above plus the TDP table match and the watts per thread the
  estimate uses, as one frozen :class:`CpuInfo` (``wattprint info`` prints it).
"""

from __future__ import annotations

import math
import os
import sys
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from wattprint._log import getLogger
from wattprint.core.errors import SensorError
from wattprint.core.sensors import cpu_table
from wattprint.core.sensors.cpu_table import CpuRow

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

logger = getLogger(__name__)

# Plain strings, read with os and open(): pathlib (with urllib.parse, fnmatch) is not worth
# loading for a handful of fixed files. Functions taking a path accept a str or a pathlib.Path.
CPUINFO_PATH = "/proc/cpuinfo"
SELF_CGROUP_PATH = "/proc/self/cgroup"
CGROUP_ROOT = "/sys/fs/cgroup"

#: Match levels of :attr:`CpuInfo.match_level`.
EXACT = cpu_table.EXACT
SUFFIX = cpu_table.SUFFIX
MEDIAN = "median"
OVERRIDE = "override"

_VENDOR_IDS = {
    "GenuineIntel": "Intel",
    "AuthenticAMD": "AMD",
    "HygonGenuine": "Hygon",
    "CentaurHauls": "VIA",
}
# ARM "CPU implementer" codes (MIDR) of the server and laptop vendors we may meet.
_ARM_IMPLEMENTERS = {
    "0x41": "ARM",
    "0x4e": "NVIDIA",
    "0x51": "Qualcomm",
    "0x61": "Apple",
    "0xc0": "Ampere",
}


class HostCpu(namedtuple(
    "HostCpu",
    ("model_raw", "vendor_id", "family", "model_number", "hypervisor", "threads_per_socket", "cores_per_socket",
     "sockets"),
    defaults=("", "", None, None, False, None, None, None),
)):
    """What the operating system says about the CPU.

    ``threads_per_socket`` and ``cores_per_socket`` are ``/proc/cpuinfo``'s ``siblings`` and
    ``cpu cores``; inside a VM they describe the virtual topology, not the chip.
    """

    __slots__ = ()
    model_raw: str
    vendor_id: str
    family: int | None
    model_number: int | None
    hypervisor: bool
    threads_per_socket: int | None
    cores_per_socket: int | None
    sockets: int | None

    @property
    def vendor(self) -> str:
        """Vendor from the CPUID vendor id or ARM implementer code; ``""`` if unknown."""
        return _VENDOR_IDS.get(self.vendor_id, self.vendor_id)


def _int(text: str | None) -> int | None:
    try:
        return int(text, 0) if text is not None else None
    except ValueError:
        return None


def parse_cpuinfo(text: str) -> HostCpu:
    """Parse Linux ``/proc/cpuinfo`` (x86 and ARM layouts)."""
    first: dict[str, str] = {}
    physical_ids: set[str] = set()
    flags = ""
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if name == "physical id":
            physical_ids.add(value)
        elif name in ("flags", "Features") and not flags:
            flags = value
        first.setdefault(name, value)

    vendor_id = first.get("vendor_id", "")
    if not vendor_id and "CPU implementer" in first:
        vendor_id = _ARM_IMPLEMENTERS.get(first["CPU implementer"].lower(), "ARM")
    return HostCpu(
        model_raw=first.get("model name", "") or first.get("Model Name", ""),
        vendor_id=vendor_id,
        family=_int(first.get("cpu family")),
        model_number=_int(first.get("model")),
        hypervisor="hypervisor" in flags.split(),
        threads_per_socket=_int(first.get("siblings")),
        cores_per_socket=_int(first.get("cpu cores")),
        sockets=len(physical_ids) or None,
    )


def _darwin_brand() -> str:
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    size = ctypes.c_size_t(0)
    name = b"machdep.cpu.brand_string"
    if libc.sysctlbyname(name, None, ctypes.byref(size), None, 0) != 0 or not size.value:
        return ""
    buf = ctypes.create_string_buffer(size.value)
    if libc.sysctlbyname(name, buf, ctypes.byref(size), None, 0) != 0:
        return ""
    return buf.value.decode("utf-8", "replace")


def _windows_brand() -> str:
    import winreg  # type: ignore[import-not-found,unused-ignore]

    reg: Any = winreg  # Windows-only attributes; typed as Any so other platforms type-check
    key_path = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
    with reg.OpenKey(reg.HKEY_LOCAL_MACHINE, key_path) as key:
        value, _ = reg.QueryValueEx(key, "ProcessorNameString")
    return str(value)


def read_host_cpu(cpuinfo_text: str | None = None) -> HostCpu:
    """The host CPU; ``cpuinfo_text`` replaces ``/proc/cpuinfo`` (for tests).

    Without a readable ``/proc/cpuinfo`` (macOS, Windows) the brand string comes from
    ``sysctlbyname`` or the registry. Never raises: an unreadable source gives an empty model.
    """
    if cpuinfo_text is not None:
        return parse_cpuinfo(cpuinfo_text)
    try:
        with open(CPUINFO_PATH, encoding="utf-8", errors="replace") as f:
            return parse_cpuinfo(f.read())
    except OSError:
        pass
    brand = ""
    try:
        if sys.platform == "darwin":
            brand = _darwin_brand()
        elif sys.platform == "win32":
            brand = _windows_brand()
    except (OSError, AttributeError, ImportError) as exc:
        logger.debug("CPU brand string unavailable: %s", exc)
    vendor = cpu_table.normalise(brand)[0] if brand else ""
    return HostCpu(model_raw=brand, vendor_id=vendor)


@lru_cache(maxsize=1)
def _host_cpu() -> HostCpu:
    # /proc/cpuinfo does not change while we run; read it once per process.
    return read_host_cpu()


# --------------------------------------------------------------------------------------------
# The slice of CPUs this process may use.


class CgroupCpu(namedtuple("CgroupCpu", ("quota_cpus", "usage_file"))):
    """The tightest cgroup CPU quota on this process's path, and where its usage is counted.

    ``usage_file`` is v2 ``cpu.stat`` (``usage_usec``) or v1 ``cpuacct.usage`` (ns) of the
    cgroup that holds the quota; ``None`` when it could not be found.
    """

    __slots__ = ()
    quota_cpus: float
    usage_file: str | None


def _cgroup_paths(self_cgroup: str) -> dict[str, str]:
    """Controller -> path from ``/proc/self/cgroup``; the v2 entry is under ``""``."""
    paths: dict[str, str] = {}
    for line in self_cgroup.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            paths.setdefault(controller, path)
    return paths


def _walk_up(root: str, rel: str) -> list[str]:
    """Directories from ``root/rel`` up to ``root``; just ``root`` if ``rel`` is not mounted here.

    In a container with its own cgroup namespace ``rel`` is ``/``; without one it may name a
    host path that does not exist in the container's mount, where the root is the container's.
    """
    start = os.path.normpath(os.path.join(root, rel.strip("/")))
    if not os.path.isdir(start) or os.path.commonpath((root, start)) != root:
        return [root]
    dirs = [start]
    while dirs[-1] != root:
        dirs.append(os.path.dirname(dirs[-1]))
    return dirs


def read_cgroup_file(path: str | os.PathLike[str]) -> str | None:
    """Stripped text of a cgroup (or ``/proc``) file; ``None`` when it cannot be read."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


class CgroupDirs(namedtuple("CgroupDirs", ("version", "root", "dirs"))):
    """Where one controller's files are for this process.

    ``version`` is 2 (unified hierarchy) or 1; ``root`` is the hierarchy's mount; ``dirs`` runs
    from this process's cgroup up to ``root`` (limits set on any of them apply to the process).
    All are normalised ``str`` paths.
    """

    __slots__ = ()
    version: int
    root: str
    dirs: tuple[str, ...]


def cgroup_dirs(
    controller: str,
    v1_mounts: Sequence[str],
    v1_probe: str,
    cgroup_root: str | os.PathLike[str] = CGROUP_ROOT,
    self_cgroup: str | None = None,
) -> CgroupDirs | None:
    """The cgroup directories of this process for ``controller`` (``"cpu"``, ``"memory"``).

    The unified hierarchy (v2) is recognised by ``cgroup.controllers`` at ``cgroup_root``;
    otherwise the first of the v1 mounts under it (``v1_mounts``, e.g. ``("memory",)``) whose
    root holds ``v1_probe`` (e.g. ``"memory.limit_in_bytes"``) is used. ``self_cgroup`` replaces
    the text of ``/proc/self/cgroup`` (for tests). ``None`` when the controller is not mounted.
    """
    if self_cgroup is None:
        self_cgroup = read_cgroup_file(SELF_CGROUP_PATH) or ""
    paths = _cgroup_paths(self_cgroup)
    top = os.path.normpath(cgroup_root)
    if os.path.isfile(os.path.join(top, "cgroup.controllers")):
        return CgroupDirs(2, top, tuple(_walk_up(top, paths.get("", "/"))))
    for mount in v1_mounts:
        root = os.path.join(top, mount)
        if os.path.isfile(os.path.join(root, v1_probe)):
            return CgroupDirs(1, root, tuple(_walk_up(root, paths.get(controller, "/"))))
    return None


def _v2_quota(directory: str) -> float | None:
    text = read_cgroup_file(os.path.join(directory, "cpu.max"))
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max":
        return None
    q, p = _int(quota), _int(period or "100000")
    return q / p if q and p and q > 0 and p > 0 else None


def _v1_quota(directory: str) -> float | None:
    q = _int(read_cgroup_file(os.path.join(directory, "cpu.cfs_quota_us")))
    p = _int(read_cgroup_file(os.path.join(directory, "cpu.cfs_period_us")))
    return q / p if q and p and q > 0 and p > 0 else None


def cgroup_cpu(cgroup_root: str | os.PathLike[str] = CGROUP_ROOT, self_cgroup: str | None = None) -> CgroupCpu | None:
    """The tightest CPU quota between this process's cgroup and the root; ``None`` if unlimited.

    ``self_cgroup`` replaces the text of ``/proc/self/cgroup`` (for tests). Handles the unified
    hierarchy (v2, ``cgroup.controllers`` at the root) and v1 (a ``cpu`` or ``cpu,cpuacct``
    mount under the root).
    """
    mounts = ("cpu", "cpu,cpuacct", "cpuacct,cpu")
    found = cgroup_dirs("cpu", mounts, "cpu.cfs_quota_us", cgroup_root, self_cgroup)
    if found is None:
        return None
    quota_of = _v2_quota if found.version == 2 else _v1_quota
    limits = [(q, d) for d in found.dirs if (q := quota_of(d)) is not None]
    if not limits:
        return None
    quota, where = min(limits, key=lambda item: item[0])
    if found.version == 2:
        usage = os.path.join(where, "cpu.stat")
        return CgroupCpu(quota, usage if os.path.isfile(usage) else None)
    usage = os.path.join(where, "cpuacct.usage")
    if not os.path.isfile(usage):
        # cpu and cpuacct mounted apart: the same cgroup path under the cpuacct mount.
        rel = os.path.relpath(where, found.root)
        usage = os.path.normpath(os.path.join(cgroup_root, "cpuacct", rel, "cpuacct.usage"))
    return CgroupCpu(quota, usage if os.path.isfile(usage) else None)


def read_cgroup_usage_s(usage_file: str | os.PathLike[str]) -> float:
    """Cumulative CPU seconds of a cgroup from v2 ``cpu.stat`` or v1 ``cpuacct.usage``.

    Raises :class:`SensorError` when the file cannot be read or parsed.
    """
    text = read_cgroup_file(usage_file)
    if text is None:
        raise SensorError(f"cannot read {usage_file}")
    if os.path.basename(usage_file) == "cpu.stat":
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == "usage_usec" and value.strip().isdigit():
                return int(value) / 1e6
        raise SensorError(f"no usage_usec in {usage_file}")
    if text.isdigit():
        return int(text) / 1e9
    raise SensorError(f"unexpected content in {usage_file}: {text[:40]!r}")


class CpuSlice(namedtuple("CpuSlice", ("affinity", "logical_cpus", "cgroup"), defaults=(None,))):
    """The logical CPUs this process may use.

    ``affinity`` are the CPU ids it may run on; ``quota_cpus`` the cgroup quota in CPUs
    (``None``: unlimited); ``logical_cpus`` all logical CPUs of the machine.
    """

    __slots__ = ()
    affinity: frozenset[int]
    logical_cpus: int
    cgroup: CgroupCpu | None

    @property
    def quota_cpus(self) -> float | None:
        return self.cgroup.quota_cpus if self.cgroup else None

    @property
    def visible_cpus(self) -> float:
        """Logical CPUs' worth of capacity: the affinity count, capped by the quota."""
        count = float(len(self.affinity))
        quota = self.quota_cpus
        return min(count, quota) if quota is not None else count

    @property
    def quota_limits(self) -> bool:
        """True when the cgroup quota, not the affinity mask, sets :attr:`visible_cpus`."""
        quota = self.quota_cpus
        return quota is not None and quota < len(self.affinity)


def _affinity() -> frozenset[int]:
    getter = getattr(os, "sched_getaffinity", None)
    if getter is not None:
        try:
            return frozenset(getter(0))
        except OSError:
            pass
    return frozenset(range(os.cpu_count() or 1))


def cpu_slice(
    *,
    affinity: Iterable[int] | None = None,
    logical_cpus: int | None = None,
    cgroup_root: str | os.PathLike[str] = CGROUP_ROOT,
    self_cgroup: str | None = None,
) -> CpuSlice:
    """The CPUs this process may use now; every source can be injected (for tests)."""
    cpus = frozenset(affinity) if affinity is not None else _affinity()
    total = logical_cpus if logical_cpus is not None else (os.cpu_count() or len(cpus) or 1)
    cpus = cpus or frozenset({0})
    return CpuSlice(cpus, max(total, len(cpus)), cgroup_cpu(cgroup_root, self_cgroup))


# --------------------------------------------------------------------------------------------
# How busy the slice is.

# psutil cpu_times fields that are not work done for anyone on this machine: idle and waiting
# for I/O, steal (the hypervisor ran another guest), and guest time (Linux already counts it in
# user/nice, so adding it again would count it twice).
_NOT_BUSY = frozenset({"idle", "iowait", "steal", "guest", "guest_nice"})


def busy_seconds(times: Any) -> float:
    """Busy CPU-seconds in a ``psutil.cpu_times()`` result (any platform's field set)."""
    return float(sum(v for k, v in times._asdict().items() if k not in _NOT_BUSY))


CpuTimes = Callable[..., "Any"]  # a string: Any is imported for type checkers only
"""``psutil.cpu_times``-like: ``cpu_times(percpu=False)`` -> namedtuple of seconds."""


def _host_cpu_times(percpu: bool = False) -> Any:
    # /proc/stat on Linux, psutil elsewhere
    from wattprint.core.sensors.host import cpu_times

    return cpu_times(percpu=percpu)


class SliceBusy:
    """Cumulative busy CPU-seconds of a CPU slice, spread over :attr:`cpus` CPUs.

    Where a cgroup quota sets the slice and the cgroup's usage file is readable, that usage
    is the slice's busy time (a 2-CPU container on a 64-CPU host is busy when *it* works).
    Otherwise the CPU times (``/proc/stat``, psutil off Linux) of the CPUs in the affinity mask: every CPU when the mask
    holds them all (one aggregate read), else the per-CPU times of those in the mask. With a
    quota but no readable usage file, the affinity CPUs' utilisation stands in for the slice's.
    """

    def __init__(self, slice_: CpuSlice, cpu_times: CpuTimes | None = None) -> None:
        self._cpu_times = cpu_times or _host_cpu_times
        limiting = slice_.cgroup if slice_.quota_limits else None
        self._usage_file = limiting.usage_file if limiting else None
        self._ids: tuple[int, ...] | None = None
        if self._usage_file is not None:
            self.cpus = slice_.visible_cpus
            self.source = f"cgroup {os.path.basename(self._usage_file)}"
        else:
            self.cpus = float(len(slice_.affinity))
            if len(slice_.affinity) < slice_.logical_cpus:
                self._ids = tuple(sorted(slice_.affinity))
            self.source = "CPU times"

    def busy_s(self) -> float:
        """Busy CPU-seconds since an arbitrary origin. Raises :class:`SensorError`."""
        if self._usage_file is not None:
            return read_cgroup_usage_s(self._usage_file)
        try:
            if self._ids is None:
                return busy_seconds(self._cpu_times(percpu=False))
            per_cpu = self._cpu_times(percpu=True)
            # psutil lists online CPUs in order; an id past the end means a CPU went offline.
            return sum(busy_seconds(per_cpu[i]) for i in self._ids if i < len(per_cpu))
        except (OSError, RuntimeError, AttributeError) as exc:
            raise SensorError(f"cannot read CPU times: {exc}") from exc


def machine_busy_s(cpu_times: CpuTimes | None = None) -> float:
    """Busy CPU-seconds of the whole machine (all CPUs). Raises :class:`SensorError`."""
    try:
        return busy_seconds((cpu_times or _host_cpu_times)(percpu=False))
    except (OSError, RuntimeError, AttributeError) as exc:
        raise SensorError(f"cannot read CPU times: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Putting it together: which watts per thread the estimate uses.


class CpuInfo(namedtuple(
    "CpuInfo",
    ("model_raw", "vendor", "model", "visible_cpus", "logical_cpus", "row", "match_level", "w_per_thread", "basis",
     "hypervisor", "quota_cpus"),
    defaults=(False, None),
)):
    """The CPU as the estimate sees it (printed by ``wattprint info``).

    ``match_level`` is ``"exact"`` or ``"suffix"`` (a table row was used), ``"median"`` (a
    vendor median per thread) or ``"override"`` (the user gave the figure); ``basis`` says in
    words where ``w_per_thread`` (watts per logical CPU at TDP) came from.
    """

    __slots__ = ()
    model_raw: str
    vendor: str
    model: str
    visible_cpus: float
    logical_cpus: int
    row: CpuRow | None
    match_level: str
    w_per_thread: float
    basis: str
    hypervisor: bool
    quota_cpus: float | None

    @property
    def label(self) -> str:
        """Short human name of the CPU, e.g. ``"AMD EPYC 7763"``; ``"unknown CPU"`` if none."""
        text = " ".join(part for part in (self.vendor, self.model) if part)
        return text or self.model_raw or "unknown CPU"

    @property
    def tdp_share_w(self) -> float:
        """Watts of the visible slice at TDP (``visible_cpus x w_per_thread``)."""
        return self.visible_cpus * self.w_per_thread

    @property
    def note(self) -> str:
        """One sentence on how the figure was chosen."""
        return (
            f"{self.label}: {self.basis}; {self.visible_cpus:g} of {self.logical_cpus} "
            f"logical CPUs visible"
            + (f" (cgroup quota {self.quota_cpus:g} CPUs)" if self.quota_cpus is not None else "")
        )


def _row_threads(row: CpuRow, host: HostCpu) -> tuple[int | None, str]:
    """Threads per socket to divide a row's TDP by, and where the count came from."""
    if not host.hypervisor and host.threads_per_socket:
        # On bare metal the OS sees the real chip: its thread count is right even with SMT off.
        return host.threads_per_socket, "threads per socket reported by the OS"
    if row.threads:
        return row.threads, "threads from the table"
    if row.cores:
        smt = cpu_table.smt_threads_per_core(row.model)
        if smt > 1:
            return row.cores * smt, f"{row.cores} cores x {smt} (SMT assumed for this family)"
        return row.cores, f"{row.cores} cores (no SMT assumed)"
    return None, ""


def _masked_reason(model: str, raw: str) -> str:
    if not raw.strip():
        return "model not reported"
    if not any(ch.isdigit() for ch in model):
        return "model masked"
    return "model not in table"


def _resolve_w_per_thread(host: HostCpu, rows: Sequence[CpuRow] | None = None) -> tuple[
    str, str, CpuRow | None, str, float, str
]:
    """``(vendor, model, row, match_level, w_per_thread, basis)`` for a host CPU."""
    vendor, model = cpu_table.normalise(host.model_raw) if host.model_raw else ("", "")
    vendor = vendor or host.vendor
    found = cpu_table.match(vendor, model, rows)
    if found is not None:
        threads, how = _row_threads(found.row, host)
        if threads:
            w = found.row.tdp_w / threads
            level = "exact table row"
            if found.level == SUFFIX:
                level = f"suffix match of {found.row.model}"
            basis = f"{level}: TDP {found.row.tdp_w:g} W / {threads} threads ({how})"
            return vendor, model, found.row, found.level, w, basis
        median_w, which = cpu_table.median_w_per_thread(vendor, model)
        basis = (
            f"vendor median: table row {found.row.model} ({found.row.tdp_w:g} W) has no core "
            f"count; {which} {median_w:g} W/thread"
        )
        return vendor, model, found.row, MEDIAN, median_w, basis
    median_w, which = cpu_table.median_w_per_thread(vendor, model)
    basis = f"vendor median: {_masked_reason(model, host.model_raw)}; {which} {median_w:g} W/thread"
    return vendor, model, None, MEDIAN, median_w, basis


def cpu_info(
    *,
    cpuinfo_text: str | None = None,
    slice_: CpuSlice | None = None,
    rows: Sequence[CpuRow] | None = None,
) -> CpuInfo:
    """Identify the CPU, the visible slice and the watts per thread the estimate will use.

    ``cpuinfo_text`` replaces ``/proc/cpuinfo``, ``slice_`` the detected slice (see
    :func:`cpu_slice`), ``rows`` the bundled table. ``/proc/cpuinfo`` is read once per process.
    """
    host = _host_cpu() if cpuinfo_text is None else read_host_cpu(cpuinfo_text)
    slice_ = slice_ if slice_ is not None else cpu_slice()
    vendor, model, row, level, w, basis = _resolve_w_per_thread(host, rows)
    if not math.isfinite(w) or w <= 0:  # a bad table row must not zero the estimate silently
        median_w, which = cpu_table.median_w_per_thread(vendor, model)
        level, w, basis = MEDIAN, median_w, f"vendor median: table TDP unusable; {which}"
    return CpuInfo(
        model_raw=host.model_raw,
        vendor=vendor,
        model=model,
        visible_cpus=slice_.visible_cpus,
        logical_cpus=slice_.logical_cpus,
        row=row,
        match_level=level,
        w_per_thread=w,
        basis=basis,
        hypervisor=host.hypervisor,
        quota_cpus=slice_.quota_cpus,
    )
