"""GPU accuracy check: wattprint's GPU energy against NVML's own energy counter, bursty load.

Run on a machine with one NVIDIA GPU and torch with CUDA (about 3 minutes with the defaults):
    python benchmarks/gpu_check.py [--seconds 150] [--out benchmarks/results/gpu-check.json]

The workload alternates busy phases (back-to-back ``torch.mm`` on the GPU, 0.2 to 3 s) and idle
gaps (50 ms to 2 s, log-uniform, the two extremes always included), from a fixed seed. The
same run is measured at once by:

* ``wattprint``: a ``wattprint.Tracker`` with its normal discovery (on Volta and later it reads
  the total-energy counter at start and stop);
* ``wattprint_sampled``: wattprint's fallback for GPUs without that counter (power integrated
  by its sampler at ``--sampled-period``, 1 s by default), forced by hiding the counter;
* ``nvml_power_10ms``: an independent thread integrating ``nvmlDeviceGetPowerUsage`` every
  ``--sample-period`` (10 ms) with the trapezoid rule;
* ``codecarbon``: ``OfflineEmissionsTracker(gpu_ids=[index])`` where ``codecarbon`` imports
  (install it from wheels brought along where there is no package index: ``python
  benchmarks/peers.py wheels DIR`` elsewhere, then ``pip install --no-index --find-links DIR codecarbon``);

and the reference, ``nvmlDeviceGetTotalEnergyConsumption`` read right before each method
starts and right after it stops (its own window), and around the workload alone. Each figure's
error is against the counter over that method's own window. NVML's power reading is averaged
over up to a second on recent GPUs and sampled only part of the time, so the power-based
figures are expected to be further off than the counter-based ones on short bursts.

Testing without a GPU: :func:`run` takes the ``pynvml`` module and the workload as arguments;
``tests/benchmarks`` passes the fake NVML of ``tests/fakes/nvml.py``, a simulated workload and
``normal_discovery=False`` (wattprint's discovery skips NVML where no NVIDIA device node
exists, so the Tracker gets ``discover_nvml(nvml=fake)``'s sensors instead). While :func:`run`
runs, the module given is also what ``import pynvml`` returns.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TARGET_PCT = 1.0  # the target for wattprint against the counter
BUSY_S = (0.2, 3.0)
IDLE_S = (0.05, 2.0)


@dataclass(frozen=True)
class Phase:
    """One step of the workload: ``busy`` (GPU work) or ``idle``, for ``seconds``."""

    kind: str
    seconds: float


def bursty_plan(seconds: float, *, seed: int = 0, busy: tuple[float, float] = BUSY_S, idle: tuple[float, float] = IDLE_S) -> list[Phase]:
    """Busy and idle phases, alternating, until ``seconds``; the first two gaps are the extremes."""
    rng = random.Random(seed)
    phases: list[Phase] = []
    total = 0.0
    while total < seconds:
        gaps = len(phases) // 2
        gap = idle[0] if gaps == 0 else idle[1] if gaps == 1 else math.exp(rng.uniform(math.log(idle[0]), math.log(idle[1])))
        work = rng.uniform(*busy)
        phases += [Phase("busy", work), Phase("idle", gap)]
        total += work + gap
    return phases


def torch_workload(device: str = "cuda", size: int = 8192, dtype: str = "bfloat16") -> Callable[[Phase], None]:
    """Busy: ``torch.mm`` of two ``size`` x ``size`` matrices until the phase ends; idle: sleep."""
    import torch

    dt = getattr(torch, dtype)
    a = torch.randn(size, size, device=device, dtype=dt)
    b = torch.randn(size, size, device=device, dtype=dt)
    c = torch.empty(size, size, device=device, dtype=dt)
    torch.mm(a, b, out=c)  # cuBLAS set-up outside the measured window
    torch.cuda.synchronize()

    def run(phase: Phase) -> None:
        end = time.monotonic() + phase.seconds
        if phase.kind == "idle":
            time.sleep(phase.seconds)
            return
        while time.monotonic() < end:
            for _ in range(4):
                torch.mm(a, b, out=c)
            torch.cuda.synchronize()

    return run


class PowerIntegrator:
    """A thread reading ``nvmlDeviceGetPowerUsage`` (mW) every ``period_s``; trapezoid to joules."""

    def __init__(self, nvml: Any, handle: Any, period_s: float = 0.01) -> None:
        self._nvml, self._handle, self._period = nvml, handle, period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gpu-check-power", daemon=True)
        self.energy_j = 0.0
        self.samples = 0
        self.max_gap_s = 0.0
        self.errors = 0
        self._t0 = self._t1 = 0.0

    def _read(self) -> tuple[float, float]:
        return time.monotonic(), self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000.0

    def _run(self) -> None:
        self._t_prev, self._p_prev = self._read()
        self._t0 = self._t_prev
        self.samples = 1
        while not self._stop.wait(self._period):
            self._sample()
        self._sample()
        self._t1 = self._t_prev

    def _sample(self) -> None:
        try:
            t, p = self._read()
        except self._nvml.NVMLError:
            self.errors += 1
            return
        self.energy_j += 0.5 * (p + self._p_prev) * (t - self._t_prev)
        self.max_gap_s = max(self.max_gap_s, t - self._t_prev)
        self.samples += 1
        self._t_prev, self._p_prev = t, p

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def duration_s(self) -> float:
        return self._t1 - self._t0


@contextlib.contextmanager
def nvml_as_pynvml(nvml: Any) -> Iterator[None]:
    """Make ``import pynvml`` return ``nvml`` for the duration (the hook for tests)."""
    saved = sys.modules.get("pynvml")
    sys.modules["pynvml"] = nvml
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop("pynvml", None)
        else:
            sys.modules["pynvml"] = saved


def without_energy_counter(nvml: Any) -> types.ModuleType:
    """``nvml`` as a GPU without the total-energy counter sees it (answers NotSupported)."""
    proxy = types.ModuleType(getattr(nvml, "__name__", "pynvml"))
    proxy.__dict__.update({k: v for k, v in vars(nvml).items() if not k.startswith("__")})

    def nvmlDeviceGetTotalEnergyConsumption(handle: Any) -> int:
        raise nvml.NVMLError(nvml.NVML_ERROR_NOT_SUPPORTED)

    proxy.nvmlDeviceGetTotalEnergyConsumption = nvmlDeviceGetTotalEnergyConsumption
    return proxy


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Method:
    """A measuring method with the counter read just before it starts and just after it stops.

    An ``optional`` method that raises is reported with its error instead of ending the check.
    """

    def __init__(
        self,
        name: str,
        counter: Callable[[], float],
        start: Callable[[], None],
        stop: Callable[[], dict[str, Any]],
        *,
        optional: bool = False,
    ) -> None:
        self.name, self._counter, self._start, self._stop, self.optional = name, counter, start, stop, optional
        self.result: dict[str, Any] = {}
        self.error: str | None = None

    def start(self) -> None:
        self._c0 = self._counter()
        try:
            self._start()
        except Exception as exc:
            if not self.optional:
                raise
            self.error = f"start failed: {exc!r}"

    def stop(self) -> None:
        if self.error is None:
            try:
                self.result = self._stop()
            except Exception as exc:
                if not self.optional:
                    raise
                self.error = f"stop failed: {exc!r}"
        if self.error is not None:
            self.result = {"energy_j": None, "error": self.error}
        self.result["counter_j"] = self._counter() - self._c0
        if self.result.get("energy_j") is not None and self.result["counter_j"] > 0:
            self.result["error_pct"] = 100.0 * (self.result["energy_j"] / self.result["counter_j"] - 1.0)


def _wattprint_method(name: str, counter: Callable[[], float], make: Callable[[], Any]) -> _Method:
    state: dict[str, Any] = {}

    def start() -> None:
        state["tracker"] = make()
        state["tracker"].start()

    def stop() -> dict[str, Any]:
        tracker = state["tracker"]
        record = tracker.stop()
        gpu_kwh = record.energy_kwh_by_domain.get("gpu")
        return {
            "energy_j": None if gpu_kwh is None else gpu_kwh * 3.6e6,
            "method": record.method_by_domain.get("gpu", "none"),
            "duration_s": record.duration_s,
            "notes": [n for n in tracker.notes if "NVML" in n],
        }

    return _Method(name, counter, start, stop)


def _codecarbon_method(counter: Callable[[], float], index: int) -> _Method | str:
    """CodeCarbon's GPU figure, or why it is skipped."""
    try:
        from codecarbon import OfflineEmissionsTracker
    except Exception as exc:  # noqa: BLE001 - not installed, or broken on this machine: say which
        return f"codecarbon does not import here: {exc!r}"
    state: dict[str, Any] = {}

    def start() -> None:
        state["t"] = OfflineEmissionsTracker(
            project_name="gpu-check", country_iso_code="FRA", gpu_ids=[index], save_to_file=False, log_level="error"
        )
        state["t"].start()

    def stop() -> dict[str, Any]:
        state["t"].stop()
        data = state["t"].final_emissions_data
        import codecarbon

        return {"energy_j": data.gpu_energy * 3.6e6, "duration_s": data.duration, "version": codecarbon.__version__}

    return _Method("codecarbon", counter, start, stop, optional=True)


