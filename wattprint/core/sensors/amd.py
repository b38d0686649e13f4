"""AMD GPUs through ``amdsmi`` (the ROCm AMD SMI bindings; extra ``amd``), imported on first use.

Energy counter, checked before it is trusted
    ``amdsmi_get_energy_count`` gives an accumulator and its resolution; their product is µJ
    (ROCm before 6.2.1 named the accumulator ``power``). Some GPU/ROCm combinations have
    reported frozen, wrong or backward-running counters, so at discovery the counter is read
    across a short window (``validation_s``, 0.3 s) next to the socket power (W) from
    ``amdsmi_get_power_info``: it is used (method ``counter``) only when its energy is within
    0.1x-10x of power x time. Otherwise the socket power is integrated (method ``sampled``).

Multi-die parts
    An MI250/MI250X is two devices (GCDs); the package's power is reported on one of them and
    the other reports none. Such a die gets no sensor and a note: its energy is in its sibling's.

Which GPUs
    ``ROCR_VISIBLE_DEVICES`` selects among all GPUs, then ``HIP_VISIBLE_DEVICES`` (or, when it is
    unset, ``CUDA_VISIBLE_DEVICES``, which HIP reads the same way) among those, by
    index (HIP's numbering, from ``amdsmi_get_gpu_enumeration_info`` where the library has it)
    or UUID; as in CUDA, an entry that matches nothing hides the entries after it.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wattprint._log import getLogger
from wattprint.core.clock import SYSTEM_CLOCK, Clock
from wattprint.core.errors import SensorError
from wattprint.core.measurement import COUNTER
from wattprint.core.sensors.base import Discovery, Sensor
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
from wattprint.core.units import uj_to_j

log = getLogger(__name__)

ROCR_ENV = "ROCR_VISIBLE_DEVICES"
HIP_ENV = "HIP_VISIBLE_DEVICES"
CUDA_ENV = "CUDA_VISIBLE_DEVICES"  # HIP honours it when HIP_VISIBLE_DEVICES is unset
#: Seconds the counter is compared with power x time at discovery.
VALIDATION_S = 0.3
#: Accepted range of counter energy / (power x time).
VALID_RATIO = (0.1, 10.0)
_POWER_KEYS = ("socket_power", "current_socket_power", "average_socket_power")


@dataclass
class _Gpu:
    handle: Any
    hip_id: int
    name: str
    uuid: str | None
    hip_uuid: str | None

    @property
    def label(self) -> str:
        return f"{self.name} (GPU {self.hip_id})"

    @property
    def key(self) -> str:
        return f"amdsmi:{self.uuid or self.hip_id}"


class _Device(GpuDevice):
    """A GPU held by one sensor: calls amdsmi and turns its errors into :class:`SensorError`."""

    gpu: _Gpu

    def energy_uj(self) -> float:
        return self._call(_energy_uj)

    def power_w(self) -> float:
        power = self._call(_power_w)
        if power is None:
            raise SensorError(f"{self.gpu.label}: amdsmi reports no socket power")
        return power

    def _call(self, read: Callable[[Any, Any], Any]) -> Any:
        self._check_open()
        try:
            return read(self.library, self.gpu.handle)
        except _errors(self.library) as exc:
            raise SensorError(f"{self.gpu.label}: amdsmi failed: {exc}") from exc


def _errors(amdsmi: Any) -> tuple[type[BaseException], ...]:
    # amdsmi raises its own exceptions, plus KeyError/ValueError when a dict lacks a field.
    base = getattr(amdsmi, "AmdSmiException", None)
    return (base, KeyError, ValueError, TypeError) if isinstance(base, type) else (Exception,)


def _energy_uj(amdsmi: Any, handle: Any) -> float:
    info = amdsmi.amdsmi_get_energy_count(handle)
    accumulator = info.get("energy_accumulator", info.get("power"))
    resolution = info.get("counter_resolution")
    if (
        not isinstance(accumulator, (int, float))
        or not isinstance(resolution, (int, float))
        or resolution <= 0
    ):
        raise ValueError(f"no energy counter in {sorted(info)}")
    return float(accumulator) * float(resolution)


def _power_w(amdsmi: Any, handle: Any) -> float | None:
    """Socket power in watts; 0.0 when the device reports zero, ``None`` when it reports none."""
    info = amdsmi.amdsmi_get_power_info(handle)
    values = [info.get(key) for key in _POWER_KEYS]
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    positive = [v for v in numbers if v > 0]
    if positive:
        return positive[0]
    return 0.0 if numbers else None


class AmdEnergySensor(Sensor):
    """Cumulative joules from the amdsmi energy accumulator (checked at discovery); ``counter``.

    A decrease is not trusted as a reset (the accumulator is 64-bit and counts from boot, and
    backward steps have been seen as glitches): the interval in which it happens counts zero and
    the baseline stays, so a counter that recovers is measured from its last good value. Only a
    second reading still below the baseline is taken as a reset, counted from the low reading.
    """

    method = COUNTER
    needs_polling = False

    def __init__(self, device: _Device, first_uj: float, note: str) -> None:
        super().__init__()
        self._device = device
        self._last_uj = first_uj
        self._low_uj: float | None = None  # a reading below the baseline, not yet explained
        self._total_uj = 0.0
        describe(self, device, note)

    def _read_j(self) -> float:
        raw_uj = self._device.energy_uj()
        if raw_uj >= self._last_uj:
            self._total_uj += raw_uj - self._last_uj
            self._last_uj, self._low_uj = raw_uj, None
        elif self._low_uj is not None and raw_uj >= self._low_uj:
            # Below the baseline twice and moving on from the low reading: a real reset.
            self._total_uj += raw_uj - self._low_uj
            self._last_uj, self._low_uj = raw_uj, None
        else:
            log.warning("%s: energy counter went back; this interval counts zero", self.name)
            self._low_uj = raw_uj
        return uj_to_j(self._total_uj)

    def close(self) -> None:
        self._device.close()


class AmdPowerSensor(GpuPowerSensor):
    """Socket power (W) integrated over time; method ``sampled``."""


def discover_amd(
    *,
    amdsmi: Any = None,
    visible_devices: str | None | FromEnv = FROM_ENV,
    clock: Clock = SYSTEM_CLOCK,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    validation_s: float = VALIDATION_S,
) -> Discovery:
    """Sensors (domain ``gpu``) for the AMD GPUs this process can see.

    ``amdsmi`` is the module (imported when ``None``; tests inject a fake). ``visible_devices``
    defaults to ``$ROCR_VISIBLE_DEVICES`` then ``$HIP_VISIBLE_DEVICES`` (from ``environ``);
    given explicitly, it is one HIP-style list (``None``: all; ``""``: none). Checking the
    energy counters waits ``validation_s`` once, with ``sleep``, and only when a counter is
    found. Never raises: a missing library or failing GPU leaves a note instead.
    """
    env = os.environ if environ is None else environ
    if amdsmi is None:
        if importlib.util.find_spec("amdsmi") is None:
            return Discovery(
                notes=["AMD: amdsmi is not installed (pip install 'wattprint[amd]' to measure AMD GPUs)"]
            )
        try:
            import amdsmi as amdsmi_module  # deferred: it loads the ROCm library
        except Exception as exc:  # it raises KeyError, not ImportError, when libamd_smi.so is missing
            return Discovery(
                notes=[f"AMD: amdsmi could not load the ROCm library ({exc!r}); no AMD GPU measured"]
            )
        amdsmi = amdsmi_module
    errors = _errors(amdsmi)
    try:
        amdsmi.amdsmi_init(amdsmi.AmdSmiInitFlags.INIT_AMD_GPUS)
    except errors as exc:
        reason = "no amdgpu driver, or amdsmi does not match the installed ROCm"
        return Discovery(notes=[f"AMD: amdsmi_init failed ({exc}): {reason}; no AMD GPU measured"])

    # amdsmi raises several unrelated types at shutdown; it is best effort
    session = GpuSession(amdsmi, "amdsmi_shut_down", Exception)

    def fill(found: Discovery) -> None:
        gpus = _list_gpus(amdsmi, found.notes)
        if visible_devices is FROM_ENV:
            gpus = _visible(gpus, env.get(ROCR_ENV), ROCR_ENV, found.notes)
            hip_env = HIP_ENV if env.get(HIP_ENV) is not None else CUDA_ENV
            gpus = _visible(gpus, env.get(hip_env), hip_env, found.notes)
        else:
            gpus = _visible(gpus, visible_devices, "visible_devices", found.notes)
        _open_all(amdsmi, session, gpus, clock, sleep, validation_s, found)

    return discover_in_session(session, fill, prefix="AMD", vendor="AMD")


def _list_gpus(amdsmi: Any, notes: list[str]) -> list[_Gpu]:
    errors = _errors(amdsmi)
    gpus = []
    for position, handle in enumerate(amdsmi.amdsmi_get_processor_handles()):
        name, uuid, hip_id, hip_uuid = "AMD GPU", None, position, None
        try:
            name = str(amdsmi.amdsmi_get_gpu_asic_info(handle)["market_name"]) or name
        except errors:
            pass  # the name is only a label
        try:
            uuid = str(amdsmi.amdsmi_get_gpu_device_uuid(handle))
        except errors:
            pass
        if hasattr(amdsmi, "amdsmi_get_gpu_enumeration_info"):  # ROCm 6.4+
            try:
                info = amdsmi.amdsmi_get_gpu_enumeration_info(handle)
                hip_id = int(info["hip_id"])
                hip_uuid = str(info.get("hip_uuid") or "") or None
            except errors:
                pass
        gpus.append(_Gpu(handle, hip_id, name, uuid, hip_uuid))
    if not gpus:
        notes.append("AMD: amdsmi lists no GPU")
    return sorted(gpus, key=lambda gpu: gpu.hip_id)


def _visible(gpus: list[_Gpu], spec: str | None, source: str, notes: list[str]) -> list[_Gpu]:
    """The GPUs a ``*_VISIBLE_DEVICES`` value keeps, by position in ``gpus`` or by UUID."""
    matched = visible_entries(spec, lambda entry: _resolve(entry, gpus), notes, prefix="AMD", source=source)
    if matched is None:
        return gpus
    chosen: list[_Gpu] = []
    for _, gpu in matched:
        if gpu not in chosen:
            chosen.append(gpu)
    return chosen


def _resolve(entry: str, gpus: Sequence[_Gpu]) -> _Gpu | None:
    if is_index(entry):
        index = int(entry)
        return gpus[index] if index < len(gpus) else None
    wanted = entry.lower().removeprefix("gpu-")
    matches = [
        gpu
        for gpu in gpus
        if wanted
        and any(
            uid and uid.lower().removeprefix("gpu-").startswith(wanted) for uid in (gpu.uuid, gpu.hip_uuid)
        )
    ]
    return matches[0] if len(matches) == 1 else None


@dataclass
class _Probe:
    gpu: _Gpu
    energy_uj: float | None = None
    power_w: float | None = None


def _probe(amdsmi: Any, gpu: _Gpu) -> _Probe:
    errors = _errors(amdsmi)
    probe = _Probe(gpu)
    try:
        probe.energy_uj = _energy_uj(amdsmi, gpu.handle)
    except errors as exc:
        log.debug("%s: no energy counter: %s", gpu.label, exc)
    try:
        probe.power_w = _power_w(amdsmi, gpu.handle)
    except errors as exc:
        log.debug("%s: no power reading: %s", gpu.label, exc)
    return probe


def _open_all(
    amdsmi: Any,
    session: GpuSession,
    gpus: list[_Gpu],
    clock: Clock,
    sleep: Callable[[float], None],
    validation_s: float,
    found: Discovery,
) -> None:
    """Read every counter and power twice, ``validation_s`` apart, and choose each GPU's method."""
    before = [_probe(amdsmi, gpu) for gpu in gpus]
    t0 = clock.monotonic()
    if any(p.energy_uj is not None for p in before):
        sleep(validation_s)  # one wait for all GPUs
    t1 = clock.monotonic()
    after = [_probe(amdsmi, gpu) for gpu in gpus]
    results = (
        _choose(amdsmi, session, first, second, t1 - t0, clock)
        for first, second in zip(before, after, strict=True)
    )
    add_sensors(found, results, prefix="AMD")


