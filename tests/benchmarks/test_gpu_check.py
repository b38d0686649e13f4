"""benchmarks/gpu_check.py on the CPU: the fake NVML of tests/fakes/nvml.py, a simulated GPU."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from tests.fakes.nvml import NVML_ERROR_NOT_SUPPORTED, FakeGpu, FakeNvml

UUID = "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6"
BUSY_MW = 600_000
IDLE_MW = 80_000


class SimulatedGpu:
    """Moves a FakeGpu as the hardware would: a driver thread adds power x time to its counter.

    The workload only sets the power (busy or idle) and waits; the counter (mJ, an integer, as
    NVML's) advances in real time, so every method reads a consistent GPU, whatever its timing.
    """

    def __init__(self, gpu: FakeGpu) -> None:
        self.gpu = gpu
        self.gpu.power_mw = IDLE_MW
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drive, daemon=True)
        self._energy_mj = float(gpu.energy_mj or 0)

    def _drive(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.0005):
            now = time.monotonic()
            self._energy_mj += self.gpu.power_mw * (now - last)  # mW x s = mJ
            self.gpu.energy_mj = int(self._energy_mj)
            last = now

    def workload(self, phase) -> None:
        self.gpu.power_mw = BUSY_MW if phase.kind == "busy" else IDLE_MW
        time.sleep(phase.seconds)
        self.gpu.power_mw = IDLE_MW

    def __enter__(self) -> SimulatedGpu:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def test_bursty_plan_alternates_within_the_bounds(gpu_check):
    plan = gpu_check.bursty_plan(60.0, seed=3)
    assert [p.kind for p in plan] == ["busy", "idle"] * (len(plan) // 2)
    gaps = [p.seconds for p in plan if p.kind == "idle"]
    busy = [p.seconds for p in plan if p.kind == "busy"]
    assert min(gaps) == gpu_check.IDLE_S[0] and max(gaps) == gpu_check.IDLE_S[1]
    assert all(gpu_check.IDLE_S[0] <= g <= gpu_check.IDLE_S[1] for g in gaps)
    assert all(gpu_check.BUSY_S[0] <= b <= gpu_check.BUSY_S[1] for b in busy)
    total = sum(p.seconds for p in plan)
    assert 60.0 <= total < 60.0 + gpu_check.BUSY_S[1] + gpu_check.IDLE_S[1]
    assert plan == gpu_check.bursty_plan(60.0, seed=3)
    assert plan != gpu_check.bursty_plan(60.0, seed=4)


def test_without_energy_counter_hides_only_the_counter(gpu_check):
    fake = FakeNvml([FakeGpu(UUID, energy_mj=5_000, power_mw=123_000)])
    proxy = gpu_check.without_energy_counter(fake.module)
    proxy.nvmlInit()
    handle = proxy.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(fake.module.NVMLError) as err:
        proxy.nvmlDeviceGetTotalEnergyConsumption(handle)
    assert err.value.value == NVML_ERROR_NOT_SUPPORTED
    assert proxy.nvmlDeviceGetPowerUsage(handle) == 123_000
    assert fake.module.nvmlDeviceGetTotalEnergyConsumption(handle) == 5_000
    proxy.nvmlShutdown()


def test_dry_run_against_the_fake_nvml(gpu_check, tmp_path):
    fake = FakeNvml([FakeGpu(UUID, name="NVIDIA H100 80GB HBM3")])
    Phase = gpu_check.Phase
    plan = [Phase("busy", 0.3), Phase("idle", 0.05), Phase("busy", 0.2), Phase("idle", 0.3), Phase("busy", 0.3), Phase("idle", 0.1)]
    before = sys.modules.get("pynvml")
    out = tmp_path / "gpu-check.json"
    with SimulatedGpu(fake.gpus[0]) as sim:
        result = gpu_check.run(
            nvml=fake.module,
            workload=sim.workload,
            plan=plan,
            codecarbon=False,
            normal_discovery=False,  # no NVIDIA device node here, so discovery would skip NVML
            sampled_period_s=0.1,
            out=out,
            kind="dry run (fake NVML)",
        )

    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert sys.modules.get("pynvml") is before, "the pynvml hook must be undone"
    assert fake.refcount == 0, "every nvmlInit must be matched by an nvmlShutdown"
    assert result["gpu"] == {"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": UUID, "driver": "?"}
    assert result["plan"]["phases"] == 6 and result["plan"]["busy_s"] == pytest.approx(0.8)

    # The workload drew 600 W for 0.8 s and 80 W for 0.45 s; sleeps only ever run long.
    expected_j = 0.8 * BUSY_MW / 1000 + 0.45 * IDLE_MW / 1000
    assert expected_j * 0.95 < result["counter"]["energy_j"] < expected_j * 1.5

    methods = result["methods"]
    assert set(methods) == {"wattprint", "wattprint_sampled", "nvml_power_10ms"}
    assert result["skipped"] == {"codecarbon": "not requested"}
    for m in methods.values():  # each window contains the workload
        assert m["counter_j"] >= result["counter"]["energy_j"]

    wp = methods["wattprint"]
    assert wp["method"] == "counter"
    assert abs(wp["error_pct"]) < 1.0  # the script's target; the same counter: only its start and stop differ
    assert result["target"]["met"] is True

    sampled = methods["wattprint_sampled"]
    assert sampled["method"] == "sampled"
    assert abs(sampled["error_pct"]) < 15

    power = methods["nvml_power_10ms"]
    assert power["samples"] > 30 and power["read_errors"] == 0
    assert abs(power["error_pct"]) < 5

    table = "\n".join(gpu_check.gpu_table(result))
    for label in ("wattprint (normal discovery)", "power-sampled fallback", "every 10 ms", "skipped: not requested"):
        assert label in table
    assert "within 1 % of the counter: met" in table


def test_table_reports_a_miss(gpu_check):
    result = {
        "kind": "gpu",
        "date": "2026-01-01 00:00:00",
        "gpu": {"name": "NVIDIA H200", "driver": "570.1"},
        "plan": {"phases": 10, "busy_s": 5.0, "idle_s": 5.0, "idle_gap_range_s": [0.05, 2.0]},
        "counter": {"energy_j": 1000.0, "duration_s": 10.0},
        "methods": {"wattprint": {"energy_j": 1020.0, "counter_j": 1000.0, "error_pct": 2.0, "method": "counter"}},
        "skipped": {"codecarbon": "codecarbon does not import here"},
        "settings": {"sampled_period_s": 1.0},
        "target": {"wattprint_within_pct": 1.0, "met": False},
    }
    table = "\n".join(gpu_check.gpu_table(result))
    assert "| wattprint (normal discovery) | 1020.0 | 1000.0 | +2.000 % | counter |" in table
    assert "**missed**" in table
    assert "gaps 50 ms to 2.0 s" in table
