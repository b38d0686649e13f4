"""A fake ``pynvml`` (nvidia-ml-py) module for machines without an NVIDIA GPU.

``FakeNvml(gpus).module`` is a module object whose public names all exist in the real
``pynvml`` with the same parameters (a test checks this against the installed binding), and
whose units are the real ones: energy in mJ, power and power limits in mW, utilisation in %.
Behaviour mirrored from nvidia-ml-py 13.x:

* errors are ``NVMLError(code)``, which constructs the per-code subclass (``NVMLError_NotSupported``
  ...) and carries ``.value``;
* every device call before ``nvmlInit`` or after the matching ``nvmlShutdown`` raises
  ``NVML_ERROR_UNINITIALIZED`` (NVML counts inits and shutdowns);
* MIG device handles answer ``NotSupported`` for energy, power and utilisation, and so does
  utilisation on a GPU in MIG mode;
* ``nvmlDeviceIsMigDeviceHandle`` returns a ``ctypes.c_uint``, as the real one does;
* ``strings_as_bytes=True`` makes names and UUIDs ``bytes``, as older bindings returned them.

The state of each :class:`FakeGpu` (``energy_mj``, ``power_mw``, ``utilisation_pct``) can be
changed between reads; ``None`` means the GPU does not support that reading. ``fail`` injects an
error from call N of a function onwards: ``fail={"nvmlDeviceGetTotalEnergyConsumption": (3,
NVML_ERROR_GPU_IS_LOST)}`` lets two reads succeed and every later one raise.
"""

from __future__ import annotations

import ctypes
import string
import types
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

# Values of nvidia-ml-py 13.x.
NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_UNKNOWN = 999

NVML_DEVICE_ARCH_KEPLER = 2
NVML_DEVICE_ARCH_PASCAL = 4
NVML_DEVICE_ARCH_VOLTA = 5
NVML_DEVICE_ARCH_AMPERE = 7
NVML_DEVICE_ARCH_HOPPER = 9

_ERROR_CODES = {name: value for name, value in dict(globals()).items() if name.startswith("NVML_ERROR_")}
_ERROR_TEXT = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """``NVMLError(code)`` builds the subclass for ``code``, like the real binding."""

    _valClassMapping: ClassVar[dict[int, type[NVMLError]]] = {}  # noqa: N815 - the real binding's name
    value: int

    def __new__(cls, value: int) -> NVMLError:
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        return _ERROR_TEXT.get(self.value, f"NVML Error with code {self.value}")


def _error_classes() -> dict[str, type[NVMLError]]:
    classes = {}
    for err_name, err_value in _ERROR_CODES.items():
        # NVML_ERROR_GPU_IS_LOST -> NVMLError_GpuIsLost, as the real binding names them.
        class_name = "NVMLError_" + string.capwords(err_name.replace("NVML_ERROR_", ""), "_").replace("_", "")
        cls = type(class_name, (NVMLError,), {})
        NVMLError._valClassMapping[err_value] = cls
        classes[class_name] = cls
    return classes


_ERROR_CLASSES = _error_classes()


class c_nvmlUtilization_t(ctypes.Structure):  # noqa: N801 - the real binding's name
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]


