"""A fake ``amdsmi`` module (ROCm AMD SMI Python bindings) for machines without an AMD GPU.

Names, return shapes and units follow amdsmi 7.0 (``amdsmi_interface.py``):

* ``amdsmi_get_energy_count(h)`` -> ``{"energy_accumulator", "counter_resolution", "timestamp"}``;
  energy in µJ is accumulator x resolution (ROCm before 6.2.1 named the accumulator ``"power"``:
  ``legacy_key=True``);
* ``amdsmi_get_power_info(h)`` -> ``socket_power``, ``current_socket_power``,
  ``average_socket_power`` in **watts**, the string ``"N/A"`` where unsupported;
* ``amdsmi_get_gpu_enumeration_info(h)["hip_id"]`` gives HIP's index (ROCm 6.4+; leave it out
  with ``enumeration=False``);
* library failures raise ``AmdSmiLibraryException(err_code)``, a subclass of ``AmdSmiException``.

The true energy of each GPU accrues at its ``power_w`` on the injected clock; what the counter
reports is programmable: ``counter="ok"`` (correct), ``"frozen"`` (stuck, as on MI100 with old
ROCm), ``"none"`` (not supported), and ``counter_scale`` (a counter off by that factor). So is
the power reading: ``power_report="ok"`` (``power_w``), ``"zero"`` (the second die of an MI250)
or ``"na"`` (``"N/A"``, unsupported).
"""

from __future__ import annotations

import enum
import types
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from wattprint.testing import FakeClock

# Values of amdsmi 7.0 (amdsmi_wrapper.py).
AMDSMI_STATUS_NOT_SUPPORTED = 2
AMDSMI_STATUS_INIT_ERROR = 18
AMDSMI_STATUS_DRIVER_NOT_LOADED = 34


class AmdSmiException(Exception):
    """Base smi exception class."""


class AmdSmiLibraryException(AmdSmiException):
    def __init__(self, err_code: int) -> None:
        err_code = abs(err_code)
        super().__init__(err_code)
        self.err_code = err_code

    def get_error_code(self) -> int:
        return self.err_code

    def __str__(self) -> str:
        return f"Error code:\n\t{self.err_code} | AMDSMI_STATUS {self.err_code}"


class AmdSmiInitFlags(enum.IntEnum):
    INIT_ALL_PROCESSORS = 4294967295
    INIT_AMD_CPUS = 1
    INIT_AMD_GPUS = 2
    INIT_NON_AMD_CPUS = 4
    INIT_NON_AMD_GPUS = 8
    INIT_AMD_APUS = 3


@dataclass
class FakeAmdGpu:
    """One AMD GPU (or one die of a multi-die part such as an MI250)."""

    uuid: str
    market_name: str = "AMD Instinct MI300X"
    hip_id: int | None = None
    power_w: float = 300.0
    power_report: str = "ok"
    counter: str = "ok"
    counter_scale: float = 1.0
    resolution_uj: float = 15.3
    legacy_key: bool = False
    fail: dict[str, tuple[int, int]] = field(default_factory=dict)
    true_energy_uj: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    #: the accumulator's value when the test starts (it counts from boot)
    start_accumulator: int = 123_456_789


@dataclass(frozen=True, eq=False)
class _Handle:
    """Stands for ``amdsmi_processor_handle``: opaque, compared by identity."""

    gpu: FakeAmdGpu


