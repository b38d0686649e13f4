"""NVIDIA GPUs through NVML (the ``nvidia-ml-py`` binding, imported as ``pynvml`` on first use).

Per GPU, the best reading the device offers:

* ``counter``   -- ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver loaded; Volta
  and later). A decrease means the driver was reloaded: counting restarts from the new value.
* ``sampled``   -- ``nvmlDeviceGetPowerUsage`` (mW) integrated by the sampler (older GPUs).
* ``estimated`` -- neither is readable (some vGPU profiles): the enforced power limit (mW), else
  the GPU table's board power, else 200 W, scaled by ``nvmlDeviceGetUtilizationRates`` with an
  idle floor (see :mod:`~wattprint.core.sensors.gpu_table`).

Which GPUs
    Those this process can see. ``CUDA_VISIBLE_DEVICES`` may list integers, full or prefix GPU
    UUIDs (``GPU-8932f937``) or MIG devices (``MIG-<uuid>``, legacy ``MIG-GPU-<uuid>/<gi>/<ci>``).
    UUIDs are matched against NVML's; integers are taken as NVML indices, which equal CUDA's
    ordinals only under ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or when all GPUs are the same model (a
    note says so otherwise). As in CUDA, an entry that matches nothing hides every entry after
    it; an empty value hides all GPUs; unset shows all. A MIG slice has no energy or power
    reading of its own, so its physical GPU is measured, once, with a note.

Lifetime
    Each :func:`discover_nvml` call makes one ``nvmlInit``; the matching ``nvmlShutdown`` runs
    once, when the last sensor from that call is closed (NVML counts inits and shutdowns).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from wattprint._log import getLogger
from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import SensorError
from wattprint.core.measurement import COUNTER, ESTIMATED
from wattprint.core.sensors.base import Discovery, IntegratingSensor, Sensor, Unwrapper
from wattprint.core.sensors.gpu_common import (
    FROM_ENV,
    FromEnv,
    GpuDevice,
    GpuPowerSensor,
    GpuSession,
    add_sensors,
    describe,
    discover_in_session,
    is_index,
    open_sensor,
    visible_entries,
)
from wattprint.core.sensors.gpu_table import (
    GENERIC_GPU_TDP_W,
    IDLE_FRACTION,
    estimated_gpu_power_w,
    gpu_tdp_w,
)
from wattprint.core.units import mj_to_j, mw_to_w

log = getLogger(__name__)

VISIBLE_ENV = "CUDA_VISIBLE_DEVICES"
ORDER_ENV = "CUDA_DEVICE_ORDER"

# NVML return codes (nvml.h); read from the module when it has them.
_NOT_SUPPORTED = 3
_NO_PERMISSION = 4
_DRIVER_NOT_LOADED = 9
_LIBRARY_NOT_FOUND = 12
_FUNCTION_NOT_FOUND = 13

_NOT_INSTALLED = "NVML: nvidia-ml-py is not installed (pip install nvidia-ml-py); no NVIDIA GPU measured"
_NOT_NVIDIAS = "NVML: the 'pynvml' module found is not NVIDIA's nvidia-ml-py binding; no NVIDIA GPU measured"
_LEGACY_MIG_RE = re.compile(r"^MIG-(GPU-[0-9a-fA-F-]+)/\d+/\d+$")


def _code(nvml: Any, name: str, default: int) -> int:
    return int(getattr(nvml, name, default))


def _text(value: str | bytes) -> str:
    """Older bindings return ``bytes`` for names and UUIDs; newer ones ``str``."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@dataclass
class _Gpu:
    """A physical GPU as NVML lists it."""

    index: int
    handle: Any
    uuid: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} (GPU {self.index})"

    @property
    def key(self) -> str:
        return f"nvml:{self.uuid}"


class _Device(GpuDevice):
    """A GPU held by one sensor: calls NVML and turns its errors into :class:`SensorError`."""

    gpu: _Gpu

    def call(self, function: str) -> Any:
        self._check_open()
        try:
            return getattr(self.library, function)(self.gpu.handle)
        except self.library.NVMLError as exc:
            raise SensorError(
                f"{self.gpu.label}: {function} failed: {exc} (NVML error {getattr(exc, 'value', '?')})"
            ) from exc

    def power_w(self) -> float:
        return mw_to_w(self.call("nvmlDeviceGetPowerUsage"))


