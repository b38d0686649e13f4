"""Process scope: the process tree's CPU time and memory, and host sensors scaled to its share."""

from __future__ import annotations

import subprocess
import sys
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import pytest

from wattprint.core.errors import ConfigError, SensorError
from wattprint.core.measurement import COUNTER, CPU
from wattprint.core.sensors.base import Sensor
from wattprint.core.sensors.process import ProcessTree, ScaledHostSensor
from wattprint.testing import FakeClock

# psutil's Linux field sets: seconds and bytes.
pcputimes = namedtuple("pcputimes", "user system children_user children_system iowait")
pmem = namedtuple("pmem", "rss vms shared text lib data dirty")
scputimes = namedtuple("scputimes", "user nice system idle iowait irq softirq steal guest guest_nice")
svmem = namedtuple("svmem", "total available percent used free")

GB = 2**30


class FakeProcess:
    """A ``psutil.Process`` stand-in: own and reaped-children CPU seconds, RSS, children."""

    def __init__(self, pid: int, parent: FakeProcess | None = None) -> None:
        self.pid = pid
        self.own_s = 0.0
        self.reaped_s = 0.0
        self.rss = 0
        self.kids: list[FakeProcess] = []
        self.gone = False
        self.walks = 0
        if parent is not None:
            parent.kids.append(self)

    def _check(self) -> None:
        if self.gone:
            raise psutil.NoSuchProcess(self.pid)

    @contextmanager
    def oneshot(self) -> Iterator[None]:
        yield

    def cpu_times(self) -> pcputimes:
        self._check()
        return pcputimes(0.75 * self.own_s, 0.25 * self.own_s, self.reaped_s, 0.0, 0.0)

    def memory_info(self) -> pmem:
        self._check()
        return pmem(self.rss, 2 * self.rss, 0, 0, 0, 0, 0)

    def children(self, recursive: bool = False) -> list[FakeProcess]:
        # Like psutil on Linux: one scan of the parent map, without reading each child.
        self._check()
        self.walks += 1
        out: list[FakeProcess] = []
        stack = list(self.kids)
        while stack:
            kid = stack.pop(0)
            out.append(kid)
            if recursive:
                stack.extend(kid.kids)
        return out

    def reap(self, kid: FakeProcess) -> None:
        """The child exits and this process waits for it: its time moves to children_*."""
        self.kids.remove(kid)
        self.reaped_s += kid.own_s + kid.reaped_s


def test_tree_sums_cpu_time_and_rss_of_live_descendants() -> None:
    clock = FakeClock()
    root = FakeProcess(1)
    child = FakeProcess(2, root)
    grandchild = FakeProcess(3, child)
    root.rss, child.rss, grandchild.rss = 100, 20, 3
    tree = ProcessTree(clock=clock, process=root)
    assert tree.pid == 1

    root.own_s, child.own_s, grandchild.own_s = 1.0, 2.0, 4.0
    clock.advance(1.0)
    sample = tree.sample()
    assert sample.cpu_s == pytest.approx(7.0)
    assert (sample.rss_bytes, sample.processes) == (123, 3)


def test_cpu_time_from_before_the_tree_was_created_is_not_counted() -> None:
    clock = FakeClock()
    root = FakeProcess(1)
    root.own_s = 30.0
    tree = ProcessTree(clock=clock, process=root)
    root.own_s = 31.5
    clock.advance(1.0)
    assert tree.sample().cpu_s == pytest.approx(1.5)


def test_reaped_child_is_neither_lost_nor_counted_twice() -> None:
    clock = FakeClock()
    root = FakeProcess(1)
    child = FakeProcess(2, root)
    tree = ProcessTree(clock=clock, process=root)

    child.own_s = 3.0
    clock.advance(1.0)
    assert tree.sample().cpu_s == pytest.approx(3.0)

    child.own_s = 4.0  # one more second, then it exits and is waited for
    root.reap(child)
    clock.advance(1.0)
    assert tree.sample().cpu_s == pytest.approx(4.0)


def test_child_born_and_reaped_between_reads_is_counted() -> None:
    clock = FakeClock()
    root = FakeProcess(1)
    tree = ProcessTree(clock=clock, process=root)
    short = FakeProcess(9, root)
    short.own_s = 0.7
    root.reap(short)
    clock.advance(1.0)
    assert tree.sample().cpu_s == pytest.approx(0.7)


def test_child_vanishing_while_being_read_is_skipped() -> None:
    clock = FakeClock()
    root = FakeProcess(1)
    child = FakeProcess(2, root)
    root.own_s = 1.0
    tree = ProcessTree(clock=clock, process=root)
    child.gone = True  # listed by children() but exits before cpu_times()
    root.own_s = 2.0
    clock.advance(1.0)
    sample = tree.sample()
    assert sample.cpu_s == pytest.approx(1.0)
    assert sample.processes == 1


