"""A row is in the file when ``write`` returns; its ``fsync`` runs off the calling thread, and
``stop()``, ``close()`` and the end of the process wait for it, never for ever."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import pytest

import wattprint
from wattprint.core import durable
from wattprint.core.sinks import CsvSink, JsonlSink
from wattprint.testing import FakeClock, FakeSensor

from ..rows import read_rows
from .test_sinks import make_record

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX files")


class BlockingFsync:
    """Stands in for ``os.fsync``: records which file and thread each call came from, and blocks
    until :attr:`release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.calls: list[tuple[int, str]] = []  # (inode, thread name)
        self.done = 0

    def __call__(self, fd: int) -> None:
        self.calls.append((os.fstat(fd).st_ino, threading.current_thread().name))
        self.started.set()
        self.release.wait(30)
        self.done += 1


@pytest.fixture
def fsync(monkeypatch):
    fake = BlockingFsync()
    monkeypatch.setattr(os, "fsync", fake)
    yield fake
    fake.release.set()  # never leave a syncer thread blocked behind the test
    for thread in threading.enumerate():
        if thread.name == "wattprint-fsync":
            thread.join(10)


def fsync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "wattprint-fsync"]


def tracker(tmp_path, **kwargs) -> tuple[wattprint.Tracker, FakeClock]:
    clock = FakeClock()
    t = wattprint.Tracker(project_name="p", carbon_intensity=100, clock=clock, output_file=tmp_path / "e.csv",
                          sensors=[FakeSensor("cpu", power_w=10, clock=clock)], **kwargs)
    return t, clock


@posix_only
def test_the_row_is_in_the_file_when_write_returns_while_its_fsync_still_runs(tmp_path, fsync):
    path = tmp_path / "e.csv"
    sink = CsvSink(path)
    sink.write(make_record(index=7))
    assert [r["epoch"] for r in read_rows(path)] == ["7"]  # written and handed to the OS already
    assert fsync.started.wait(10)
    assert fsync.done == 0  # the disk has not answered: write did not wait for it
    (inode, thread), = fsync.calls
    assert inode == path.stat().st_ino  # the fsync is of this file
    assert thread == "wattprint-fsync" and thread != threading.current_thread().name
    fsync.release.set()
    sink.close()
    assert fsync.done == 1


@posix_only
def test_stop_waits_for_the_pending_fsyncs_and_leaves_no_thread(tmp_path, fsync):
    t, clock = tracker(tmp_path, jsonl_file=tmp_path / "e.jsonl")
    t.start()
    with t.window("epoch", index=0):
        clock.advance(1)
    assert fsync.started.wait(10)
    stopped = threading.Event()
    stopper = threading.Thread(target=lambda: (t.stop(), stopped.set()))
    stopper.start()
    assert not stopped.wait(0.3)  # stop() is waiting for the disk
    fsync.release.set()
    assert stopped.wait(10)
    stopper.join(10)
    # The epoch and run rows of both files: every one was flushed before stop() returned.
    assert fsync.done == len(fsync.calls) == 4
    assert {inode for inode, _ in fsync.calls} == {(tmp_path / "e.csv").stat().st_ino, (tmp_path / "e.jsonl").stat().st_ino}
    assert fsync_threads() == []
    assert [r["window"] for r in read_rows(tmp_path / "e.csv")] == ["epoch", "run"]


@posix_only
def test_a_disk_that_does_not_answer_delays_stop_a_bounded_time_and_warns(tmp_path, fsync, monkeypatch):
    monkeypatch.setattr(durable, "WAIT_S", 0.3)
    t, clock = tracker(tmp_path)
    t.start()
    clock.advance(1)
    t0 = time.monotonic()
    with pytest.warns(RuntimeWarning, match="not flushed to disk within 0.3 s"):
        record = t.stop()
    assert time.monotonic() - t0 < 5
    assert record.labels.window == "run"
    assert [r["window"] for r in read_rows(tmp_path / "e.csv")] == ["run"]  # in the file all the same
    assert fsync.done == 0


@posix_only
def test_a_row_written_after_close_on_a_disk_that_does_not_answer_is_written_not_missed(tmp_path, fsync, monkeypatch):
    from wattprint.core.outputs import Outputs

    monkeypatch.setattr(durable, "WAIT_S", 0.3)
    sink = CsvSink(tmp_path / "e.csv")
    outputs = Outputs([sink])
    outputs.close()  # a callback writes its run row after its tracker stopped
    with pytest.warns(RuntimeWarning, match="not flushed to disk within 0.3 s") as caught:
        delivery = outputs.deliver(make_record(index=1))
    assert delivery.written == (sink,) and delivery.failed == ()
    assert not any("will miss" in str(w.message) for w in caught)  # the row is in the file
    assert [r["epoch"] for r in read_rows(tmp_path / "e.csv")] == ["1"]


@posix_only
def test_a_row_written_after_close_is_flushed_before_write_returns(tmp_path, fsync):
    sink = CsvSink(tmp_path / "e.csv")
    sink.close()  # a callback writes its run row after its tracker stopped
    writer = threading.Thread(target=sink.write, args=(make_record(index=1),))
    writer.start()
    assert fsync.started.wait(10)
    writer.join(0.3)
    assert writer.is_alive()  # waiting for the disk
    fsync.release.set()
    writer.join(10)
    assert not writer.is_alive() and fsync.done == 1
    assert fsync_threads() == []


@posix_only
def test_a_failed_fsync_is_reported_at_close(tmp_path, monkeypatch):
    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)
    sink = JsonlSink(tmp_path / "e.jsonl")
    sink.write(make_record(index=0))
    sink.write(make_record(index=1))
    with pytest.raises(OSError, match=r"2 row write\(s\) to .*e.jsonl could not be flushed to disk \(Input/output error\)"):
        sink.close()
    assert len((tmp_path / "e.jsonl").read_text().splitlines()) == 2
    sink.close()  # reported once


@posix_only
def test_a_training_callback_gets_its_rows_flushed_and_no_thread_left(tmp_path, monkeypatch):
    from wattprint import Settings
    from wattprint.integrations._epochs import EpochRun

    calls: list[str] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(threading.current_thread().name), real(fd))[1])
    run = EpochRun(Settings.build({"country": "FR", "output_file": tmp_path / "e.csv"}))
    run.start()
    run.open_epoch(0)
    run.epoch_end(0)
    run.end()
    assert len(calls) == 2 and set(calls) == {"wattprint-fsync"}  # the epoch row and the run row
    assert fsync_threads() == []
    assert [r["window"] for r in read_rows(tmp_path / "e.csv")] == ["epoch", "run"]


AT_EXIT = textwrap.dedent(
    """
    import os, sys, time
    from wattprint.core.sinks import CsvSink
    from tests.core.test_sinks import make_record

    log = open(sys.argv[2], "a")
    real = os.fsync

    def slow(fd):  # a slow disk: each row's fsync ends well after the script does
        time.sleep(0.3)
        real(fd)
        log.write("synced\\n")
        log.flush()

    os.fsync = slow
    sink = CsvSink(sys.argv[1])  # never closed: the process just ends
    for i in range(3):
        sink.write(make_record(index=i))
    print("written", flush=True)
    """
)


@posix_only
def test_nothing_is_lost_at_interpreter_exit(tmp_path):
    out, log = tmp_path / "e.csv", tmp_path / "fsync.log"
    proc = subprocess.run([sys.executable, "-c", AT_EXIT, str(out), str(log)], capture_output=True, text=True,
                          timeout=60, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))), check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "written\n"
    assert [r["epoch"] for r in read_rows(out)] == ["0", "1", "2"]
    assert log.read_text().splitlines() == ["synced"] * 3  # the exit waited for every one


def test_a_wait_that_cannot_take_the_lock_gives_up_in_time():
    # A SIGTERM handler runs the closers on the main thread, which may have been inside submit().
    syncer = durable.Syncer("busy")
    with syncer._lock:
        t0 = time.monotonic()
        assert syncer.wait(0.2) is False
        assert syncer.take_error() is None
        assert time.monotonic() - t0 < 2


def test_waiting_with_nothing_pending_returns_at_once():
    syncer = durable.Syncer("nothing")
    t0 = time.monotonic()
    assert syncer.wait(5.0)
    assert time.monotonic() - t0 < 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        durable.wait_all()  # nothing pending anywhere: no warning
