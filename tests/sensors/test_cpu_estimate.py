"""CPU estimate: host detection, the visible slice (affinity, cgroup quotas), the load curve and
the energy it integrates, in machine and process scope."""

from __future__ import annotations

import threading
import time
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wattprint.core.errors import ConfigError, SensorError
from wattprint.core.measurement import CPU, ESTIMATED
from wattprint.core.sensors.cpu_estimate import (
    TEADS_CURVE,
    CpuEstimateSensor,
    cpu_estimate_sensor,
    load_factor,
)
from wattprint.core.sensors.cpu_info import (
    MEDIAN,
    CpuSlice,
    SliceBusy,
    busy_seconds,
    cgroup_cpu,
    cpu_info,
    cpu_slice,
    parse_cpuinfo,
    read_cgroup_usage_s,
)
from wattprint.core.sensors.process import ProcessTree
from wattprint.testing import FakeClock

# psutil's Linux field sets, in seconds.
scputimes = namedtuple(
    "scputimes", "user nice system idle iowait irq softirq steal guest guest_nice"
)
pcputimes = namedtuple("pcputimes", "user system children_user children_system iowait")
pmem = namedtuple("pmem", "rss vms shared text lib data dirty")


class FakeCpuTimes:
    """``psutil.cpu_times`` over ``n`` CPUs whose busy and idle seconds tests advance."""

    def __init__(self, n: int = 2) -> None:
        self.n = n
        self.busy = [0.0] * n
        self.idle = [0.0] * n
        self.fail: Exception | None = None

    def run(self, seconds: float, busy_fraction: float) -> None:
        for i in range(self.n):
            self.busy[i] += seconds * busy_fraction
            self.idle[i] += seconds * (1 - busy_fraction)

    def _one(self, i: int) -> scputimes:
        # Busy time split over user/system; guest is inside user, as on Linux.
        b = self.busy[i]
        return scputimes(0.6 * b, 0.0, 0.4 * b, self.idle[i], 0.0, 0.0, 0.0, 0.0, 0.1 * b, 0.0)

    def __call__(self, percpu: bool = False) -> scputimes | list[scputimes]:
        if self.fail is not None:
            raise self.fail
        if percpu:
            return [self._one(i) for i in range(self.n)]
        return scputimes(*(sum(f) for f in zip(*(self._one(i) for i in range(self.n)), strict=True)))


class FakeProcess:
    """The parts of ``psutil.Process`` that ProcessTree uses."""

    def __init__(self, pid: int = 4242) -> None:
        self.pid = pid
        self.cpu_s = 0.0
        self.rss = 100 * 2**20

    @contextmanager
    def oneshot(self) -> Iterator[None]:
        yield

    def cpu_times(self) -> pcputimes:
        return pcputimes(self.cpu_s * 0.7, self.cpu_s * 0.3, 0.0, 0.0, 0.0)

    def memory_info(self) -> pmem:
        return pmem(self.rss, 2 * self.rss, 0, 0, 0, 0, 0)

    def children(self, recursive: bool = False) -> list[FakeProcess]:
        return []


def _slice(n: int = 2) -> CpuSlice:
    return CpuSlice(frozenset(range(n)), n)


# --- the load curve ---------------------------------------------------------------------------


@pytest.mark.parametrize(("u", "f"), TEADS_CURVE)
def test_load_curve_points(u: float, f: float) -> None:
    assert load_factor(u) == pytest.approx(f)


@pytest.mark.parametrize(
    ("u", "f"),
    [(0.05, 0.22), (0.30, 0.535), (0.75, 0.885), (-0.5, 0.12), (1.7, 1.02)],
)
def test_load_curve_interpolates_and_clamps(u: float, f: float) -> None:
    assert load_factor(u) == pytest.approx(f)


# --- what the host is ---------------------------------------------------------------------------