def test_escaped_descendant_never_makes_the_total_go_back() -> None:
    clock = FakeClock()
    root = FakeProcess(1)
    child = FakeProcess(2, root)
    tree = ProcessTree(clock=clock, process=root)
    child.own_s = 5.0
    clock.advance(1.0)
    assert tree.sample().cpu_s == pytest.approx(5.0)
    root.kids.remove(child)  # re-parented to init: its time leaves the tree
    clock.advance(1.0)
    assert tree.sample().cpu_s == pytest.approx(5.0)
    root.own_s = 1.0
    clock.advance(1.0)
    assert tree.sample().cpu_s == pytest.approx(6.0)


def test_readings_close_together_share_one_walk() -> None:
    clock = FakeClock()
    root = FakeProcess(1)
    tree = ProcessTree(clock=clock, process=root, max_age_s=0.05)
    walks = root.walks
    first = tree.sample()
    assert tree.sample() is first
    assert root.walks == walks
    clock.advance(0.1)
    tree.sample()
    assert root.walks == walks + 1


def test_root_gone_raises_sensor_error() -> None:
    clock = FakeClock()
    root = FakeProcess(1)
    tree = ProcessTree(clock=clock, process=root)
    root.gone = True
    clock.advance(1.0)
    with pytest.raises(SensorError):
        tree.sample()


def test_unknown_pid_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        ProcessTree(pid=2**22 + 12345)


def test_real_child_process_time_reaches_the_tree_after_it_exits() -> None:
    tree = ProcessTree(max_age_s=0.0)
    before = tree.sample().cpu_s
    code = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    subprocess.run([sys.executable, "-c", code], check=True)
    # The child has exited and was waited for: its CPU time is in our children_* now.
    assert tree.sample().cpu_s - before >= 0.3
    assert tree.sample().rss_bytes > 0


# --- ScaledHostSensor ---------------------------------------------------------------------------


class CounterSensor(Sensor):
    domain = CPU
    method = COUNTER
    name = "RAPL package-0"
    key = "rapl:intel-rapl:0"
    note = "powercap energy_uj"

    def __init__(self) -> None:
        super().__init__()
        self.joules = 0.0

    def _read_j(self) -> float:
        return self.joules


class MachineTimes:
    def __init__(self) -> None:
        self.busy = 0.0
        self.idle = 0.0

    def __call__(self, percpu: bool = False) -> scputimes:
        return scputimes(self.busy, 0.0, 0.0, self.idle, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_scaled_sensor_takes_the_trees_share_of_busy_cpu_time() -> None:
    clock, root, inner, machine = FakeClock(), FakeProcess(1), CounterSensor(), MachineTimes()
    inner.joules = 1000.0
    tree = ProcessTree(clock=clock, process=root)
    scaled = ScaledHostSensor(inner, tree, cpu_times=machine)
    assert (scaled.domain, scaled.method, scaled.key) == (CPU, COUNTER, "rapl:intel-rapl:0:process")
    assert "share of busy CPU time" in scaled.note and "powercap" in scaled.note

    inner.joules += 100.0
    machine.busy += 4.0
    root.own_s += 1.0
    clock.advance(1.0)
    assert scaled.energy_j() == pytest.approx(25.0)

    inner.joules += 100.0  # machine idle, tree idle: no share of the idle power
    machine.idle += 8.0
    clock.advance(1.0)
    assert scaled.energy_j() == pytest.approx(25.0)

    inner.joules += 50.0  # the tree alone (ticks rounding it above the machine): share 1
    machine.busy += 1.0
    root.own_s += 1.01
    clock.advance(1.0)
    assert scaled.energy_j() == pytest.approx(75.0)


def test_scaled_sensor_by_memory_share() -> None:
    clock, root, inner = FakeClock(), FakeProcess(1), CounterSensor()
    root.rss = 2 * GB
    tree = ProcessTree(clock=clock, process=root)
    memory = svmem(total=16 * GB, available=8 * GB, percent=50.0, used=8 * GB, free=8 * GB)
    scaled = ScaledHostSensor(inner, tree, basis="memory", virtual_memory=lambda: memory)
    inner.joules = 40.0
    clock.advance(1.0)
    assert scaled.energy_j() == pytest.approx(10.0)


def test_scaled_sensor_rejects_unknown_basis() -> None:
    tree = ProcessTree(clock=FakeClock(), process=FakeProcess(1))
    with pytest.raises(ConfigError):
        ScaledHostSensor(CounterSensor(), tree, basis="gpu")