def run(
    *,
    nvml: Any = None,
    workload: Callable[[Phase], None] | None = None,
    plan: Sequence[Phase] | None = None,
    seconds: float = 150.0,
    seed: int = 0,
    gpu_index: int = 0,
    sample_period_s: float = 0.01,
    sampled_period_s: float = 1.0,
    codecarbon: bool = True,
    normal_discovery: bool = True,
    out: Path | None = None,
    kind: str = "gpu",
) -> dict[str, Any]:
    """Run the check and return (and write to ``out``) its result as a JSON-ready dict.

    ``nvml``: the ``pynvml`` module (imported when ``None``); ``workload``: called with each
    :class:`Phase` (default: :func:`torch_workload` on ``cuda``); ``plan``: the phases (default:
    :func:`bursty_plan` of ``seconds``). ``kind`` labels the result (``"gpu"`` or a dry run).
    ``normal_discovery=False`` gives wattprint's Tracker the sensors of
    ``discover_nvml(nvml=nvml)`` instead of letting it discover them: normal discovery skips
    NVML on a machine without NVIDIA device nodes, where a dry run has only a fake module.
    """
    import wattprint
    from wattprint.core.sensors.nvml import discover_nvml

    if nvml is None:
        import pynvml as nvml
    phases = list(plan) if plan is not None else bursty_plan(seconds, seed=seed)
    nvml.nvmlInit()
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(gpu_index)
        uuid, name = _text(nvml.nvmlDeviceGetUUID(handle)), _text(nvml.nvmlDeviceGetName(handle))
        try:
            driver = _text(nvml.nvmlSystemGetDriverVersion())
        except (AttributeError, nvml.NVMLError):
            driver = "?"

        def counter() -> float:
            return nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0

        if workload is None:
            workload = torch_workload(f"cuda:{_cuda_index(uuid)}")
        with nvml_as_pynvml(nvml):  # whatever imports pynvml from here on gets this module
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": uuid}  # wattprint measures exactly this GPU

            def tracker() -> Any:
                if normal_discovery:
                    return wattprint.Tracker(project_name="gpu-check", country="FR", output_file=None, environ=env)
                sensors = discover_nvml(nvml=nvml, visible_devices=uuid).sensors
                return wattprint.Tracker(project_name="gpu-check", country="FR", output_file=None, sensors=sensors)

            methods: list[_Method] = [
                _wattprint_method("wattprint", counter, tracker),
                _wattprint_method(
                    "wattprint_sampled",
                    counter,
                    lambda: wattprint.Tracker(
                        project_name="gpu-check",
                        country="FR",
                        output_file=None,
                        measure_period=sampled_period_s,
                        sensors=discover_nvml(nvml=without_energy_counter(nvml), visible_devices=uuid).sensors,
                    ),
                ),
            ]
            skipped: dict[str, str] = {}
            if codecarbon:
                cc = _codecarbon_method(counter, gpu_index)
                if isinstance(cc, str):
                    skipped["codecarbon"] = cc
                else:
                    methods.append(cc)
            else:
                skipped["codecarbon"] = "not requested"
            power = PowerIntegrator(nvml, handle, sample_period_s)

            def power_stop() -> dict[str, Any]:
                power.stop()
                return {
                    "energy_j": power.energy_j,
                    "duration_s": power.duration_s,
                    "samples": power.samples,
                    "mean_interval_ms": 1e3 * power.duration_s / max(power.samples - 1, 1),
                    "max_gap_ms": 1e3 * power.max_gap_s,
                    "read_errors": power.errors,
                }

            methods.append(_Method("nvml_power_10ms", counter, power.start, power_stop))

            for m in methods:
                m.start()
            c0, t0 = counter(), time.monotonic()
            for phase in phases:
                workload(phase)
            c1, t1 = counter(), time.monotonic()
            for m in reversed(methods):
                m.stop()
    finally:
        nvml.nvmlShutdown()

    result = {
        "kind": kind,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "gpu": {"index": gpu_index, "name": name, "uuid": uuid, "driver": driver},
        "versions": {"wattprint": wattprint.__version__, **_versions()},
        "plan": {
            "seed": seed,
            "phases": len(phases),
            "busy_s": sum(p.seconds for p in phases if p.kind == "busy"),
            "idle_s": sum(p.seconds for p in phases if p.kind == "idle"),
            "idle_gap_range_s": [min((p.seconds for p in phases if p.kind == "idle"), default=0), max((p.seconds for p in phases if p.kind == "idle"), default=0)],
            "list": [asdict(p) for p in phases],
        },
        "counter": {"energy_j": c1 - c0, "duration_s": t1 - t0, "mean_power_w": (c1 - c0) / (t1 - t0) if t1 > t0 else None},
        "methods": {m.name: m.result for m in methods},
        "skipped": skipped,
        "settings": {
            "sample_period_s": sample_period_s,
            "sampled_period_s": sampled_period_s,
            "wattprint_discovery": "normal" if normal_discovery else "discover_nvml(nvml=<module given>)",
        },
    }
    wp_err = result["methods"]["wattprint"].get("error_pct")
    result["target"] = {"wattprint_within_pct": TARGET_PCT, "met": wp_err is not None and abs(wp_err) <= TARGET_PCT}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _cuda_index(uuid: str) -> int:
    """The CUDA ordinal of the GPU with NVML UUID ``uuid`` (0 when torch cannot tell)."""
    import torch

    for i in range(torch.cuda.device_count()):
        if str(getattr(torch.cuda.get_device_properties(i), "uuid", "")) in uuid:
            return i
    return 0


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("torch", "nvidia-ml-py", "codecarbon"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


LABELS = {
    "wattprint": "wattprint (normal discovery)",
    "wattprint_sampled": "wattprint, power-sampled fallback",
    "nvml_power_10ms": "NVML power integrated every 10 ms",
    "codecarbon": "CodeCarbon",
}


def gpu_table(result: dict[str, Any]) -> list[str]:
    """Markdown: each method's energy and its error against the counter over its own window."""
    plan, counter = result["plan"], result["counter"]
    lines = [
        (
            f"{result['gpu']['name']} (driver {result['gpu']['driver']}), {result['kind']}, {result['date']}: "
            f"{plan['phases']} phases, {plan['busy_s']:.1f} s busy, {plan['idle_s']:.1f} s idle "
            f"(gaps {plan['idle_gap_range_s'][0] * 1e3:.0f} ms to {plan['idle_gap_range_s'][1]:.1f} s); "
            f"counter over the workload: {counter['energy_j']:.0f} J in {counter['duration_s']:.1f} s."
        ),
        "",
        "| method | energy (J) | counter, same window (J) | error vs counter | note |",
        "|---|---|---|---|---|",
    ]
    for name, r in result["methods"].items():
        note = r.get("method", "") or r.get("error", "")
        if name == "wattprint_sampled":
            note = f"{note}, {result['settings']['sampled_period_s']:g} s period"
        if "samples" in r:
            note = f"{r['samples']} samples, mean interval {r['mean_interval_ms']:.1f} ms, max gap {r['max_gap_ms']:.0f} ms"
        err = r.get("error_pct")
        energy = r.get("energy_j")
        lines.append(
            f"| {LABELS.get(name, name)} | {'-' if energy is None else f'{energy:.1f}'} | {r['counter_j']:.1f} "
            f"| {'-' if err is None else f'{err:+.3f} %'} | {note} |"
        )
    for name, why in result.get("skipped", {}).items():
        lines.append(f"| {LABELS.get(name, name)} | - | - | - | skipped: {why} |")
    verdict = "met" if result["target"]["met"] else "**missed**"
    lines += ["", f"Target: wattprint within {result['target']['wattprint_within_pct']:g} % of the counter: {verdict}."]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="length of the bursty workload")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gpu", type=int, default=0, help="NVML index of the GPU to load and measure")
    parser.add_argument("--size", type=int, default=8192, help="matrix size of the busy phases")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--sample-period", type=float, default=0.01, help="seconds between power reads of the independent integrator")
    parser.add_argument("--sampled-period", type=float, default=1.0, help="wattprint's sampler period for the power-sampled fallback")
    parser.add_argument("--no-codecarbon", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "gpu-check.json")
    args = parser.parse_args(argv)
    import pynvml

    try:
        pynvml.nvmlInit()
        uuid = _text(pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(args.gpu)))
        pynvml.nvmlShutdown()
    except pynvml.NVMLError as exc:
        raise SystemExit(f"gpu_check: NVML cannot open GPU {args.gpu} ({exc}): this check needs an NVIDIA GPU and its driver") from exc
    workload = torch_workload(f"cuda:{_cuda_index(uuid)}", args.size, args.dtype)
    result = run(
        nvml=pynvml,
        workload=workload,
        seconds=args.seconds,
        seed=args.seed,
        gpu_index=args.gpu,
        sample_period_s=args.sample_period,
        sampled_period_s=args.sampled_period,
        codecarbon=not args.no_codecarbon,
        out=args.out,
    )
    print("\n".join(gpu_table(result)))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
