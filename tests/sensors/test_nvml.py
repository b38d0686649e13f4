"""NVIDIA GPUs through NVML, driven by the fake ``pynvml`` in tests/fakes/nvml.py."""

from __future__ import annotations

import inspect
import sys

import pynvml
import pytest

from tests.fakes.nvml import (
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_GPU_IS_LOST,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_ERROR_UNKNOWN,
    FakeGpu,
    FakeNvml,
)
from wattprint.core.errors import SensorError
from wattprint.core.measurement import COUNTER, ESTIMATED, GPU, SAMPLED
from wattprint.core.sensors.gpu_table import IDLE_FRACTION, estimated_gpu_power_w, gpu_tdp_w
from wattprint.core.sensors.nvml import discover_nvml
from wattprint.testing import FakeClock

UUID_A = "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6"
UUID_B = "GPU-8932aaaa-0000-4106-c12f-20bd9faed9f6"
UUID_C = "GPU-1111bbbb-0000-4106-c12f-20bd9faed9f6"
MIG_1 = "MIG-4e6a8f1c-3b2d-5a1e-9f0c-7d8e9a0b1c2d"
MIG_2 = "MIG-5f7b9a2d-4c3e-6b2f-0a1d-8e9f0a1b2c3d"


def _discover(fake: FakeNvml, visible=None, clock=None, **environ):
    return discover_nvml(
        nvml=fake.module, visible_devices=visible, clock=clock or FakeClock(), environ=environ
    )


def _keys(found):
    return [sensor.key for sensor in found.sensors]


# -- the fake is faithful --------------------------------------------------------------------


def test_every_name_of_the_fake_exists_in_the_real_pynvml_with_the_same_parameters():
    fake = FakeNvml().module
    public = [name for name in vars(fake) if not name.startswith("_")]
    assert len(public) > 40
    for name in public:
        assert hasattr(pynvml, name), name
        ours, theirs = getattr(fake, name), getattr(pynvml, name)
        if inspect.isfunction(ours):
            assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters), (
                name
            )
        elif isinstance(ours, int):
            assert ours == theirs, name


def test_fake_errors_behave_like_the_real_ones():
    fake = FakeNvml().module
    for module in (fake, pynvml):
        err = module.NVMLError(module.NVML_ERROR_GPU_IS_LOST)
        assert type(err) is module.NVMLError_GpuIsLost
        assert isinstance(err, module.NVMLError)
        assert err.value == 15
        assert str(err) == "GPU is lost"
        assert isinstance(module.NVMLError(module.NVML_ERROR_NOT_SUPPORTED), module.NVMLError_NotSupported)


# -- one sensor per GPU, the best method each supports ---------------------------------------


def test_counter_gpu_reports_millijoules_as_joules():
    gpu = FakeGpu(UUID_A, energy_mj=5_000_000)
    found = _discover(FakeNvml([gpu]))

    (sensor,) = found.sensors
    assert (sensor.domain, sensor.method, sensor.needs_polling) == (GPU, COUNTER, False)
    assert sensor.key == f"nvml:{UUID_A}"
    assert sensor.name == "NVIDIA A100-SXM4-40GB (GPU 0)"
    assert sensor.energy_j() == 0.0
    gpu.add_energy(123_456)
    assert sensor.energy_j() == pytest.approx(123.456)


def test_driver_reset_counts_on_from_the_new_value():
    gpu = FakeGpu(UUID_A, energy_mj=9_000_000)
    (sensor,) = _discover(FakeNvml([gpu])).sensors
    gpu.add_energy(10_000)
    assert sensor.energy_j() == pytest.approx(10.0)

    gpu.energy_mj = 4_000  # the driver reloaded: the counter restarted from zero
    assert sensor.energy_j() == pytest.approx(14.0)
    gpu.add_energy(1_000)
    assert sensor.energy_j() == pytest.approx(15.0)


def test_power_only_gpu_is_integrated_with_the_trapezoid_rule():
    clock = FakeClock()
    gpu = FakeGpu(UUID_A, name="Tesla P100-PCIE-16GB", energy_mj=None, power_mw=100_000)
    (sensor,) = _discover(FakeNvml([gpu]), clock=clock).sensors

    assert (sensor.method, sensor.needs_polling) == (SAMPLED, True)
    clock.advance(10)
    gpu.power_mw = 200_000
    assert sensor.energy_j() == pytest.approx(1_500.0)  # (100 W + 200 W) / 2 x 10 s


