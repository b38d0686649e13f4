"""AMD GPUs through amdsmi, driven by the fake ``amdsmi`` in tests/fakes/amdsmi.py.

The fake GPUs draw ``power_w`` on a FakeClock; discovery "sleeps" by advancing that clock, so the
counter check sees real-looking energy without any waiting.
"""

from __future__ import annotations

import sys

import pytest

from tests.fakes.amdsmi import AMDSMI_STATUS_INIT_ERROR, FakeAmdGpu, FakeAmdSmi
from wattprint.core.errors import SensorError
from wattprint.core.measurement import COUNTER, GPU, SAMPLED
from wattprint.core.sensors.amd import VALIDATION_S, discover_amd
from wattprint.testing import FakeClock

UUID_0 = "0aff74a1-0000-1000-8088-3f4a9e13c7a8"
UUID_1 = "1bff74a1-0000-1000-8088-3f4a9e13c7a8"
UUID_2 = "2cff74a1-0000-1000-8088-3f4a9e13c7a8"


class Sleeper:
    """Stands for ``time.sleep``: records each wait and moves the fake clock by it."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


def _discover(gpus, visible=None, clock=None, **kwargs):
    clock = clock or FakeClock()
    fake = FakeAmdSmi(gpus, clock=clock, **kwargs)
    sleeper = Sleeper(clock)
    found = discover_amd(amdsmi=fake.module, visible_devices=visible, clock=clock, environ={}, sleep=sleeper)
    return found, fake, sleeper


# -- counter checked against power x time -------------------------------------------------------


def test_a_counter_that_agrees_with_power_is_trusted():
    clock = FakeClock()
    found, _, sleeper = _discover([FakeAmdGpu(UUID_0, power_w=300.0)], clock=clock)

    (sensor,) = found.sensors
    assert (sensor.domain, sensor.method, sensor.key) == (GPU, COUNTER, f"amdsmi:{UUID_0}")
    assert sensor.name == "AMD Instinct MI300X (GPU 0)"
    assert "ratio 1.00" in sensor.note
    assert sleeper.waits == [VALIDATION_S]
    clock.advance(100)
    assert sensor.energy_j() == pytest.approx(30_000.0, rel=1e-6)  # 300 W x 100 s


@pytest.mark.parametrize(
    ("gpu", "why"),
    [
        (FakeAmdGpu(UUID_0, counter="frozen"), "0 J against 90 J"),
        (FakeAmdGpu(UUID_0, counter_scale=20.0), "disagrees"),
        (FakeAmdGpu(UUID_0, counter_scale=0.05), "disagrees"),
    ],
)
def test_a_counter_that_disagrees_is_replaced_by_integrated_power(gpu, why):
    clock = FakeClock()
    found, _, _ = _discover([gpu], clock=clock)

    (sensor,) = found.sensors
    assert sensor.method == SAMPLED
    assert any(why in note for note in found.notes)
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(3_000.0)


@pytest.mark.parametrize("scale", [0.2, 5.0])
def test_the_check_tolerates_counters_within_a_factor_of_ten(scale):
    found, _, _ = _discover([FakeAmdGpu(UUID_0, counter_scale=scale)])
    assert found.sensors[0].method == COUNTER


def test_the_pre_6_2_1_power_key_is_read_as_the_accumulator():
    clock = FakeClock()
    found, _, _ = _discover([FakeAmdGpu(UUID_0, legacy_key=True, power_w=200.0)], clock=clock)
    (sensor,) = found.sensors
    assert sensor.method == COUNTER
    clock.advance(5)
    assert sensor.energy_j() == pytest.approx(1_000.0, rel=1e-6)


def test_no_counter_means_integrated_power_and_no_wait():
    found, _, sleeper = _discover([FakeAmdGpu(UUID_0, counter="none")])
    assert [s.method for s in found.sensors] == [SAMPLED]
    assert sleeper.waits == []


def test_all_gpus_are_checked_in_one_wait():
    gpus = [FakeAmdGpu(UUID_0), FakeAmdGpu(UUID_1), FakeAmdGpu(UUID_2, counter="frozen")]
    found, _, sleeper = _discover(gpus)
    assert [s.method for s in found.sensors] == [COUNTER, COUNTER, SAMPLED]
    assert sleeper.waits == [VALIDATION_S]


def test_a_counter_without_any_power_reading_is_used_unchecked():
    found, _, _ = _discover([FakeAmdGpu(UUID_0, power_report="na")])
    (sensor,) = found.sensors
    assert sensor.method == COUNTER and "not checked" in sensor.note


def test_mi250_second_die_reporting_no_power_gets_a_note_and_no_sensor():
    dies = [
        FakeAmdGpu(UUID_0, market_name="AMD Instinct MI250X / MI250", power_w=500.0),
        FakeAmdGpu(
            UUID_1,
            market_name="AMD Instinct MI250X / MI250",
            power_w=0.0,
            power_report="zero",
            counter="frozen",
        ),
    ]
    found, _, _ = _discover(dies)
    assert [s.key for s in found.sensors] == [f"amdsmi:{UUID_0}"]
    assert any("GPU 1" in n and "MI250" in n and "sibling" in n for n in found.notes)


def test_a_gpu_with_neither_reading_is_not_measured():
    found, _, _ = _discover([FakeAmdGpu(UUID_0, counter="none", power_report="na")])
    assert found.sensors == []
    assert "neither an energy counter nor a power reading" in found.notes[0]


# -- mid-run behaviour ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counter", "function"), [("ok", "amdsmi_get_energy_count"), ("none", "amdsmi_get_power_info")]
)
def test_a_library_error_mid_run_raises_sensor_error(counter, function):
    clock = FakeClock()
    gpu = FakeAmdGpu(UUID_0, counter=counter)
    found, _, _ = _discover([gpu], clock=clock)
    (sensor,) = found.sensors
    gpu.fail[function] = (gpu.calls[function] + 1, 54)  # AMDSMI_STATUS_AMDGPU_RESTART_ERR
    clock.advance(1)
    with pytest.raises(SensorError, match="amdsmi failed"):
        sensor.energy_j()


def test_a_counter_running_backwards_counts_zero_for_that_interval():
    clock = FakeClock()
    gpu = FakeAmdGpu(UUID_0, power_w=100.0)
    found, _, _ = _discover([gpu], clock=clock)
    (sensor,) = found.sensors
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(1_000.0, rel=1e-6)

    gpu.start_accumulator -= 10**9  # a glitch: the raw value jumps back by ~15 kJ
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(1_000.0, rel=1e-6)
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(2_000.0, rel=1e-6)


def test_a_counter_that_glitches_back_once_and_recovers_is_measured_from_its_last_good_value():
    clock = FakeClock()
    gpu = FakeAmdGpu(UUID_0, power_w=100.0)
    found, _, _ = _discover([gpu], clock=clock)
    (sensor,) = found.sensors
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(1_000.0, rel=1e-6)
    gpu.start_accumulator -= 10**12  # one bad reading, far below the baseline...
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(1_000.0, rel=1e-6)
    gpu.start_accumulator += 10**12  # ...then the counter reads normally again
    clock.advance(10)
    assert sensor.energy_j() == pytest.approx(3_000.0, rel=1e-6)  # not 1,000 J + the glitch's depth


def test_amdsmi_is_shut_down_once_when_the_last_sensor_closes():
    clock = FakeClock()
    found, fake, _ = _discover([FakeAmdGpu(UUID_0), FakeAmdGpu(UUID_1, counter="none")], clock=clock)
    first, second = found.sensors
    first.close()
    first.close()
    assert fake.shutdown_calls == 0
    second.close()
    assert (fake.shutdown_calls, fake.initialised) == (1, 0)
    clock.advance(1)
    with pytest.raises(SensorError, match="closed"):
        second.energy_j()


# -- library missing or failing -----------------------------------------------------------------


def test_init_failure_is_an_empty_discovery_with_a_note():
    found, fake, _ = _discover([FakeAmdGpu(UUID_0)], init_error=AMDSMI_STATUS_INIT_ERROR)
    assert found.sensors == []
    assert "amdsmi_init failed" in found.notes[0]
    assert fake.shutdown_calls == 0


def test_not_installed_is_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "amdsmi", None)  # find_spec() answers None, as when absent
    found = discover_amd(environ={})
    assert found.sensors == []
    assert "wattprint[amd]" in found.notes[0]


def test_installed_without_the_rocm_library_is_a_note(monkeypatch, tmp_path):
    # The real package raises KeyError at import when libamd_smi.so cannot be found.
    package = tmp_path / "site" / "amdsmi"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("_libraries = {}\n_libraries['libamd_smi.so']\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "amdsmi", raising=False)
    found = discover_amd(environ={})
    assert found.sensors == []
    assert "could not load the ROCm library" in found.notes[0]
    assert "KeyError" in found.notes[0]


# -- which GPUs ------------------------------------------------------------------------------


def _out_of_order():
    # amdsmi lists GPUs in PCI order; HIP numbers them differently on some machines.
    return [FakeAmdGpu(UUID_0, hip_id=2), FakeAmdGpu(UUID_1, hip_id=0), FakeAmdGpu(UUID_2, hip_id=1)]


def test_gpus_are_numbered_as_hip_numbers_them():
    found, _, _ = _discover(_out_of_order())
    assert [s.name for s in found.sensors] == [f"AMD Instinct MI300X (GPU {i})" for i in range(3)]
    assert [s.key for s in found.sensors] == [f"amdsmi:{u}" for u in (UUID_1, UUID_2, UUID_0)]


def test_without_enumeration_info_the_library_order_is_used():
    found, _, _ = _discover(_out_of_order(), visible="0", enumeration=False)
    assert [s.key for s in found.sensors] == [f"amdsmi:{UUID_0}"]


def test_visible_devices_by_index_and_uuid():
    found, _, _ = _discover(_out_of_order(), visible="2")
    assert [s.key for s in found.sensors] == [f"amdsmi:{UUID_0}"]
    found, _, _ = _discover(_out_of_order(), visible="2cff74a1")
    assert [s.key for s in found.sensors] == [f"amdsmi:{UUID_2}"]
    found, _, _ = _discover(_out_of_order(), visible="")
    assert found.sensors == [] and "empty" in found.notes[0]


def test_an_invalid_entry_hides_the_entries_after_it():
    found, _, _ = _discover(_out_of_order(), visible="1,9,0")
    assert [s.key for s in found.sensors] == [f"amdsmi:{UUID_2}"]
    assert any("'9' matches no GPU" in n for n in found.notes)


def test_rocr_selects_first_then_hip_indexes_into_the_selection():
    clock = FakeClock()
    fake = FakeAmdSmi(_out_of_order(), clock=clock)
    env = {"ROCR_VISIBLE_DEVICES": "1,2", "HIP_VISIBLE_DEVICES": "1"}
    found = discover_amd(amdsmi=fake.module, clock=clock, environ=env, sleep=clock.advance)
    assert [s.key for s in found.sensors] == [f"amdsmi:{UUID_0}"]  # HIP 1 of (hip 1, hip 2) = hip 2


def test_cuda_visible_devices_selects_amd_gpus_when_hip_visible_devices_is_unset():
    # HIP reads CUDA_VISIBLE_DEVICES the same way (ROCm recommends it for portable jobs).
    clock = FakeClock()
    for env, expected in (({"CUDA_VISIBLE_DEVICES": "1"}, 1), ({"HIP_VISIBLE_DEVICES": "0,1", "CUDA_VISIBLE_DEVICES": "1"}, 2)):
        fake = FakeAmdSmi(_out_of_order(), clock=clock)
        found = discover_amd(amdsmi=fake.module, clock=clock, environ=env, sleep=clock.advance)
        assert len(found.sensors) == expected, env
