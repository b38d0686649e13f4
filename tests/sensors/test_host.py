"""The host's CPU times and memory read from /proc, against psutil's reading of the same files."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import psutil
import pytest

from wattprint.core.sensors import host

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
def test_cpu_times_are_psutils_fields_and_figures():
    ours, theirs = host.cpu_times(), psutil.cpu_times()
    assert ours._fields == theirs._fields
    for name in ours._fields:
        # Read a moment apart: the counters move, by no more than the elapsed time per CPU.
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), abs=2.0 * psutil.cpu_count())
    per_cpu = host.cpu_times(percpu=True)
    assert len(per_cpu) == len(psutil.cpu_times(percpu=True))
    assert sum(c.user for c in per_cpu) == pytest.approx(ours.user, abs=1.0 * len(per_cpu))


@linux_only
def test_virtual_memory_is_psutils_total_and_available():
    ours, theirs = host.virtual_memory(), psutil.virtual_memory()
    assert ours.total == theirs.total
    assert ours.available == pytest.approx(theirs.available, rel=0.05)
    assert 0 < ours.available <= ours.total


OLD_KERNEL_MEMINFO = "".join(
    [f"{name}:{value:>16} kB\n" for name, value in (("MemTotal", 8000000), ("MemFree", 1000000), ("Buffers", 200000),
                                                     ("Cached", 3000000), ("SwapCached", 0))]
    + [f"Filler{i}:{0:>16} kB\n" for i in range(40)]  # SReclaimable lies beyond the head read first
    + ["SReclaimable:          400000 kB\n"]
)


@pytest.mark.parametrize(("text", "available_kb"), [
    (OLD_KERNEL_MEMINFO, 1000000 + 200000 + 3000000 + 400000),  # no MemAvailable: psutil's estimate
    ("MemTotal:        8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    5000000 kB\n", 5000000),
])
def test_virtual_memory_reads_the_head_of_meminfo_and_the_rest_only_when_needed(tmp_path, monkeypatch, text, available_kb):
    path = tmp_path / "meminfo"
    path.write_text(text)
    assert len(OLD_KERNEL_MEMINFO) > host._MEMINFO_HEAD
    monkeypatch.setattr(host, "_MEMINFO", str(path))
    monkeypatch.setattr(host, "_readable", {str(path): True})
    assert host.virtual_memory() == (8000000 * 1024, available_kb * 1024)


def test_without_proc_psutil_reads_them(monkeypatch):
    monkeypatch.setattr(host, "_STAT", "/nonexistent/stat")
    monkeypatch.setattr(host, "_MEMINFO", "/nonexistent/meminfo")
    assert host.cpu_times()._fields == psutil.cpu_times()._fields
    assert host.virtual_memory().total == psutil.virtual_memory().total


@linux_only
def test_a_machine_scope_tracker_on_linux_imports_neither_psutil_nor_uuid(tmp_path):
    code = textwrap.dedent(
        """
        import sys, wattprint
        tracker = wattprint.Tracker(country="FR", output_file=None)
        tracker.start()
        record = tracker.stop()
        assert record.energy_kwh > 0 or record.duration_s >= 0
        print(sorted(m for m in ("psutil", "uuid", "json", "socket", "subprocess") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
