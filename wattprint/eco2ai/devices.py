"""ECO2AI's ``available_devices``: print the CPU and GPUs wattprint measures here."""

from __future__ import annotations

from wattprint.core.clock import SYSTEM_CLOCK
from wattprint.core.distributed import RankInfo


def all_available_cpu() -> None:
    """Print the CPU model and its number of sockets."""
    from wattprint.core.sensors.cpu_info import cpu_info, read_host_cpu

    try:
        model, sockets = cpu_info().model_raw, read_host_cpu().sockets or 1
    except OSError:
        print("There is no any available cpu device(s)")
        return
    print(f"Seeable cpu device(s):\n        {model}: {sockets} device(s)")


def all_available_gpu() -> None:
    """Print the GPUs wattprint finds (NVIDIA through NVML, AMD through amdsmi)."""
    from wattprint.core.discovery import discover
    from wattprint.core.measurement import GPU

    found = discover(scope="machine", clock=SYSTEM_CLOCK, measure_host=False, gpu=True, ranks=RankInfo(0, 0, 1))
    gpus = [s for s in found.sensors if s.domain == GPU]
    for sensor in found.sensors:
        sensor.close()
    if not gpus:
        print("There is no any available gpu device(s)")
        return
    names = sorted({s.name for s in gpus})
    print(f"Seeable gpu device(s):\n        {', '.join(names)}: {len(gpus)} device(s)")


def available_devices() -> None:
    """Print the CPU and GPU devices this machine has, as ECO2AI does."""
    all_available_cpu()
    all_available_gpu()
