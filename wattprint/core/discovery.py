"""Choose the sensors for this process: counters first, estimates where nothing is readable.

Host domains (CPU, RAM) are measured only where ``measure_host`` is true (local rank 0 in a
distributed job). CPU: RAPL package zones, else the TDP-table estimate. RAM: RAPL dram zones,
else the W/GB estimate. GPU: NVML and amdsmi devices visible to this process; in a
multi-process job where a rank sees several GPUs, the rank keeps the one at its local rank.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping

# The host sensors are imported with this module, which the Tracker's module imports, so that
# Tracker.start() (on the training path) does not pay their import. They read /proc on Linux;
# psutil is imported only where it is needed (other platforms, process trees). GPU vendor
# modules stay lazy: they are only needed where a driver is present.
from wattprint._log import getLogger
from wattprint.core.clock import Clock
from wattprint.core.distributed import RankInfo
from wattprint.core.measurement import CPU, GPU, RAM
from wattprint.core.sensors.base import Discovery, Sensor, UnavailableSensor
from wattprint.core.sensors.cpu_estimate import cpu_estimate_sensor
from wattprint.core.sensors.process import ProcessTree, ScaledHostSensor
from wattprint.core.sensors.ram_estimate import ram_estimate_sensor
from wattprint.core.sensors.rapl import discover_rapl

log = getLogger(__name__)


def discover(
    *,
    scope: str,
    clock: Clock,
    measure_host: bool,
    gpu: bool,
    ranks: RankInfo,
    environ: Mapping[str, str] | None = None,
) -> Discovery:
    """Find the sensors this process should read. Never raises for missing hardware."""
    env = os.environ if environ is None else environ
    found = Discovery()
    if measure_host:
        found.extend(_host_sensors(scope, clock, env))
    else:
        found.notes.append(
            f"host: CPU and RAM are measured by local rank 0 of this node, not by local rank {ranks.local_rank}"
        )
    if gpu:
        found.extend(_gpu_sensors(clock, env, ranks))
    return found


def _host_sensors(scope: str, clock: Clock, env: Mapping[str, str]) -> Discovery:
    out = Discovery()
    rapl = discover_rapl(environ=env)
    out.notes.extend(rapl.notes)
    for note in rapl.notes:
        # An unreadable counter is the one case the user can fix, so it is worth a warning.
        if "permission" in note.lower():
            warnings.warn(f"wattprint: {note}", RuntimeWarning, stacklevel=4)
    process = ProcessTree() if scope == "process" else None
    cpu = [s for s in rapl.sensors if s.domain == CPU]
    ram = [s for s in rapl.sensors if s.domain == RAM]
    if process is not None:
        cpu = [ScaledHostSensor(s, process) for s in cpu]
        ram = [ScaledHostSensor(s, process, basis="memory") for s in ram]
    if not cpu:
        cpu = [_estimate(CPU, cpu_estimate_sensor, scope, clock, process)]
        out.notes.append(f"cpu: estimated ({cpu[0].note})")
    if not ram:
        ram = [_estimate(RAM, ram_estimate_sensor, scope, clock, process)]
        out.notes.append(f"ram: estimated ({ram[0].note})")
    out.sensors.extend(cpu + ram)
    return out


def _estimate(domain: str, make, scope: str, clock: Clock, process) -> Sensor:
    # An estimate that cannot take its first reading (no /proc/stat in a sandbox) must not
    # stop start(): the domain is then reported failed and the others are measured.
    try:
        return make(scope=scope, clock=clock, process=process)
    except Exception as exc:
        return UnavailableSensor(domain, f"the {domain} estimate could not start: {exc}")


# Device nodes every driver creates on Linux. Looking for them costs microseconds, where importing
# and initialising a vendor library costs tens of milliseconds at every start().
_NVIDIA_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/dxg")  # dxg: WSL2
_AMD_NODES = ("/dev/kfd",)


def _driver_absent(nodes: tuple[str, ...]) -> bool:
    """True only on Linux when none of the driver's device nodes exists."""
    return sys.platform.startswith("linux") and not any(os.path.exists(n) for n in nodes)


def _gpu_sensors(clock: Clock, env: Mapping[str, str], ranks: RankInfo) -> Discovery:
    out = Discovery()
    finders = []
    if _driver_absent(_NVIDIA_NODES):
        out.notes.append("NVML: no NVIDIA driver (no /dev/nvidiactl); no NVIDIA GPU measured")
    else:
        from wattprint.core.sensors.nvml import discover_nvml

        finders.append(discover_nvml)
    if _driver_absent(_AMD_NODES):
        out.notes.append("AMD: no ROCm driver (no /dev/kfd); no AMD GPU measured")
    else:
        from wattprint.core.sensors.amd import discover_amd

        finders.append(discover_amd)
    for finder in finders:
        try:
            out.extend(finder(clock=clock, environ=env))
        except Exception as exc:  # a vendor library misbehaving must not stop the run
            out.notes.append(f"{finder.__name__}: failed ({exc}); no GPU domain from it")
    gpus = [s for s in out.sensors if s.domain == GPU]
    if ranks.distributed and len(gpus) > 1:
        # torchrun leaves every GPU visible and each rank uses cuda:LOCAL_RANK.
        keep = gpus[ranks.local_rank % len(gpus)]
        for s in gpus:
            if s is not keep:
                s.close()
        out.sensors = [s for s in out.sensors if s.domain != GPU or s is keep]
        out.notes.append(f"gpu: rank {ranks.rank} measures {keep.name} (local rank {ranks.local_rank})")
    return out