class NvmlEnergySensor(Sensor):
    """Cumulative joules from the GPU's total-energy counter (mJ); method ``counter``."""

    method = COUNTER
    needs_polling = False

    def __init__(self, device: _Device, first_mj: int) -> None:
        super().__init__()
        self._device = device
        self._unwrapper = Unwrapper(first_mj, None)
        describe(self, device, "NVML total-energy counter (mJ)")

    def _read_j(self) -> float:
        raw_mj = self._device.call("nvmlDeviceGetTotalEnergyConsumption")
        resets = self._unwrapper.wraps
        total_mj = self._unwrapper.update(raw_mj)
        if self._unwrapper.wraps != resets:
            log.warning(
                "%s: energy counter went back (driver reloaded?); counting on from its new value", self.name
            )
        return mj_to_j(total_mj)

    def close(self) -> None:
        self._device.close()


class NvmlPowerSensor(GpuPowerSensor):
    """Board power (mW) integrated over time; method ``sampled``."""

    def __init__(self, device: _Device, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(
            device, "NVML power (mW) integrated by the sampler: this GPU has no energy counter", clock
        )


class NvmlEstimateSensor(IntegratingSensor):
    """Modelled power: ``max_power_w`` x the utilisation curve, integrated over time; ``estimated``."""

    method = ESTIMATED

    def __init__(
        self,
        device: _Device,
        max_power_w: float,
        *,
        source: str,
        utilisation: bool,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._device = device
        self.max_power_w = max_power_w
        self._utilisation = utilisation
        super().__init__(clock)
        load = (
            f"x utilisation (idle floor {IDLE_FRACTION:.0%})"
            if utilisation
            else "at full load (utilisation unavailable: an upper bound)"
        )
        describe(self, device, f"no NVML energy or power reading; {max_power_w:.0f} W ({source}) {load}")

    def _energy_since_j(self, now: float, dt_s: float) -> float:
        utilisation = self._device.call("nvmlDeviceGetUtilizationRates").gpu if self._utilisation else None
        return estimated_gpu_power_w(self.max_power_w, utilisation) * dt_s

    def close(self) -> None:
        self._device.close()


def discover_nvml(
    *,
    nvml: Any = None,
    visible_devices: str | None | FromEnv = FROM_ENV,
    clock: Clock = SYSTEM_CLOCK,
    environ: Mapping[str, str] | None = None,
) -> Discovery:
    """Sensors (domain ``gpu``) for the NVIDIA GPUs this process can see.

    ``nvml`` is the ``pynvml`` module (imported when ``None``; tests inject a fake).
    ``visible_devices`` defaults to ``$CUDA_VISIBLE_DEVICES`` (``None``: all GPUs; ``""``:
    none). ``environ`` supplies ``CUDA_DEVICE_ORDER`` and the default ``visible_devices``.
    Never raises: a missing binding or driver, or a failing GPU, leaves a note instead.
    """
    env = os.environ if environ is None else environ
    spec = env.get(VISIBLE_ENV) if visible_devices is FROM_ENV else visible_devices
    if nvml is None:
        try:
            import pynvml  # deferred: loading the binding costs time nobody without a GPU should pay
        except ImportError:
            return Discovery(notes=[_NOT_INSTALLED])
        nvml = pynvml
    if not isinstance(getattr(nvml, "NVMLError", None), type):
        return Discovery(notes=[_NOT_NVIDIAS])
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        return Discovery(notes=[f"NVML: {_init_failure(nvml, exc)}; no NVIDIA GPU measured"])

    session = GpuSession(nvml, "nvmlShutdown", nvml.NVMLError)
    return discover_in_session(
        session, lambda found: _discover(nvml, session, spec, env, clock, found), prefix="NVML", vendor="NVIDIA"
    )


def _init_failure(nvml: Any, exc: Exception) -> str:
    code = getattr(exc, "value", None)
    if code == _code(nvml, "NVML_ERROR_LIBRARY_NOT_FOUND", _LIBRARY_NOT_FOUND):
        return "no NVIDIA driver (libnvidia-ml not found)"
    if code == _code(nvml, "NVML_ERROR_DRIVER_NOT_LOADED", _DRIVER_NOT_LOADED):
        return "the NVIDIA driver is not loaded"
    return f"nvmlInit failed: {exc}"


def _discover(
    nvml: Any, session: GpuSession, spec: str | None, env: Mapping[str, str], clock: Clock, found: Discovery
) -> None:
    gpus: list[_Gpu | None] = []
    for index in range(nvml.nvmlDeviceGetCount()):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            gpus.append(
                _Gpu(
                    index,
                    handle,
                    _text(nvml.nvmlDeviceGetUUID(handle)),
                    _text(nvml.nvmlDeviceGetName(handle)),
                )
            )
        except nvml.NVMLError as exc:  # e.g. a GPU another container owns, or one already lost
            gpus.append(None)
            found.notes.append(f"NVML: GPU {index} cannot be opened ({exc}); not measured")
    if not any(gpus):
        found.notes.append("NVML: no NVIDIA GPU found")
        return
    selected, mig_parents = _select(nvml, spec, gpus, env, found.notes)

    def results() -> Iterator[tuple[Sensor | None, str | None]]:
        for gpu in selected:
            if gpu.index in mig_parents:
                yield None, (
                    f"NVML: {gpu.label} {gpu.uuid} is partitioned into MIG slices and a slice has no energy "
                    "reading of its own: the whole GPU's energy is reported, other slices' work included"
                )
            yield _open(nvml, session, gpu, clock)

    add_sensors(found, results(), prefix="NVML")


def _select(
    nvml: Any, spec: str | None, gpus: list[_Gpu | None], env: Mapping[str, str], notes: list[str]
) -> tuple[list[_Gpu], set[int]]:
    """The GPUs ``spec`` (a CUDA_VISIBLE_DEVICES value) makes visible, and which were named as MIG slices."""
    present = [gpu for gpu in gpus if gpu is not None]
    matched = visible_entries(
        spec,
        lambda entry: _resolve(nvml, entry, gpus),
        notes,
        prefix="NVML",
        source=VISIBLE_ENV,
        ignored="CUDA ignores it",
    )
    if matched is None:
        return present, set()
    chosen: list[_Gpu] = []
    mig_parents: set[int] = set()
    by_index = False
    for entry, (gpu, is_mig) in matched:
        by_index = by_index or is_index(entry)
        if is_mig:
            mig_parents.add(gpu.index)
        if gpu not in chosen:
            chosen.append(gpu)
    if by_index and env.get(ORDER_ENV) != "PCI_BUS_ID" and len({gpu.name for gpu in present}) > 1:
        notes.append(
            f"NVML: {VISIBLE_ENV} lists GPU indices, taken as NVML (PCI bus) indices; CUDA numbers mixed "
            f"GPU models fastest first unless {ORDER_ENV}=PCI_BUS_ID, so set that or list GPU UUIDs "
            "(nvidia-smi -L) to be sure the right GPUs are measured"
        )
    return chosen, mig_parents


def _resolve(nvml: Any, entry: str, gpus: list[_Gpu | None]) -> tuple[_Gpu, bool] | None:
    """The physical GPU an entry names and whether it named a MIG slice; ``None``: no GPU."""
    present = [gpu for gpu in gpus if gpu is not None]
    is_mig = entry.upper().startswith("MIG-")
    if is_index(entry):
        index = int(entry)
        gpu = gpus[index] if index < len(gpus) else None
    elif is_mig:
        legacy = _LEGACY_MIG_RE.match(entry)
        if legacy:
            parent_uuid = legacy.group(1).lower()
            gpu = next((g for g in present if g.uuid.lower() == parent_uuid), None)
        else:
            gpu = _mig_parent(nvml, entry, present)
    else:
        matches = [gpu for gpu in present if _uuid_matches(gpu.uuid, entry)]
        gpu = matches[0] if len(matches) == 1 else None
    return None if gpu is None else (gpu, is_mig)


def _uuid_matches(uuid: str, entry: str) -> bool:
    """CUDA's rule: a UUID entry may be any unambiguous prefix of ``GPU-...`` or ``MIG-...``."""
    return bool(entry) and uuid.lower().startswith(entry.lower())


def _mig_parent(nvml: Any, entry: str, present: list[_Gpu]) -> _Gpu | None:
    """The physical GPU of a MIG UUID: exact lookup first, then a prefix search over MIG slices."""
    parent_handle = None
    try:
        handle = nvml.nvmlDeviceGetHandleByUUID(entry)
        is_mig = getattr(nvml.nvmlDeviceIsMigDeviceHandle(handle), "value", 0)
        parent_handle = nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(handle) if is_mig else handle
    except nvml.NVMLError:
        parents = [
            gpu for gpu in present if any(_uuid_matches(uuid, entry) for uuid in _mig_uuids(nvml, gpu))
        ]
        return parents[0] if len(parents) == 1 else None
    parent_uuid = _text(nvml.nvmlDeviceGetUUID(parent_handle)).lower()
    return next((gpu for gpu in present if gpu.uuid.lower() == parent_uuid), None)


def _mig_uuids(nvml: Any, gpu: _Gpu) -> list[str]:
    try:
        slots = nvml.nvmlDeviceGetMaxMigDeviceCount(gpu.handle)
    except nvml.NVMLError:
        return []
    uuids = []
    for slot in range(slots):
        try:
            uuids.append(
                _text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetMigDeviceHandleByIndex(gpu.handle, slot)))
            )
        except nvml.NVMLError:  # an empty slot answers NotFound
            continue
    return uuids