def _choose(
    amdsmi: Any, session: GpuSession, first: _Probe, second: _Probe, dt_s: float, clock: Clock
) -> tuple[Sensor | None, str | None]:
    gpu = first.gpu
    e0_uj, e1_uj = first.energy_uj, second.energy_uj
    has_counter = e0_uj is not None and e1_uj is not None
    powers = [p for p in (first.power_w, second.power_w) if p is not None]
    mean_power_w = sum(powers) / len(powers) if len(powers) == 2 else 0.0
    has_power = mean_power_w > 0
    sampled_note = "amdsmi socket power (W) integrated by the sampler"

    if e0_uj is not None and e1_uj is not None:
        measured_j = uj_to_j(e1_uj - e0_uj)
        if has_power and dt_s > 0:
            expected_j = mean_power_w * dt_s
            ratio = measured_j / expected_j
            if VALID_RATIO[0] <= ratio <= VALID_RATIO[1]:
                note = (
                    f"amdsmi energy counter (µJ), checked against power x time at start (ratio {ratio:.2f})"
                )
                return _build(amdsmi, session, gpu, lambda d: AmdEnergySensor(d, e1_uj, note))
            return _build(
                amdsmi,
                session,
                gpu,
                lambda d: AmdPowerSensor(d, sampled_note, clock),
                f"AMD: {gpu.label}: energy counter disagrees with power x time ({measured_j:.3g} J against "
                f"{expected_j:.3g} J over {dt_s:.2f} s); integrating socket power instead",
            )
        if not has_power and measured_j > 0:
            note = "amdsmi energy counter (µJ); not checked: the device reports no socket power"
            return _build(amdsmi, session, gpu, lambda d: AmdEnergySensor(d, e1_uj, note))
    if has_power:
        return _build(amdsmi, session, gpu, lambda d: AmdPowerSensor(d, sampled_note, clock))
    if powers or has_counter:
        return None, (
            f"AMD: {gpu.label} reports no power and no energy: on a multi-die GPU (MI250/MI250X) one die "
            "reports for the whole package, so this die's energy is in its sibling's reading (not measured "
            "here unless that die is visible to this process)"
        )
    return None, f"AMD: {gpu.label} has neither an energy counter nor a power reading; not measured"


def _build(
    amdsmi: Any,
    session: GpuSession,
    gpu: _Gpu,
    make: Callable[[_Device], Sensor],
    note: str | None = None,
) -> tuple[Sensor | None, str | None]:
    return open_sensor(_Device(amdsmi, session, gpu), make, prefix="AMD", note=note)