@dataclass
class FakeGpu:
    """One physical GPU. Readings are the values returned now; ``None`` = not supported."""

    uuid: str
    name: str = "NVIDIA A100-SXM4-40GB"
    energy_mj: int | None = 0
    power_mw: int | None = 100_000
    power_limit_mw: int | None = 400_000
    utilisation_pct: int | None = 50
    architecture: int = NVML_DEVICE_ARCH_AMPERE
    mig: list[str] = field(default_factory=list)
    fail: dict[str, tuple[int, int]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    def add_energy(self, delta_mj: int) -> None:
        assert self.energy_mj is not None, "this GPU has no energy counter"
        self.energy_mj += delta_mj


@dataclass(frozen=True, eq=False)
class _Handle:
    """Stands for ``c_nvmlDevice_t``: opaque, compared by identity."""

    gpu: FakeGpu
    mig_uuid: str | None = None


class FakeNvml:
    """Holds the fake driver state; ``module`` is the ``pynvml`` stand-in to inject."""

    def __init__(
        self,
        gpus: Iterable[FakeGpu] = (),
        *,
        init_error: int | None = None,
        strings_as_bytes: bool = False,
    ) -> None:
        self.gpus = list(gpus)
        self.init_error = init_error
        self.strings_as_bytes = strings_as_bytes
        self.refcount = 0
        self.init_calls = 0
        self.shutdown_calls = 0
        self._handles = [_Handle(gpu) for gpu in self.gpus]
        self._mig_handles = {uuid: _Handle(gpu, uuid) for gpu in self.gpus for uuid in gpu.mig}
        self.module = self._build_module()

    # -- helpers -------------------------------------------------------------------------
    def _check_init(self) -> None:
        if self.refcount <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _device_call(self, handle: _Handle, function: str) -> FakeGpu:
        self._check_init()
        if not isinstance(handle, _Handle):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        gpu = handle.gpu
        gpu.calls[function] += 1
        rule = gpu.fail.get(function)
        if rule is not None and gpu.calls[function] >= rule[0]:
            raise NVMLError(rule[1])
        return gpu

    def _text(self, value: str) -> str | bytes:
        return value.encode() if self.strings_as_bytes else value

    @staticmethod
    def _supported(value: int | None, handle: _Handle) -> int:
        if value is None or handle.mig_uuid is not None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return value

    # -- the module ----------------------------------------------------------------------
    def _build_module(self) -> types.ModuleType:
        fake = self
        module = types.ModuleType("pynvml", "Fake NVIDIA Management Library bindings (tests only).")

        def nvmlInit() -> None:
            fake.init_calls += 1
            if fake.init_error is not None:
                raise NVMLError(fake.init_error)
            fake.refcount += 1

        def nvmlShutdown() -> None:
            fake.shutdown_calls += 1
            fake._check_init()
            fake.refcount -= 1

        def nvmlDeviceGetCount() -> int:
            fake._check_init()
            return len(fake.gpus)

        def nvmlDeviceGetHandleByIndex(index: int) -> _Handle:
            fake._check_init()
            if not 0 <= index < len(fake._handles):
                raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
            return fake._handles[index]

        def nvmlDeviceGetHandleByUUID(uuid: str | bytes) -> _Handle:
            fake._check_init()
            text = uuid.decode() if isinstance(uuid, bytes) else uuid
            for handle in fake._handles:
                if handle.gpu.uuid == text:
                    return handle
            if text in fake._mig_handles:
                return fake._mig_handles[text]
            raise NVMLError(NVML_ERROR_NOT_FOUND)

        def nvmlDeviceGetUUID(handle: _Handle) -> str | bytes:
            gpu = fake._device_call(handle, "nvmlDeviceGetUUID")
            return fake._text(handle.mig_uuid or gpu.uuid)

        def nvmlDeviceGetName(handle: _Handle) -> str | bytes:
            gpu = fake._device_call(handle, "nvmlDeviceGetName")
            return fake._text(f"{gpu.name} MIG 1g.5gb" if handle.mig_uuid else gpu.name)

        def nvmlDeviceGetIndex(handle: _Handle) -> int:
            fake._device_call(handle, "nvmlDeviceGetIndex")
            return fake.gpus.index(handle.gpu)

        def nvmlDeviceGetTotalEnergyConsumption(handle: _Handle) -> int:
            gpu = fake._device_call(handle, "nvmlDeviceGetTotalEnergyConsumption")
            return fake._supported(gpu.energy_mj, handle)

        def nvmlDeviceGetPowerUsage(handle: _Handle) -> int:
            gpu = fake._device_call(handle, "nvmlDeviceGetPowerUsage")
            return fake._supported(gpu.power_mw, handle)

        def nvmlDeviceGetEnforcedPowerLimit(handle: _Handle) -> int:
            gpu = fake._device_call(handle, "nvmlDeviceGetEnforcedPowerLimit")
            return fake._supported(gpu.power_limit_mw, handle)

        def nvmlDeviceGetUtilizationRates(handle: _Handle) -> c_nvmlUtilization_t:
            gpu = fake._device_call(handle, "nvmlDeviceGetUtilizationRates")
            if gpu.mig:  # "not supported on MIG-enabled GPUs"
                raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
            return c_nvmlUtilization_t(fake._supported(gpu.utilisation_pct, handle), 0)

        def nvmlDeviceGetArchitecture(device: _Handle) -> int:
            return fake._device_call(device, "nvmlDeviceGetArchitecture").architecture

        def nvmlDeviceIsMigDeviceHandle(device: _Handle) -> ctypes.c_uint:
            fake._device_call(device, "nvmlDeviceIsMigDeviceHandle")
            return ctypes.c_uint(1 if device.mig_uuid else 0)

        def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(migDevice: _Handle) -> _Handle:  # noqa: N803
            gpu = fake._device_call(migDevice, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle")
            if migDevice.mig_uuid is None:
                raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
            return fake._handles[fake.gpus.index(gpu)]

        def nvmlDeviceGetMaxMigDeviceCount(device: _Handle) -> int:
            gpu = fake._device_call(device, "nvmlDeviceGetMaxMigDeviceCount")
            if not gpu.mig:
                raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
            return 7

        def nvmlDeviceGetMigDeviceHandleByIndex(device: _Handle, index: int) -> _Handle:
            gpu = fake._device_call(device, "nvmlDeviceGetMigDeviceHandleByIndex")
            if not 0 <= index < len(gpu.mig):
                raise NVMLError(NVML_ERROR_NOT_FOUND)
            return fake._mig_handles[gpu.mig[index]]

        for function in (
            nvmlInit,
            nvmlShutdown,
            nvmlDeviceGetCount,
            nvmlDeviceGetHandleByIndex,
            nvmlDeviceGetHandleByUUID,
            nvmlDeviceGetUUID,
            nvmlDeviceGetName,
            nvmlDeviceGetIndex,
            nvmlDeviceGetTotalEnergyConsumption,
            nvmlDeviceGetPowerUsage,
            nvmlDeviceGetEnforcedPowerLimit,
            nvmlDeviceGetUtilizationRates,
            nvmlDeviceGetArchitecture,
            nvmlDeviceIsMigDeviceHandle,
            nvmlDeviceGetDeviceHandleFromMigDeviceHandle,
            nvmlDeviceGetMaxMigDeviceCount,
            nvmlDeviceGetMigDeviceHandleByIndex,
        ):
            setattr(module, function.__name__, function)
        module.NVMLError = NVMLError
        module.c_nvmlUtilization_t = c_nvmlUtilization_t
        for name, cls in _ERROR_CLASSES.items():
            setattr(module, name, cls)
        for name, value in dict(globals()).items():
            if name.startswith(("NVML_ERROR_", "NVML_DEVICE_ARCH_")) or name == "NVML_SUCCESS":
                setattr(module, name, value)
        return module