def test_no_energy_or_power_estimates_from_the_enforced_limit_and_utilisation():
    clock = FakeClock()
    gpu = FakeGpu(UUID_A, energy_mj=None, power_mw=None, power_limit_mw=300_000, utilisation_pct=50)
    (sensor,) = _discover(FakeNvml([gpu]), clock=clock).sensors

    assert sensor.method == ESTIMATED
    assert "300 W (enforced power limit)" in sensor.note
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(300 * (IDLE_FRACTION + (1 - IDLE_FRACTION) * 0.5) * 10)
    gpu.utilisation_pct = 0
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(1_800 + 300 * IDLE_FRACTION * 10)


@pytest.mark.parametrize(
    ("name", "watts", "source"),
    [("Tesla T4", 70, "GPU table"), ("NVIDIA Mystery X1", 200, "generic figure")],
)
def test_estimate_without_a_limit_uses_the_table_then_a_generic_figure(name, watts, source):
    clock = FakeClock()
    gpu = FakeGpu(UUID_A, name=name, energy_mj=None, power_mw=None, power_limit_mw=None, utilisation_pct=None)
    (sensor,) = _discover(FakeNvml([gpu]), clock=clock).sensors

    assert f"{watts} W" in sensor.note and source in sensor.note
    assert "full load" in sensor.note  # utilisation unsupported: an upper bound
    clock.advance(2)
    assert sensor.energy_j() == pytest.approx(watts * 2)


def test_mixed_machine_gives_each_gpu_its_own_method():
    gpus = [
        FakeGpu(UUID_A),
        FakeGpu(UUID_B, energy_mj=None),
        FakeGpu(UUID_C, energy_mj=None, power_mw=None),
    ]
    found = _discover(FakeNvml(gpus))
    assert [s.method for s in found.sensors] == [COUNTER, SAMPLED, ESTIMATED]
    assert "(counter)" in found.notes[-1] and "(estimated)" in found.notes[-1]


def test_old_bindings_returning_bytes_are_decoded():
    found = _discover(FakeNvml([FakeGpu(UUID_A, name="Tesla V100-SXM2-16GB")], strings_as_bytes=True))
    (sensor,) = found.sensors
    assert sensor.key == f"nvml:{UUID_A}"
    assert sensor.name == "Tesla V100-SXM2-16GB (GPU 0)"


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpu", "function"),
    [
        (FakeGpu(UUID_A), "nvmlDeviceGetTotalEnergyConsumption"),
        (FakeGpu(UUID_A, energy_mj=None), "nvmlDeviceGetPowerUsage"),
        (FakeGpu(UUID_A, energy_mj=None, power_mw=None), "nvmlDeviceGetUtilizationRates"),
    ],
)
def test_gpu_lost_mid_run_raises_sensor_error(gpu, function):
    clock = FakeClock()
    (sensor,) = _discover(FakeNvml([gpu]), clock=clock).sensors
    gpu.fail[function] = (gpu.calls[function] + 2, NVML_ERROR_GPU_IS_LOST)
    clock.advance(1)
    sensor.energy_j()  # one more read succeeds
    clock.advance(1)
    with pytest.raises(SensorError, match="GPU is lost"):
        sensor.energy_j()


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (NVML_ERROR_LIBRARY_NOT_FOUND, "no NVIDIA driver"),
        (NVML_ERROR_DRIVER_NOT_LOADED, "driver is not loaded"),
        (NVML_ERROR_UNKNOWN, "nvmlInit failed"),
    ],
)
def test_init_failure_is_an_empty_discovery_with_a_note(code, text):
    fake = FakeNvml([FakeGpu(UUID_A)], init_error=code)
    found = _discover(fake)
    assert found.sensors == []
    assert text in found.notes[0]
    assert fake.shutdown_calls == 0


def test_missing_binding_is_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    found = discover_nvml(visible_devices=None, environ={})
    assert found.sensors == []
    assert "nvidia-ml-py is not installed" in found.notes[0]