def _open(nvml: Any, session: GpuSession, gpu: _Gpu, clock: Clock) -> tuple[Sensor | None, str | None]:
    """The best sensor this GPU supports, or ``None`` and the reason."""
    unavailable = {
        _code(nvml, "NVML_ERROR_NOT_SUPPORTED", _NOT_SUPPORTED),
        _code(nvml, "NVML_ERROR_FUNCTION_NOT_FOUND", _FUNCTION_NOT_FOUND),
        _code(nvml, "NVML_ERROR_NO_PERMISSION", _NO_PERMISSION),
    }

    def probe(function: str) -> tuple[Any, str | None]:
        """``(value, None)``; ``(None, None)`` when unsupported; ``(None, error)`` when the GPU fails."""
        try:
            return getattr(nvml, function)(gpu.handle), None
        except nvml.NVMLError as exc:
            if getattr(exc, "value", None) in unavailable:
                return None, None
            return None, f"NVML: {gpu.label}: {function} failed ({exc}); not measured"

    first_mj, error = probe("nvmlDeviceGetTotalEnergyConsumption")
    if error:
        return None, error
    if first_mj is not None:
        return _build(nvml, session, gpu, lambda device: NvmlEnergySensor(device, int(first_mj)))
    power_mw, error = probe("nvmlDeviceGetPowerUsage")
    if error:
        return None, error
    if power_mw is not None:
        return _build(nvml, session, gpu, lambda device: NvmlPowerSensor(device, clock))

    limit_mw, _ = probe("nvmlDeviceGetEnforcedPowerLimit")
    if limit_mw:
        max_power_w, source = mw_to_w(limit_mw), "enforced power limit"
    elif (table_w := gpu_tdp_w(gpu.name)) is not None:
        max_power_w, source = table_w, "board power from the GPU table"
    else:
        max_power_w, source = GENERIC_GPU_TDP_W, "generic figure: model not in the GPU table"
    utilisation, _ = probe("nvmlDeviceGetUtilizationRates")
    return _build(
        nvml,
        session,
        gpu,
        lambda device: NvmlEstimateSensor(
            device, max_power_w, source=source, utilisation=utilisation is not None, clock=clock
        ),
    )


def _build(
    nvml: Any, session: GpuSession, gpu: _Gpu, make: Callable[[_Device], Sensor]
) -> tuple[Sensor | None, str | None]:
    return open_sensor(_Device(nvml, session, gpu), make, prefix="NVML")