class FakeAmdSmi:
    """Holds the fake library state; ``module`` is the ``amdsmi`` stand-in to inject."""

    def __init__(
        self,
        gpus: Iterable[FakeAmdGpu] = (),
        *,
        clock: FakeClock,
        init_error: int | None = None,
        enumeration: bool = True,
    ) -> None:
        self.gpus = list(gpus)
        self.clock = clock
        self.init_error = init_error
        self.initialised = 0
        self.shutdown_calls = 0
        self._handles = [_Handle(gpu) for gpu in self.gpus]
        self._last_t = clock.monotonic()
        self.module = self._build_module(enumeration)

    def _accrue(self) -> None:
        now = self.clock.monotonic()
        for gpu in self.gpus:
            gpu.true_energy_uj += gpu.power_w * (now - self._last_t) * 1e6
        self._last_t = now

    def _device_call(self, handle: _Handle, function: str) -> FakeAmdGpu:
        if self.initialised <= 0:
            raise AmdSmiLibraryException(32)  # AMDSMI_STATUS_NOT_INIT
        self._accrue()
        gpu = handle.gpu
        gpu.calls[function] += 1
        rule = gpu.fail.get(function)
        if rule is not None and gpu.calls[function] >= rule[0]:
            raise AmdSmiLibraryException(rule[1])
        return gpu

    def _build_module(self, enumeration: bool) -> types.ModuleType:
        fake = self
        module = types.ModuleType("amdsmi", "Fake AMD SMI bindings (tests only).")

        def amdsmi_init(flag: AmdSmiInitFlags = AmdSmiInitFlags.INIT_AMD_GPUS) -> None:
            if fake.init_error is not None:
                raise AmdSmiLibraryException(fake.init_error)
            fake.initialised += 1

        def amdsmi_shut_down() -> None:
            fake.shutdown_calls += 1
            fake.initialised -= 1

        def amdsmi_get_processor_handles() -> list[_Handle]:
            if fake.initialised <= 0:
                raise AmdSmiLibraryException(32)
            return list(fake._handles)

        def amdsmi_get_gpu_device_uuid(processor_handle: _Handle) -> str:
            return fake._device_call(processor_handle, "amdsmi_get_gpu_device_uuid").uuid

        def amdsmi_get_gpu_asic_info(processor_handle: _Handle) -> dict[str, object]:
            gpu = fake._device_call(processor_handle, "amdsmi_get_gpu_asic_info")
            return {
                "market_name": gpu.market_name,
                "vendor_id": 0x1002,
                "vendor_name": "Advanced Micro Devices Inc. [AMD/ATI]",
            }

        def amdsmi_get_gpu_enumeration_info(processor_handle: _Handle) -> dict[str, object]:
            gpu = fake._device_call(processor_handle, "amdsmi_get_gpu_enumeration_info")
            hip_id = gpu.hip_id if gpu.hip_id is not None else fake.gpus.index(gpu)
            return {
                "drm_render": 128 + hip_id,
                "drm_card": hip_id,
                "hsa_id": hip_id + 1,
                "hip_id": hip_id,
                "hip_uuid": f"GPU-{gpu.uuid[:16]}",
            }

        def amdsmi_get_energy_count(processor_handle: _Handle) -> dict[str, object]:
            gpu = fake._device_call(processor_handle, "amdsmi_get_energy_count")
            if gpu.counter == "none":
                raise AmdSmiLibraryException(AMDSMI_STATUS_NOT_SUPPORTED)
            accumulator = gpu.start_accumulator
            if gpu.counter == "ok":
                accumulator += int(gpu.true_energy_uj * gpu.counter_scale / gpu.resolution_uj)
            key = "power" if gpu.legacy_key else "energy_accumulator"
            return {
                key: accumulator,
                "counter_resolution": gpu.resolution_uj,
                "timestamp": int(fake.clock.monotonic() * 1e9),
            }

        def amdsmi_get_power_info(processor_handle: _Handle) -> dict[str, object]:
            gpu = fake._device_call(processor_handle, "amdsmi_get_power_info")
            power = {"ok": round(gpu.power_w), "zero": 0, "na": "N/A"}[gpu.power_report]
            return {
                "socket_power": power,
                "current_socket_power": power,
                "average_socket_power": power,
                "gfx_voltage": "N/A",
                "soc_voltage": "N/A",
                "mem_voltage": "N/A",
                "power_limit": 750_000_000,
            }

        functions = [
            amdsmi_init,
            amdsmi_shut_down,
            amdsmi_get_processor_handles,
            amdsmi_get_gpu_device_uuid,
            amdsmi_get_gpu_asic_info,
            amdsmi_get_energy_count,
            amdsmi_get_power_info,
        ]
        if enumeration:
            functions.append(amdsmi_get_gpu_enumeration_info)
        for function in functions:
            setattr(module, function.__name__, function)
        module.AmdSmiInitFlags = AmdSmiInitFlags
        module.AmdSmiException = AmdSmiException
        module.AmdSmiLibraryException = AmdSmiLibraryException
        return module