def test_a_module_that_is_not_nvidias_binding_is_a_note():
    class NotNvml:
        pass

    found = discover_nvml(nvml=NotNvml(), visible_devices=None, environ={})
    assert found.sensors == [] and "not NVIDIA's" in found.notes[0]


def test_a_gpu_failing_at_discovery_is_skipped_and_the_others_are_measured():
    broken = FakeGpu(UUID_B, fail={"nvmlDeviceGetTotalEnergyConsumption": (1, NVML_ERROR_GPU_IS_LOST)})
    unopenable = FakeGpu(UUID_C, fail={"nvmlDeviceGetUUID": (1, NVML_ERROR_UNKNOWN)})
    fake = FakeNvml([FakeGpu(UUID_A), broken, unopenable])
    found = _discover(fake)

    assert _keys(found) == [f"nvml:{UUID_A}"]
    assert any("GPU 1" in n and "GPU is lost" in n for n in found.notes)
    assert any("GPU 2 cannot be opened" in n for n in found.notes)


# -- lifetime: one nvmlInit, one nvmlShutdown after the last sensor closes ---------------------


def test_nvml_is_shut_down_once_when_the_last_sensor_closes():
    fake = FakeNvml([FakeGpu(UUID_A), FakeGpu(UUID_B, energy_mj=None)])
    first, second = _discover(fake).sensors
    assert (fake.init_calls, fake.refcount) == (1, 1)

    first.close()
    first.close()
    assert fake.shutdown_calls == 0
    assert second.energy_j() == 0.0  # still initialised for the other sensor
    second.close()
    assert (fake.shutdown_calls, fake.refcount) == (1, 0)
    with pytest.raises(SensorError, match="closed"):
        first.energy_j()


def test_nvml_is_shut_down_at_once_when_no_gpu_is_kept():
    fake = FakeNvml([FakeGpu(UUID_A)])
    found = _discover(fake, visible="")
    assert found.sensors == []
    assert (fake.init_calls, fake.shutdown_calls, fake.refcount) == (1, 1, 0)


# -- which GPUs: CUDA_VISIBLE_DEVICES ----------------------------------------------------------


def _three_gpus(**kwargs):
    return FakeNvml(
        [
            FakeGpu(UUID_A, name="NVIDIA A100-SXM4-40GB", **kwargs),
            FakeGpu(UUID_B, name="NVIDIA A100-SXM4-40GB", **kwargs),
            FakeGpu(UUID_C, name="NVIDIA H100 80GB HBM3", **kwargs),
        ]
    )


def test_unset_means_every_gpu():
    assert len(_discover(_three_gpus(), visible=None).sensors) == 3


def test_the_default_reads_cuda_visible_devices_from_the_environment():
    found = discover_nvml(nvml=_three_gpus().module, clock=FakeClock(), environ={"CUDA_VISIBLE_DEVICES": "2"})
    assert _keys(found) == [f"nvml:{UUID_C}"]


def test_empty_means_no_gpu():
    found = _discover(_three_gpus(), visible="")
    assert found.sensors == [] and "empty" in found.notes[0]


def test_full_and_prefix_uuids_map_by_uuid_not_position():
    found = _discover(_three_gpus(), visible=f"{UUID_C},GPU-8932,{UUID_B}")
    assert _keys(found) == [f"nvml:{UUID_C}"]  # "GPU-8932" is ambiguous (A and B): CUDA stops there...
    found = _discover(_three_gpus(), visible=f"{UUID_C}, GPU-8932f937")
    assert _keys(found) == [f"nvml:{UUID_C}", f"nvml:{UUID_A}"]  # ...an unambiguous prefix is fine


def test_an_invalid_entry_hides_the_entries_after_it():
    found = _discover(_three_gpus(), visible="1,GPU-ffffffff,0", CUDA_DEVICE_ORDER="PCI_BUS_ID")
    assert _keys(found) == [f"nvml:{UUID_B}"]
    assert any("'GPU-ffffffff' matches no GPU" in n and "(0)" in n for n in found.notes)

    found = _discover(_three_gpus(), visible="-1")
    assert found.sensors == []
    found = _discover(_three_gpus(), visible="0,7")
    assert _keys(found) == [f"nvml:{UUID_A}"]


