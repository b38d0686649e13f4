"""The host's CPU times and memory: read from ``/proc`` on Linux, through psutil elsewhere.

What the CPU and RAM estimates poll is two small files on Linux (``/proc/stat``,
``/proc/meminfo``), read here directly with the same field names and units psutil gives
(seconds, bytes): psutil's import costs about 4 MB and 15 ms (it loads ``socket``,
``subprocess`` and its C extension), a tenth of what ``import wattprint`` and a tracker's
start cost in all. Where ``/proc`` is not there (macOS, Windows) psutil reads them, and
psutil stays the reader of process trees (``scope="process"``), where it earns its place.
"""

from __future__ import annotations

import os
from collections import namedtuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["cpu_times", "virtual_memory"]

# /proc/stat's columns, in psutil's names (psutil.cpu_times on Linux), jiffies.
_CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")
CpuTimes = namedtuple("CpuTimes", _CPU_FIELDS)  # psutil's shape: _asdict, attributes
VirtualMemory = namedtuple("VirtualMemory", ("total", "available"))

_STAT = "/proc/stat"
_MEMINFO = "/proc/meminfo"
_ticks: float | None = None


_readable: dict[str, bool] = {}


def _proc_readable(path: str) -> bool:
    """Whether ``path`` under ``/proc`` can be read (asked once: read at every window's close)."""
    found = _readable.get(path)
    if found is None:
        found = _readable[path] = os.name == "posix" and os.access(path, os.R_OK)
    return found


def cpu_times(percpu: bool = False) -> Any:
    """``psutil.cpu_times(percpu)``: seconds per state, of all CPUs or a list per online CPU."""
    if not _proc_readable(_STAT):
        import psutil

        return psutil.cpu_times(percpu=percpu)
    global _ticks
    if _ticks is None:
        _ticks = float(os.sysconf("SC_CLK_TCK"))
    out = []
    with open(_STAT, "rb") as f:
        for line in f:
            if not line.startswith(b"cpu"):
                break  # the cpu lines come first
            head, _, rest = line.partition(b" ")
            if (head == b"cpu") != percpu:
                values = [int(v) / _ticks for v in rest.split()[: len(_CPU_FIELDS)]]
                values += [0.0] * (len(_CPU_FIELDS) - len(values))  # older kernels have fewer columns
                out.append(CpuTimes(*values))
                if not percpu:
                    break
    if not out:
        raise RuntimeError(f"no cpu line in {_STAT}")
    return out if percpu else out[0]


#: Bytes of ``/proc/meminfo`` read first: its first lines are MemTotal, MemFree and MemAvailable.
_MEMINFO_HEAD = 256
_WANTED = (b"MemTotal", b"MemAvailable", b"MemFree", b"Buffers", b"Cached", b"SReclaimable")


def virtual_memory() -> Any:
    """``psutil.virtual_memory()``'s ``total`` and ``available``, bytes."""
    if not _proc_readable(_MEMINFO):
        import psutil

        return psutil.virtual_memory()
    # Read every time a window closes: the head of the file holds the two figures needed
    # (the kernel has had MemAvailable, third, since 3.14); the whole file only without it.
    with open(_MEMINFO, "rb", buffering=0) as f:
        head = f.read(_MEMINFO_HEAD)
        fields = _meminfo_fields(head.rpartition(b"\n")[0])
        if b"MemAvailable" not in fields or b"MemTotal" not in fields:
            fields = _meminfo_fields(head + f.read())
    if b"MemTotal" not in fields:
        raise RuntimeError(f"no MemTotal in {_MEMINFO}")
    available = fields.get(b"MemAvailable")
    if available is None:  # kernels before 3.14: psutil's own fallback estimate
        available = sum(fields.get(k, 0) for k in (b"MemFree", b"Buffers", b"Cached", b"SReclaimable"))
    return VirtualMemory(fields[b"MemTotal"], min(available, fields[b"MemTotal"]))


def _meminfo_fields(text: bytes) -> dict[bytes, int]:
    """The fields of ``/proc/meminfo`` that :func:`virtual_memory` uses, in bytes (the file says kB)."""
    fields: dict[bytes, int] = {}
    for line in text.split(b"\n"):
        name, _, rest = line.partition(b":")
        if name in _WANTED:
            fields[name] = int(rest.split()[0]) * 1024
            if name == b"MemAvailable" and b"MemTotal" in fields:
                break  # all that is needed
    return fields