EPYC_VM = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
physical id\t: 0
siblings\t: 2
cpu cores\t: 2
flags\t\t: fpu vme ht hypervisor avx2

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
physical id\t: 0
"""


def _cpuinfo(model: str, *, vm: bool, siblings: int = 4, vendor: str = "GenuineIntel") -> str:
    flags = "fpu ht hypervisor" if vm else "fpu ht"
    return (
        f"processor\t: 0\nvendor_id\t: {vendor}\nmodel name\t: {model}\n"
        f"physical id\t: 0\nsiblings\t: {siblings}\ncpu cores\t: {siblings // 2}\nflags\t\t: {flags}\n"
    )


def test_parse_cpuinfo_of_a_vm() -> None:
    host = parse_cpuinfo(EPYC_VM)
    assert host.model_raw == "AMD EPYC"
    assert host.vendor == "AMD"
    assert (host.family, host.model_number) == (25, 17)
    assert host.hypervisor
    assert (host.threads_per_socket, host.cores_per_socket, host.sockets) == (2, 2, 1)


def test_parse_cpuinfo_of_arm_without_model_name() -> None:
    host = parse_cpuinfo(
        "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
    )
    assert host.model_raw == ""
    assert host.vendor == "ARM"
    assert not host.hypervisor


def test_masked_epyc_uses_amd_vendor_median() -> None:
    info = cpu_info(cpuinfo_text=EPYC_VM, slice_=_slice(2))
    assert info.match_level == MEDIAN
    assert info.row is None
    assert info.w_per_thread == 3.4
    assert "model masked" in info.basis
    assert info.label == "AMD EPYC"
    assert info.tdp_share_w == pytest.approx(6.8)


def test_exact_row_in_a_vm_divides_tdp_by_the_rows_threads() -> None:
    text = _cpuinfo("AMD EPYC 7763 64-Core Processor", vm=True, vendor="AuthenticAMD")
    info = cpu_info(cpuinfo_text=text, slice_=_slice(8))
    assert info.match_level == "exact"
    assert info.w_per_thread == pytest.approx(280 / 128)
    # A slice of 8 vCPUs is charged 8 threads' worth, not the whole 280 W chip.
    assert info.tdp_share_w == pytest.approx(8 * 280 / 128)


def test_row_without_threads_in_a_vm_assumes_smt_for_xeon() -> None:
    info = cpu_info(cpuinfo_text=_cpuinfo("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", vm=True), slice_=_slice(4))
    assert info.w_per_thread == pytest.approx(150 / 40)
    assert "SMT assumed" in info.basis


def test_bare_metal_with_all_threads_visible_gives_tdp_times_sockets() -> None:
    text = _cpuinfo("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", vm=False, siblings=40)
    info = cpu_info(cpuinfo_text=text, slice_=_slice(80))  # two sockets
    assert info.tdp_share_w == pytest.approx(2 * 150)
    assert "reported by the OS" in info.basis


def test_row_without_core_count_in_a_vm_falls_back_to_median() -> None:
    info = cpu_info(cpuinfo_text=_cpuinfo("AMD EPYC 7R13 Processor", vm=True, vendor="AuthenticAMD"), slice_=_slice(4))
    assert info.row is not None and info.row.tdp_w == 225
    assert info.match_level == MEDIAN
    assert info.w_per_thread == 3.4
    assert "no core count" in info.basis


def test_suffix_match_is_reported() -> None:
    info = cpu_info(cpuinfo_text=_cpuinfo("Intel(R) Xeon(R) Platinum 8480 CPU", vm=True), slice_=_slice(4))
    assert info.match_level == "suffix"
    assert "suffix match of Xeon Platinum 8480+" in info.basis


def test_unnamed_kvm_cpu_takes_vendor_from_vendor_id() -> None:
    info = cpu_info(cpuinfo_text=_cpuinfo("Common KVM processor", vm=True), slice_=_slice(2))
    assert info.vendor == "Intel"
    assert info.w_per_thread == 3.9
    assert "model masked" in info.basis


def test_arm_without_model_uses_arm_median() -> None:
    info = cpu_info(cpuinfo_text="processor\t: 0\nCPU implementer\t: 0xc0\n", slice_=_slice(4))
    assert (info.vendor, info.w_per_thread) == ("Ampere", 3.0)
    assert "model not reported" in info.basis
    assert info.label == "Ampere"


# --- the visible slice: affinity and cgroup quotas ----------------------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_of_own_cgroup(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup.controllers", "cpu memory")
    _write(tmp_path / "job" / "cpu.max", "150000 100000\n")
    _write(tmp_path / "job" / "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\n")
    found = cgroup_cpu(tmp_path, "0::/job\n")
    assert found is not None
    assert found.quota_cpus == 1.5
    assert found.usage_file == str(tmp_path / "job" / "cpu.stat")  # a plain str path
    assert read_cgroup_usage_s(found.usage_file) == 2.5


def test_cgroup_v2_tightest_limit_on_the_path_wins(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup.controllers", "cpu")
    _write(tmp_path / "slice" / "cpu.max", "200000 100000")
    _write(tmp_path / "slice" / "job" / "cpu.max", "max 100000")
    found = cgroup_cpu(tmp_path, "0::/slice/job\n")
    assert found is not None and found.quota_cpus == 2.0
    assert found.usage_file is None  # no cpu.stat written for the limiting cgroup


def test_cgroup_v2_unlimited(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup.controllers", "cpu")
    _write(tmp_path / "cpu.max", "max 100000")
    assert cgroup_cpu(tmp_path, "0::/\n") is None


def test_cgroup_path_missing_in_container_reads_the_root(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup.controllers", "cpu")
    _write(tmp_path / "cpu.max", "300000 100000")
    found = cgroup_cpu(tmp_path, "0::/docker/abc123\n")
    assert found is not None and found.quota_cpus == 3.0


def test_cgroup_v1_quota_with_comounted_cpuacct(tmp_path: Path) -> None:
    cg = tmp_path / "cpu,cpuacct" / "kubepods" / "pod1"
    _write(tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us", "-1")
    _write(tmp_path / "cpu,cpuacct" / "cpu.cfs_period_us", "100000")
    _write(cg / "cpu.cfs_quota_us", "50000")
    _write(cg / "cpu.cfs_period_us", "100000")
    _write(cg / "cpuacct.usage", "1500000000")
    found = cgroup_cpu(tmp_path, "4:cpu,cpuacct:/kubepods/pod1\n2:memory:/kubepods/pod1\n")
    assert found is not None and found.quota_cpus == 0.5
    assert found.usage_file is not None and read_cgroup_usage_s(found.usage_file) == 1.5


def test_cgroup_v1_separate_cpuacct_mount(tmp_path: Path) -> None:
    _write(tmp_path / "cpu" / "cpu.cfs_quota_us", "200000")
    _write(tmp_path / "cpu" / "cpu.cfs_period_us", "100000")
    _write(tmp_path / "cpuacct" / "cpuacct.usage", "7000000000")
    found = cgroup_cpu(tmp_path, "1:cpu:/\n2:cpuacct:/\n")
    assert found is not None and found.quota_cpus == 2.0
    assert found.usage_file == str(tmp_path / "cpuacct" / "cpuacct.usage")


def test_cgroup_v1_unlimited(tmp_path: Path) -> None:
    _write(tmp_path / "cpu" / "cpu.cfs_quota_us", "-1")
    _write(tmp_path / "cpu" / "cpu.cfs_period_us", "100000")
    assert cgroup_cpu(tmp_path, "1:cpu:/\n") is None


def test_no_cgroup_filesystem(tmp_path: Path) -> None:
    assert cgroup_cpu(tmp_path / "absent", "") is None


def test_bad_usage_file_raises_sensor_error(tmp_path: Path) -> None:
    _write(tmp_path / "cpu.stat", "user_usec 1\n")
    with pytest.raises(SensorError):
        read_cgroup_usage_s(tmp_path / "cpu.stat")
    with pytest.raises(SensorError):
        read_cgroup_usage_s(tmp_path / "missing" / "cpuacct.usage")


def test_slice_respects_affinity_and_quota(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup.controllers", "cpu")
    _write(tmp_path / "cpu.max", "150000 100000")
    s = cpu_slice(affinity={0, 1, 2, 3}, logical_cpus=64, cgroup_root=tmp_path, self_cgroup="0::/\n")
    assert (s.visible_cpus, s.logical_cpus, s.quota_limits) == (1.5, 64, True)

    s = cpu_slice(affinity={5}, logical_cpus=64, cgroup_root=tmp_path, self_cgroup="0::/\n")
    assert (s.visible_cpus, s.quota_limits) == (1.0, False)

    s = cpu_slice(affinity={0, 1}, logical_cpus=2, cgroup_root=tmp_path / "none", self_cgroup="")
    assert (s.visible_cpus, s.quota_cpus) == (2.0, None)


def test_real_slice_of_this_machine() -> None:
    s = cpu_slice()
    assert 0 < s.visible_cpus <= s.logical_cpus


# --- how busy the slice is ----------------------------------------------------------------------


def test_busy_seconds_excludes_idle_steal_and_guest() -> None:
    t = scputimes(10.0, 1.0, 4.0, 100.0, 3.0, 0.5, 0.5, 7.0, 2.0, 0.25)
    assert busy_seconds(t) == pytest.approx(16.0)


def test_slice_busy_reads_only_cpus_in_the_affinity_mask() -> None:
    times = FakeCpuTimes(4)
    times.busy = [1.0, 2.0, 4.0, 8.0]
    busy = SliceBusy(CpuSlice(frozenset({1, 3}), 4), times)
    assert busy.cpus == 2
    assert busy.busy_s() == pytest.approx(10.0)
    assert SliceBusy(_slice(4), times).busy_s() == pytest.approx(15.0)


def test_slice_busy_uses_cgroup_usage_when_the_quota_sets_the_slice(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup.controllers", "cpu")
    _write(tmp_path / "cpu.max", "200000 100000")
    _write(tmp_path / "cpu.stat", "usage_usec 4000000\n")
    s = cpu_slice(affinity=range(64), logical_cpus=64, cgroup_root=tmp_path, self_cgroup="0::/\n")
    busy = SliceBusy(s, FakeCpuTimes(64))
    assert (busy.cpus, busy.source) == (2.0, "cgroup cpu.stat")
    assert busy.busy_s() == 4.0


# --- energy -------------------------------------------------------------------------------------


def _sensor(clock: FakeClock, times: FakeCpuTimes, **kwargs: object) -> CpuEstimateSensor:
    return CpuEstimateSensor(
        w_per_thread=3.4, busy=SliceBusy(_slice(times.n), times), visible_cpus=times.n, clock=clock, **kwargs  # type: ignore[arg-type]
    )


def test_energy_follows_utilisation_of_each_interval() -> None:
    clock, times = FakeClock(), FakeCpuTimes(2)
    sensor = _sensor(clock, times)
    assert (sensor.domain, sensor.method, sensor.needs_polling) == (CPU, ESTIMATED, True)
    assert sensor.energy_j() == 0.0

    times.run(1.0, 0.5)
    clock.advance(1.0)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75)  # 50 % of 2 x 3.4 W for 1 s

    times.run(2.0, 0.0)
    clock.advance(2.0)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75 + 6.8 * 0.12 * 2)

    times.run(0.5, 1.0)
    clock.advance(0.5)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75 + 6.8 * 0.12 * 2 + 6.8 * 1.02 * 0.5)
    assert sensor.last_utilisation == pytest.approx(1.0)


def test_read_without_time_passing_adds_nothing() -> None:
    clock, times = FakeClock(), FakeCpuTimes(2)
    sensor = _sensor(clock, times)
    times.run(1.0, 1.0)
    clock.advance(1.0)
    first = sensor.energy_j()
    assert sensor.energy_j() == first


def test_read_right_after_a_measurement_uses_the_latest_power() -> None:
    clock, times = FakeClock(), FakeCpuTimes(2)
    sensor = _sensor(clock, times)
    times.run(1.0, 1.0)
    clock.advance(1.0)
    full = sensor.energy_j()
    assert full == pytest.approx(6.8 * 1.02)

    # 20 ms later, a window closes: one tick of idle time must not read as "0 % busy".
    times.run(0.02, 0.0)
    clock.advance(0.02)
    assert sensor.energy_j() == pytest.approx(full + 6.8 * 1.02 * 0.02)

    # The next measurement spans both reads: 0.51 busy seconds per CPU in 1.02 s is 50 %.
    times.run(1.0, 0.51)
    clock.advance(1.0)
    assert sensor.energy_j() == pytest.approx(full + 6.8 * 1.02 * 0.02 + 6.8 * 0.75 * 1.0)
    assert sensor.last_utilisation == pytest.approx(0.5)


def test_short_first_window_is_charged_its_measured_load_not_idle() -> None:
    clock, times = FakeClock(), FakeCpuTimes(2)
    sensor = _sensor(clock, times)
    # A 50 ms first epoch with one of two CPUs busy: 50 % load (5.1 W), not the idle 0.82 W.
    times.run(0.05, 0.5)
    clock.advance(0.05)
    first = sensor.energy_j()
    assert first == pytest.approx(6.8 * 0.75 * 0.05)
    assert sensor.last_utilisation == pytest.approx(0.5)

    # Once measured, the usual 0.1 s minimum holds again: a read 30 ms later takes that power.
    times.run(0.03, 0.0)
    clock.advance(0.03)
    assert sensor.energy_j() == pytest.approx(first + 6.8 * 0.75 * 0.03)
    assert sensor.last_utilisation == pytest.approx(0.5)


def test_first_read_under_20_ms_is_idle_then_measured_since_start() -> None:
    clock, times = FakeClock(), FakeCpuTimes(2)
    sensor = _sensor(clock, times)
    # 10 ms is one scheduler tick: too short to tell busy from idle, so the idle figure.
    times.run(0.01, 1.0)
    clock.advance(0.01)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.12 * 0.01)

    # At 30 ms from the start the load is measured over all 30 ms (fully busy).
    times.run(0.02, 1.0)
    clock.advance(0.02)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.12 * 0.01 + 6.8 * 1.02 * 0.02)
    assert sensor.last_utilisation == pytest.approx(1.0)


def test_short_first_window_in_process_scope_charges_the_trees_share() -> None:
    clock, times, root = FakeClock(), FakeCpuTimes(2), FakeProcess()
    tree = ProcessTree(clock=clock, process=root, max_age_s=0.05)
    sensor = _sensor(clock, times, scope="process", process=tree)
    # 60 ms with the tree keeping one CPU of two busy, alone on the machine.
    times.run(0.06, 0.5)
    root.cpu_s += 0.06
    clock.advance(0.06)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75 * 0.06)
    assert sensor.last_utilisation == pytest.approx(0.5)


def test_process_scope_waits_for_a_fresh_walk_of_the_tree() -> None:
    clock, times, root = FakeClock(), FakeCpuTimes(2), FakeProcess()
    tree = ProcessTree(clock=clock, process=root, max_age_s=0.05)
    sensor = _sensor(clock, times, scope="process", process=tree)
    # At 30 ms the tree's reading is still the one taken at the start: no measurement yet.
    times.run(0.03, 0.5)
    root.cpu_s += 0.03
    clock.advance(0.03)
    assert sensor.energy_j() == 0.0
    # At 60 ms the tree is walked again; its 60 ms of work is measured over 60 ms, not 30.
    times.run(0.03, 0.5)
    root.cpu_s += 0.03
    clock.advance(0.03)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75 * 0.03)
    assert sensor.last_utilisation == pytest.approx(0.5)


def test_failed_read_raises_and_next_read_covers_the_gap() -> None:
    clock, times = FakeClock(), FakeCpuTimes(2)
    sensor = _sensor(clock, times)
    times.run(1.0, 0.5)
    clock.advance(1.0)
    times.fail = OSError("no /proc/stat")
    with pytest.raises(SensorError):
        sensor.energy_j()
    times.fail = None
    times.run(1.0, 0.5)
    clock.advance(1.0)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75 * 2)


def test_process_scope_charges_the_trees_share_of_busy_time() -> None:
    clock, times, root = FakeClock(), FakeCpuTimes(2), FakeProcess()
    tree = ProcessTree(clock=clock, process=root)
    sensor = _sensor(clock, times, scope="process", process=tree)
    assert sensor.key == "cpu:estimate:process"

    # Machine 50 % busy (1 CPU-second of 2), the tree did half of it.
    times.run(1.0, 0.5)
    root.cpu_s += 0.5
    clock.advance(1.0)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75 * 0.5)

    # The tree idle while others work: nothing charged, not even the idle floor.
    times.run(1.0, 0.5)
    clock.advance(1.0)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75 * 0.5)

    # The tree alone on the machine: the machine's figure.
    times.run(1.0, 0.25)
    root.cpu_s += 0.5
    clock.advance(1.0)
    machine = 6.8 * load_factor(0.25)
    assert sensor.energy_j() == pytest.approx(6.8 * 0.75 * 0.5 + machine)


def test_process_scope_needs_a_tree() -> None:
    with pytest.raises(ConfigError):
        _sensor(FakeClock(), FakeCpuTimes(2), scope="process")


def test_factory_name_and_note_for_a_masked_vm() -> None:
    info = cpu_info(cpuinfo_text=EPYC_VM, slice_=_slice(2))
    sensor = cpu_estimate_sensor(info=info, slice_=_slice(2), cpu_times=FakeCpuTimes(2), clock=FakeClock())
    assert sensor.name == "AMD EPYC (2 of 2 threads, 3.4 W/thread vendor median)"
    assert "vendor median: model masked" in sensor.note
    assert sensor.method == ESTIMATED


def test_w_per_thread_override() -> None:
    info = cpu_info(cpuinfo_text=EPYC_VM, slice_=_slice(2))
    clock, times = FakeClock(), FakeCpuTimes(2)
    sensor = cpu_estimate_sensor(info=info, slice_=_slice(2), cpu_times=times, clock=clock, w_per_thread=10)
    assert "given" in sensor.name and "w_per_thread=10" in sensor.note
    times.run(1.0, 0.0)
    clock.advance(1.0)
    assert sensor.energy_j() == pytest.approx(2 * 10 * 0.12)


def test_cpu_power_override_is_the_power_at_full_load() -> None:
    info = cpu_info(cpuinfo_text=EPYC_VM, slice_=_slice(2))
    clock, times = FakeClock(), FakeCpuTimes(2)
    sensor = cpu_estimate_sensor(info=info, slice_=_slice(2), cpu_times=times, clock=clock, cpu_power_w=100)
    times.run(2.0, 1.0)
    clock.advance(2.0)
    assert sensor.energy_j() == pytest.approx(200.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scope": "host"},
        {"w_per_thread": -1.0},
        {"w_per_thread": float("nan")},
        {"cpu_power_w": float("inf")},
        {"w_per_thread": 3.0, "cpu_power_w": 50.0},
    ],
)
def test_bad_configuration_fails_at_construction(kwargs: dict[str, object]) -> None:
    info = cpu_info(cpuinfo_text=EPYC_VM, slice_=_slice(2))
    with pytest.raises(ConfigError):
        cpu_estimate_sensor(info=info, slice_=_slice(2), cpu_times=FakeCpuTimes(2), **kwargs)  # type: ignore[arg-type]


def test_busy_thread_costs_more_than_an_idle_wait_on_this_machine() -> None:
    """Real psutil, real clock: ~0.5 s of one busy thread vs ~0.5 s of waiting."""
    tree = ProcessTree()
    machine = cpu_estimate_sensor()
    process = cpu_estimate_sensor(scope="process", process=tree)

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass

    worker = threading.Thread(target=spin, args=(0.5,))
    start_m, start_p = machine.energy_j(), process.energy_j()
    worker.start()
    worker.join()
    busy_m, busy_p = machine.energy_j() - start_m, process.energy_j() - start_p

    start_m, start_p = machine.energy_j(), process.energy_j()
    threading.Event().wait(0.5)
    idle_m, idle_p = machine.energy_j() - start_m, process.energy_j() - start_p

    # The process scope sees only this process's CPU time, so the comparison holds whatever else
    # the machine runs; the machine scope also sees other processes (CI neighbours), so it is
    # only checked to be charging something in both phases.
    assert busy_p > idle_p >= 0
    assert busy_m > 0 and idle_m > 0