def test_integer_entries_warn_on_mixed_models_unless_pci_bus_order():
    found = _discover(_three_gpus(), visible="2,0")
    assert _keys(found) == [f"nvml:{UUID_C}", f"nvml:{UUID_A}"]
    assert any("CUDA_DEVICE_ORDER=PCI_BUS_ID" in n for n in found.notes)

    found = _discover(_three_gpus(), visible="2,0", CUDA_DEVICE_ORDER="PCI_BUS_ID")
    assert not any("CUDA_DEVICE_ORDER" in n for n in found.notes)


def test_integer_entries_do_not_warn_when_all_gpus_are_the_same_model():
    fake = FakeNvml([FakeGpu(UUID_A), FakeGpu(UUID_B)])
    found = _discover(fake, visible="1")
    assert _keys(found) == [f"nvml:{UUID_B}"]
    assert not any("CUDA_DEVICE_ORDER" in n for n in found.notes)


def _mig_machine():
    return FakeNvml([FakeGpu(UUID_A, mig=[MIG_1, MIG_2]), FakeGpu(UUID_B)])


def test_mig_slice_is_measured_as_its_parent_gpu_with_a_note():
    fake = _mig_machine()
    found = _discover(fake, visible=MIG_1)

    (sensor,) = found.sensors
    assert sensor.key == f"nvml:{UUID_A}" and sensor.method == COUNTER
    assert any("MIG" in n and "whole GPU" in n for n in found.notes)
    fake.gpus[0].add_energy(2_000)
    assert sensor.energy_j() == pytest.approx(2.0)


def test_two_slices_of_one_gpu_are_measured_once():
    found = _discover(_mig_machine(), visible=f"{MIG_1},{MIG_2},{UUID_B}")
    assert _keys(found) == [f"nvml:{UUID_A}", f"nvml:{UUID_B}"]


@pytest.mark.parametrize("entry", [MIG_2[:12], f"MIG-{UUID_A}/1/0"])
def test_mig_prefix_and_legacy_forms_find_the_parent(entry):
    found = _discover(_mig_machine(), visible=entry)
    assert _keys(found) == [f"nvml:{UUID_A}"]


def test_unknown_mig_device_is_an_invalid_entry():
    found = _discover(_mig_machine(), visible="MIG-00000000-dead")
    assert found.sensors == []
    assert any("matches no GPU" in n for n in found.notes)


# -- the GPU table behind the estimate ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "watts"),
    [
        ("NVIDIA A100-SXM4-40GB", 400),
        ("NVIDIA A100-PCIE-40GB", 250),
        ("NVIDIA A100 80GB PCIe", 300),
        ("NVIDIA H100 80GB HBM3", 700),  # the SXM part does not say so
        ("NVIDIA H100 PCIe", 350),
        ("NVIDIA H100 NVL", 400),
        ("NVIDIA H200", 700),
        ("Tesla V100-SXM2-16GB", 300),
        ("Tesla V100-PCIE-32GB", 250),
        ("Tesla T4", 70),
        ("NVIDIA GeForce RTX 3090", 350),
        ("NVIDIA GeForce RTX 3090 Ti", 450),
        ("NVIDIA RTX 6000 Ada Generation", 300),
        ("NVIDIA GH200 480GB", 1000),
        ("AMD Instinct MI250X / MI250", 560),
        ("Intel(R) Data Center GPU Max 1550", 600),
    ],
)
def test_gpu_table_matches_driver_names(name, watts):
    assert gpu_tdp_w(name) == watts


@pytest.mark.parametrize(
    "name",
    ["NVIDIA A10G", "NVIDIA GeForce RTX 4090 Laptop GPU", "Quadro RTX 6000", "NVIDIA", ""],
)
def test_gpu_table_refuses_near_misses(name):
    assert gpu_tdp_w(name) is None


def test_estimated_power_runs_from_the_idle_floor_to_full_power():
    assert estimated_gpu_power_w(400.0, 0) == pytest.approx(400.0 * IDLE_FRACTION)
    assert estimated_gpu_power_w(400.0, 100) == pytest.approx(400.0)
    assert estimated_gpu_power_w(400.0, 150) == pytest.approx(400.0)
    assert estimated_gpu_power_w(400.0, None) == pytest.approx(400.0)
