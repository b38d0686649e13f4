"""RAM estimate: W/GB on memory in use (machine) or on the process tree's RSS (process)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wattprint.core.errors import ConfigError, SensorError
from wattprint.core.measurement import ESTIMATED, RAM
from wattprint.core.sensors.process import ProcessTree
from wattprint.core.sensors.ram_estimate import (
    DEFAULT_W_PER_GB,
    RamEstimateSensor,
    cgroup_memory,
    ram_estimate_sensor,
)
from wattprint.testing import FakeClock

GB = 2**30
MiB = 2**20
# psutil's Linux field sets (bytes).
svmem = namedtuple("svmem", "total available percent used free active inactive buffers cached shared slab")
pcputimes = namedtuple("pcputimes", "user system children_user children_system iowait")
pmem = namedtuple("pmem", "rss vms shared text lib data dirty")


class FakeMemory:
    """``psutil.virtual_memory`` with a settable amount in use."""

    def __init__(self, total: int = 64 * GB) -> None:
        self.total = total
        self.used = 0
        self.fail: Exception | None = None
        self.calls = 0

    def __call__(self) -> svmem:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        available = self.total - self.used
        # "used" and "free" differ from total - available on Linux (page cache); the sensor
        # must use total - available.
        percent = 100.0 * self.used / self.total
        return svmem(self.total, available, percent, self.used // 2, available // 3, 0, 0, 0, 0, 0, 0)


class FakeProcess:
    def __init__(self) -> None:
        self.pid = 77
        self.rss = 0

    @contextmanager
    def oneshot(self) -> Iterator[None]:
        yield

    def cpu_times(self) -> pcputimes:
        return pcputimes(0.0, 0.0, 0.0, 0.0, 0.0)

    def memory_info(self) -> pmem:
        return pmem(self.rss, 2 * self.rss, 0, 0, 0, 0, 0)

    def children(self, recursive: bool = False) -> list[FakeProcess]:
        return []


@pytest.fixture
def no_cgroup(tmp_path: Path) -> Path:
    """A cgroup root with nothing mounted: the host figure, whatever cgroup runs the tests."""
    return tmp_path / "no-cgroup"


def test_default_constant_is_eco2ais_3_w_per_8_gb() -> None:
    assert DEFAULT_W_PER_GB == 0.375


def test_machine_scope_integrates_memory_in_use(no_cgroup: Path) -> None:
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 8 * GB
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory, cgroup_root=no_cgroup)
    assert (sensor.domain, sensor.method, sensor.needs_polling) == (RAM, ESTIMATED, True)
    assert sensor.key == "ram:estimate"
    assert "0.375 W/GB" in sensor.name and "3 W per 8 GB" in sensor.note

    clock.advance(10.0)
    assert sensor.energy_j() == pytest.approx(3.0 * 10)  # 8 GB x 0.375 W/GB for 10 s

    memory.used = 16 * GB  # trapezoid between 3 W and 6 W over 2 s
    clock.advance(2.0)
    assert sensor.energy_j() == pytest.approx(30.0 + 9.0)
    assert sensor.last_used_bytes == 16 * GB


def test_reads_in_quick_succession_reuse_the_last_reading_of_memory_in_use(no_cgroup: Path) -> None:
    from wattprint.core.sensors.ram_estimate import HOLD_S

    clock, memory = FakeClock(), FakeMemory()
    memory.used = 8 * GB
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory, cgroup_root=no_cgroup)
    clock.advance(1.0)
    assert sensor.energy_j() == pytest.approx(3.0)
    reads = memory.calls
    memory.used = 16 * GB
    clock.advance(HOLD_S / 2)  # a window closing right after: the 3 W reading is held
    assert sensor.energy_j() == pytest.approx(3.0 + 3.0 * HOLD_S / 2)
    assert memory.calls == reads
    clock.advance(1.0)  # older than HOLD_S: read again, trapezoid from the held 3 W to 6 W
    assert sensor.energy_j() == pytest.approx(3.0 + 3.0 * HOLD_S / 2 + 4.5)
    assert memory.calls == reads + 1 and sensor.last_used_bytes == 16 * GB


def test_w_per_gb_override(no_cgroup: Path) -> None:
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 4 * GB
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory, w_per_gb=1.0, cgroup_root=no_cgroup)
    assert "given" in sensor.note
    clock.advance(5.0)
    assert sensor.energy_j() == pytest.approx(20.0)


def test_zero_w_per_gb_counts_nothing(no_cgroup: Path) -> None:
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 4 * GB
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory, w_per_gb=0, cgroup_root=no_cgroup)
    clock.advance(5.0)
    assert sensor.energy_j() == 0.0


def test_process_scope_uses_the_trees_rss() -> None:
    clock, memory, root = FakeClock(), FakeMemory(), FakeProcess()
    memory.used = 32 * GB
    root.rss = 2 * GB
    tree = ProcessTree(clock=clock, process=root)
    sensor = ram_estimate_sensor(scope="process", process=tree, clock=clock, virtual_memory=memory)
    assert sensor.key == "ram:estimate:process" and "RSS" in sensor.name
    clock.advance(4.0)
    assert sensor.energy_j() == pytest.approx(0.75 * 4)


@pytest.mark.parametrize("w_per_gb", [-0.1, float("nan"), float("inf")])
def test_bad_constant_fails_at_construction(w_per_gb: float) -> None:
    with pytest.raises(ConfigError):
        ram_estimate_sensor(w_per_gb=w_per_gb, virtual_memory=FakeMemory())


def test_bad_scope_and_missing_tree_fail_at_construction() -> None:
    with pytest.raises(ConfigError):
        ram_estimate_sensor(scope="node", virtual_memory=FakeMemory())
    with pytest.raises(ConfigError):
        RamEstimateSensor(scope="process", virtual_memory=FakeMemory())


def test_unreadable_memory_raises_sensor_error(no_cgroup: Path) -> None:
    clock, memory = FakeClock(), FakeMemory()
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory, cgroup_root=no_cgroup)
    memory.fail = OSError("no /proc/meminfo")
    clock.advance(1.0)
    with pytest.raises(SensorError):
        sensor.energy_j()


def test_real_memory_of_this_machine() -> None:
    clock = FakeClock()
    sensor = ram_estimate_sensor(clock=clock)
    clock.advance(2.0)
    energy = sensor.energy_j()
    assert 0 < sensor.last_used_bytes
    assert energy == pytest.approx(2.0 * 0.375 * sensor.last_used_bytes / GB, rel=0.5)


# --- containers: memory in use of the cgroup that holds the memory limit -----------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _v2_stat(inactive_file: int) -> str:
    # An excerpt of a real v2 memory.stat, in its order; only inactive_file is read.
    return (
        "anon 104857600\nfile 83886080\nkernel 4194304\nshmem 0\n"
        f"inactive_anon 0\nactive_anon 104857600\ninactive_file {inactive_file}\n"
        "active_file 31457280\nunevictable 0\npgfault 1200\n"
    )


def _v1_stat(inactive_file: int, total_inactive_file: int) -> str:
    # v1 lists the cgroup's own pages, then hierarchical totals (total_*) that include children.
    return (
        f"cache 83886080\nrss 104857600\ninactive_anon 0\nactive_anon 104857600\n"
        f"inactive_file {inactive_file}\nactive_file 31457280\n"
        "hierarchical_memory_limit 268435456\ntotal_cache 83886080\ntotal_rss 104857600\n"
        f"total_inactive_anon 0\ntotal_active_anon 104857600\ntotal_inactive_file {total_inactive_file}\n"
    )


V1_NO_LIMIT = "9223372036854771712"  # what v1 writes for "no limit" with 4 KiB pages


def _v2_tree(root: Path, *, limit: str) -> None:
    """A v2 host whose process runs in user.slice/run-1.scope with ``memory.max`` = ``limit``."""
    _write(root / "cgroup.controllers", "cpuset cpu io memory pids\n")
    _write(root / "user.slice" / "memory.max", "max\n")
    scope = root / "user.slice" / "run-1.scope"
    _write(scope / "memory.max", f"{limit}\n")
    _write(scope / "memory.current", f"{200 * MiB}\n")
    _write(scope / "memory.stat", _v2_stat(50 * MiB))


def test_v2_memory_limit_charges_the_cgroups_memory_not_the_hosts(tmp_path: Path) -> None:
    # 256 MiB cgroup on a host where another process holds 3 GiB: 150 MiB is ours, not 3.17 GiB.
    _v2_tree(tmp_path, limit=str(256 * MiB))
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 3 * GB + 170 * MiB
    sensor = ram_estimate_sensor(
        clock=clock, virtual_memory=memory, cgroup_root=tmp_path, self_cgroup="0::/user.slice/run-1.scope\n"
    )
    clock.advance(10.0)
    assert sensor.energy_j() == pytest.approx(0.375 * 150 * MiB / GB * 10)
    assert sensor.last_used_bytes == 150 * MiB  # memory.current - inactive_file
    assert "cgroup v2 memory.current - inactive_file" in sensor.note
    assert "limit 0.25 GB" in sensor.note
    assert sensor.key == "ram:estimate" and "cgroup" in sensor.name


def test_v2_without_a_limit_keeps_the_host_figure(tmp_path: Path) -> None:
    _v2_tree(tmp_path, limit="max")
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 3 * GB
    sensor = ram_estimate_sensor(
        clock=clock, virtual_memory=memory, cgroup_root=tmp_path, self_cgroup="0::/user.slice/run-1.scope\n"
    )
    assert cgroup_memory(memory.total, tmp_path, "0::/user.slice/run-1.scope\n") is None
    clock.advance(10.0)
    sensor.energy_j()
    assert sensor.last_used_bytes == 3 * GB
    assert "cgroup" not in sensor.note


def test_v2_tightest_limit_on_the_path_sets_whose_memory_counts(tmp_path: Path) -> None:
    _v2_tree(tmp_path, limit="max")
    slice_ = tmp_path / "user.slice"
    _write(slice_ / "memory.max", f"{128 * MiB}\n")
    _write(slice_ / "memory.current", f"{120 * MiB}\n")
    _write(slice_ / "memory.stat", _v2_stat(20 * MiB))
    found = cgroup_memory(64 * GB, tmp_path, "0::/user.slice/run-1.scope\n")
    assert found is not None
    assert (found.version, found.directory, found.limit_bytes) == (2, str(slice_), 128 * MiB)
    assert found.used_bytes() == 100 * MiB


def test_v2_container_with_its_own_cgroup_namespace(tmp_path: Path) -> None:
    # Inside the container the cgroup path is "/" and the mount's root is the container's cgroup.
    _write(tmp_path / "cgroup.controllers", "cpu memory\n")
    _write(tmp_path / "memory.max", f"{512 * MiB}\n")
    _write(tmp_path / "memory.current", f"{300 * MiB}\n")
    _write(tmp_path / "memory.stat", _v2_stat(100 * MiB))
    found = cgroup_memory(64 * GB, tmp_path, "0::/\n")
    assert found is not None and found.used_bytes() == 200 * MiB


@pytest.mark.parametrize(
    ("self_cgroup", "where"),
    [
        # The cgroup's path is mounted: walk from it up to the mount's root.
        ("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n", "docker/abc"),
        # A container without its own namespace sees a host path its mount lacks: the root is its own.
        ("12:memory:/kubepods/pod1/ctr\n", ""),
    ],
)
def test_v1_memory_limit_charges_the_cgroups_memory(tmp_path: Path, self_cgroup: str, where: str) -> None:
    mount = tmp_path / "memory"
    _write(mount / "memory.limit_in_bytes", V1_NO_LIMIT)
    cg = mount / where if where else mount
    _write(cg / "memory.limit_in_bytes", f"{256 * MiB}\n")
    _write(cg / "memory.usage_in_bytes", f"{200 * MiB}\n")
    # total_inactive_file (the hierarchy's) is the field to subtract, not inactive_file.
    _write(cg / "memory.stat", _v1_stat(10 * MiB, 40 * MiB))
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 3 * GB
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory, cgroup_root=tmp_path, self_cgroup=self_cgroup)
    clock.advance(4.0)
    sensor.energy_j()
    assert sensor.last_used_bytes == 160 * MiB
    assert "cgroup v1 memory.usage_in_bytes - total_inactive_file" in sensor.note


def test_v1_limit_at_or_above_the_host_total_is_no_limit(tmp_path: Path) -> None:
    mount = tmp_path / "memory"
    _write(mount / "memory.limit_in_bytes", V1_NO_LIMIT)
    _write(mount / "docker" / "abc" / "memory.limit_in_bytes", f"{128 * GB}\n")  # above a 64 GB host
    _write(mount / "docker" / "abc" / "memory.usage_in_bytes", f"{200 * MiB}\n")
    clock, memory = FakeClock(), FakeMemory(total=64 * GB)
    memory.used = 3 * GB
    sensor = ram_estimate_sensor(
        clock=clock, virtual_memory=memory, cgroup_root=tmp_path, self_cgroup="12:memory:/docker/abc\n"
    )
    clock.advance(4.0)
    sensor.energy_j()
    assert sensor.last_used_bytes == 3 * GB
    assert "cgroup" not in sensor.note


def test_cgroup_figure_is_bounded_by_the_hosts(tmp_path: Path) -> None:
    _v2_tree(tmp_path, limit=str(256 * MiB))
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 100 * MiB  # less than the cgroup's 150 MiB (its count includes kernel memory)
    sensor = ram_estimate_sensor(
        clock=clock, virtual_memory=memory, cgroup_root=tmp_path, self_cgroup="0::/user.slice/run-1.scope\n"
    )
    clock.advance(1.0)
    sensor.energy_j()
    assert sensor.last_used_bytes == 100 * MiB


def test_missing_memory_stat_counts_the_whole_usage(tmp_path: Path) -> None:
    _v2_tree(tmp_path, limit=str(256 * MiB))
    (tmp_path / "user.slice" / "run-1.scope" / "memory.stat").unlink()
    found = cgroup_memory(64 * GB, tmp_path, "0::/user.slice/run-1.scope\n")
    assert found is not None and found.used_bytes() == 200 * MiB


def test_unreadable_cgroup_usage_at_start_keeps_the_host_figure(tmp_path: Path) -> None:
    _v2_tree(tmp_path, limit=str(256 * MiB))
    (tmp_path / "user.slice" / "run-1.scope" / "memory.current").unlink()
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 3 * GB
    sensor = ram_estimate_sensor(
        clock=clock, virtual_memory=memory, cgroup_root=tmp_path, self_cgroup="0::/user.slice/run-1.scope\n"
    )
    assert "cgroup" not in sensor.note
    clock.advance(1.0)
    sensor.energy_j()
    assert sensor.last_used_bytes == 3 * GB


def test_cgroup_usage_vanishing_later_raises_sensor_error(tmp_path: Path) -> None:
    _v2_tree(tmp_path, limit=str(256 * MiB))
    clock, memory = FakeClock(), FakeMemory()
    sensor = ram_estimate_sensor(
        clock=clock, virtual_memory=memory, cgroup_root=tmp_path, self_cgroup="0::/user.slice/run-1.scope\n"
    )
    (tmp_path / "user.slice" / "run-1.scope" / "memory.current").unlink()
    clock.advance(1.0)
    with pytest.raises(SensorError):
        sensor.energy_j()


def test_process_scope_ignores_the_cgroup(tmp_path: Path) -> None:
    _v2_tree(tmp_path, limit=str(256 * MiB))
    clock, memory, root = FakeClock(), FakeMemory(), FakeProcess()
    root.rss = 2 * GB
    tree = ProcessTree(clock=clock, process=root)
    sensor = ram_estimate_sensor(
        scope="process",
        process=tree,
        clock=clock,
        virtual_memory=memory,
        cgroup_root=tmp_path,
        self_cgroup="0::/user.slice/run-1.scope\n",
    )
    clock.advance(1.0)
    sensor.energy_j()
    assert sensor.last_used_bytes == 2 * GB
