"""RAM estimate: W/GB on memory in use (machine) or on the process tree's RSS (process)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from wattprint.core.errors import ConfigError, SensorError
from wattprint.core.sensors.base import ESTIMATED, RAM
from wattprint.core.sensors.process import ProcessTree
from wattprint.core.sensors.ram_estimate import (
    DEFAULT_W_PER_GB,
    RamEstimateSensor,
    ram_estimate_sensor,
)
from wattprint.testing import FakeClock

GB = 2**30
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

    def __call__(self) -> svmem:
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


def test_default_constant_is_eco2ais_3_w_per_8_gb() -> None:
    assert DEFAULT_W_PER_GB == 0.375


def test_machine_scope_integrates_memory_in_use() -> None:
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 8 * GB
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory)
    assert (sensor.domain, sensor.method, sensor.needs_polling) == (RAM, ESTIMATED, True)
    assert sensor.key == "ram:estimate"
    assert "0.375 W/GB" in sensor.name and "3 W per 8 GB" in sensor.note

    clock.advance(10.0)
    assert sensor.energy_j() == pytest.approx(3.0 * 10)  # 8 GB x 0.375 W/GB for 10 s

    memory.used = 16 * GB  # trapezoid between 3 W and 6 W over 2 s
    clock.advance(2.0)
    assert sensor.energy_j() == pytest.approx(30.0 + 9.0)
    assert sensor.last_used_bytes == 16 * GB


def test_w_per_gb_override() -> None:
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 4 * GB
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory, w_per_gb=1.0)
    assert "given" in sensor.note
    clock.advance(5.0)
    assert sensor.energy_j() == pytest.approx(20.0)


def test_zero_w_per_gb_counts_nothing() -> None:
    clock, memory = FakeClock(), FakeMemory()
    memory.used = 4 * GB
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory, w_per_gb=0)
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


def test_unreadable_memory_raises_sensor_error() -> None:
    clock, memory = FakeClock(), FakeMemory()
    sensor = ram_estimate_sensor(clock=clock, virtual_memory=memory)
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
