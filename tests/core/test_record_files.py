"""Record files that lose nothing: cut-off lines, odd files, devices, links, locks, signals."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest

import wattprint
from wattprint import ConfigError
from wattprint.core.csvformat import COLUMNS, line
from wattprint.core.outputs import Outputs
from wattprint.core.sinks import CsvSink, JsonlSink
from wattprint.report import load_file
from wattprint.testing import FakeClock, FakeSensor

from ..rows import read_rows
from .test_sinks import make_record

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX files, locks and signals")


def tracker(tmp_path: Path, **kwargs) -> tuple[wattprint.Tracker, FakeClock]:
    clock = FakeClock()
    kwargs.setdefault("output_file", tmp_path / "e.csv")
    t = wattprint.Tracker(project_name="p", carbon_intensity=100, clock=clock,
                          sensors=[FakeSensor("cpu", power_w=10, clock=clock)], **kwargs)
    return t, clock


# -- 1. an append always starts on a fresh line -----------------------------------------------------


@pytest.mark.parametrize("cut", ["inside the parameters cell", "between two cells", "header without newline"])
def test_a_cut_off_last_line_stays_alone_and_the_next_row_is_whole(tmp_path, cut):
    path = tmp_path / "e.csv"
    sink = CsvSink(path)
    if cut == "header without newline":
        path.write_text(line(COLUMNS).rstrip("\n"))
    else:
        sink.write(make_record(index=0))
        sink.write(make_record(index=1, parameters={"lr": 0.1, "note": "a,b"}))
        text = path.read_text()
        at = text.rindex("lr") if cut == "inside the parameters cell" else text.rindex(",FR,")
        path.write_text(text[:at])  # what a full disk or a killed writer leaves
    sink.write(make_record(index=2, parameters={"lr": 0.2}))
    sink.write(make_record(index=3))
    assert path.read_text().endswith("\n")
    damaged: list = []
    rows = load_file(path, damaged=damaged)
    expected = [2, 3] if cut == "header without newline" else [0, 2, 3]
    assert [r.record.index for r in rows] == expected
    assert rows[-2].record.parameters == {"lr": 0.2}
    assert len(damaged) == (0 if cut == "header without newline" else 1)


def test_jsonl_append_after_a_cut_off_line_starts_on_a_fresh_line(tmp_path):
    path = tmp_path / "e.jsonl"
    sink = JsonlSink(path)
    sink.write(make_record(index=0))
    path.write_text(path.read_text()[:-15])
    sink.write(make_record(index=1))
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["index"] == 1


# -- 2. only regular files, checked without reading unbounded data ----------------------------------


@posix_only
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/full", "/dev/urandom"])
def test_devices_are_refused_at_construction_directly_or_through_a_link(tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    link = tmp_path / "out.csv"
    link.symlink_to(device)
    for path in (device, link):
        with pytest.raises(ConfigError, match="character device.*regular file"):
            wattprint.Tracker(output_file=path, carbon_intensity=100)
        with pytest.raises(ConfigError, match="character device"):
            wattprint.Tracker(output_file=None, jsonl_file=path, carbon_intensity=100)


@posix_only
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    code = f"import wattprint; wattprint.Tracker(output_file={str(fifo)!r}, carbon_intensity=100)"
    # In a child process with a timeout: a regression would block on the open, not fail.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "FIFO" in result.stderr and "ConfigError" in result.stderr


@posix_only
def test_a_file_replaced_by_a_fifo_after_construction_is_not_written_and_nothing_blocks(tmp_path):
    t, clock = tracker(tmp_path)
    path = tmp_path / "e.csv"
    t.start()
    os.mkfifo(path)
    clock.advance(1)
    started = time.monotonic()
    with pytest.warns(RuntimeWarning, match="FIFO"):
        record = t.stop()
    assert time.monotonic() - started < 5 and record.duration_s == 1
    assert stat.S_ISFIFO(os.stat(path).st_mode)


def test_devnull_is_the_explicit_choice_of_no_file(tmp_path):
    t, clock = tracker(tmp_path, output_file=os.devnull)
    t.start()
    clock.advance(1)
    t.stop()
    assert t.last_delivery is not None and t.last_delivery.ok


# -- 3. blank-led and BOM-led files -----------------------------------------------------------------


# (a blank-led foreign file: tests/core/test_sinks.py::test_foreign_csv_is_never_written)


def test_a_blank_led_wattprint_file_is_appended_to_in_its_columns(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("\n  \n" + line(COLUMNS))
    CsvSink(path).write(make_record(index=7))
    assert path.read_text().count("project_name") == 1  # no second header
    (row,) = load_file(path)
    assert row.record.index == 7


def test_a_whitespace_only_file_gets_a_header_then_the_row(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("  \n\n ")
    CsvSink(path).write(make_record(index=4))
    (row,) = load_file(path)
    assert row.record.index == 4


def test_a_csv_saved_with_a_byte_order_mark_is_appended_to(tmp_path):
    path = tmp_path / "e.csv"
    CsvSink(path).write(make_record(index=0))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as a spreadsheet saves it
    CsvSink(path).write(make_record(index=1))
    assert [r.record.index for r in load_file(path)] == [0, 1]
    assert path.read_bytes().count(b"project_name") == 1


def test_a_file_that_starts_with_a_huge_line_is_refused_after_a_bounded_read(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"x" * (1 << 20))
    with pytest.raises(ConfigError, match="does not start with a CSV header"):
        CsvSink(path)


# -- 4. links planted by another user ---------------------------------------------------------------


@pytest.fixture
def sticky_dir(tmp_path):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("planting a link owned by another user needs root")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    return shared


def plant_link(shared: Path, target: Path, uid: int = 65534) -> Path:
    link = shared / "emissions.csv"
    link.symlink_to(target)
    os.lchown(link, uid, uid)
    return link


def test_a_link_of_another_user_in_a_sticky_directory_is_not_followed(tmp_path, sticky_dir):
    target = tmp_path / "victim.csv"
    target.write_text("precious\n")
    link = plant_link(sticky_dir, target)
    with pytest.raises(ConfigError, match="link owned by another user"):
        CsvSink(link)
    with pytest.raises(ConfigError, match="link owned by another user"):
        JsonlSink(link)
    assert target.read_text() == "precious\n"


def test_a_link_planted_after_construction_is_not_followed_when_writing(tmp_path, sticky_dir):
    target = tmp_path / "victim.csv"
    sink = CsvSink(sticky_dir / "emissions.csv")
    plant_link(sticky_dir, target)
    with pytest.raises(OSError, match="link owned by another user"):
        sink.write(make_record())
    assert not target.exists()


def test_a_link_of_ones_own_in_a_sticky_directory_is_followed(tmp_path, sticky_dir):
    target = tmp_path / "mine.csv"
    link = plant_link(sticky_dir, target, uid=os.geteuid())
    CsvSink(link).write(make_record(index=5))
    assert [r["epoch"] for r in read_rows(target)] == ["5"]


# -- 7. a record reaches every output, under SIGINT as under SIGTERM --------------------------------

BETWEEN_SINKS = textwrap.dedent(
    """
    import os, signal, sys, wattprint
    from wattprint.testing import FakeClock, FakeSensor
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the test runs with SIGINT ignored
    from wattprint.core import safefile
    real_write_all = safefile.write_all

    def write_then_signal(fd, data):  # the CSV's append is done; the JSON Lines file is next
        if os.environ.get("ARMED") == "1":
            os.environ["ARMED"] = "0"
            os.kill(os.getpid(), getattr(signal, sys.argv[3]))
        return real_write_all(fd, data)

    safefile.write_all = write_then_signal
    clock = FakeClock()
    with wattprint.Tracker(project_name="sig", carbon_intensity=100, output_file=sys.argv[1], jsonl_file=sys.argv[2],
                           sensors=[FakeSensor("cpu", power_w=10, clock=clock)], clock=clock) as tracker:
        epoch = tracker.begin_window("epoch", index=0)
        clock.advance(1)
        os.environ["ARMED"] = "1"
        tracker.end_window(epoch)
        print("carried on", flush=True)
    """
)


@posix_only
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_between_two_outputs_leaves_the_record_in_both(tmp_path, sig):
    csv_path, jsonl_path = tmp_path / "e.csv", tmp_path / "e.jsonl"
    proc = subprocess.run([sys.executable, "-c", BETWEEN_SINKS, str(csv_path), str(jsonl_path), sig],
                          capture_output=True, text=True, timeout=60, check=False)
    assert "carried on" not in proc.stdout
    if sig == "SIGINT":
        assert "KeyboardInterrupt" in proc.stderr
    else:
        assert proc.returncode == -15, proc.stderr
    in_csv = [(r["window"], r["interrupted"]) for r in read_rows(csv_path)]
    in_jsonl = [(r["window"], str(r["interrupted"]).lower()) for r in map(json.loads, jsonl_path.read_text().splitlines())]
    assert in_csv == in_jsonl == [("epoch", "false"), ("run", "true")]


# -- 8. a lock held by another process: bounded wait, row kept, written later -----------------------

HOLD_LOCK = textwrap.dedent(
    """
    import fcntl, sys, time
    f = open(sys.argv[1], "a")
    fcntl.flock(f, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.readline()  # hold until told (or until the test ends and closes the pipe)
    """
)


@contextmanager
def lock_held(path: Path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield
    finally:
        proc.stdin.close()  # the holder reads EOF and exits
        proc.wait(timeout=30)
        proc.stdout.close()


@posix_only
def test_a_held_lock_is_waited_for_a_bounded_time_then_the_row_is_kept_and_written_later(tmp_path):
    t, clock = tracker(tmp_path, jsonl_file=tmp_path / "e.jsonl")
    csv_sink = t.outputs[0]
    csv_sink.lock_wait_s = 0.5
    t.start()
    with lock_held(tmp_path / "e.csv"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            started = time.monotonic()
            for i in range(3):
                with t.window("epoch", index=i):
                    clock.advance(1)
            waited = time.monotonic() - started
        assert waited < 3  # one bounded wait, not one per row
        busy = [w for w in caught if "locked by another process" in str(w.message)]
        assert len(busy) == 1, [str(w.message) for w in caught]
        assert t.last_delivery.held == (csv_sink,) and t.last_delivery.wrote(t.outputs[1])
        assert csv_sink.held == 3
    with t.window("epoch", index=3):
        clock.advance(1)
    t.stop()
    rows = read_rows(tmp_path / "e.csv")
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3", "N/A"]  # kept, in order, nothing lost


@posix_only
def test_rows_a_lock_still_holds_back_at_stop_are_reported_not_dropped_silently(tmp_path):
    t, clock = tracker(tmp_path)
    t.outputs[0].lock_wait_s = 0.2
    t.start()
    with lock_held(tmp_path / "e.csv"):
        clock.advance(1)
        with pytest.warns(RuntimeWarning) as caught:
            t.stop()
    messages = " ".join(str(w.message) for w in caught)
    assert "locked by another process" in messages and "1 record(s) were never written" in messages


SIGTERM_WHILE_LOCKED = textwrap.dedent(
    """
    import os, signal, sys, threading, wattprint
    from wattprint.testing import FakeClock, FakeSensor
    clock = FakeClock()
    tracker = wattprint.Tracker(project_name="sig", carbon_intensity=100, output_file=sys.argv[1],
                                sensors=[FakeSensor("cpu", power_w=10, clock=clock)], clock=clock)
    tracker.outputs[0].lock_wait_s = 60  # a long wait: SIGTERM must cut it short
    tracker.start()
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    print("waiting", flush=True)
    tracker.stop()
    print("stop returned", flush=True)
    """
)


@posix_only
def test_sigterm_is_not_postponed_by_a_held_lock(tmp_path):
    path = tmp_path / "e.csv"
    with lock_held(path):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", SIGTERM_WHILE_LOCKED, str(path)],
                              capture_output=True, text=True, timeout=60, check=False)
        took = time.monotonic() - started
    assert proc.returncode == -15, proc.stderr
    assert took < 20 and "stop returned" not in proc.stdout
    assert "never written" in proc.stderr  # the gap is said, not silent


# -- 10. every constructor argument checked at construction -----------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"output_file": 5}, "output_file="),
    ({"jsonl_file": "\x00"}, "jsonl_file="),
    ({"currency": None}, "currency="),
    ({"currency": 5}, "currency="),
    ({"currency": "US\rD"}, "currency="),
    ({"clock": object()}, "clock=.*monotonic"),
    ({"intensity": object(), "carbon_intensity": None}, "intensity=.*current"),
    ({"sensors": 5}, "sensors="),
    ({"sensors": [object()]}, r"sensors=\[0\]"),
    ({"sinks": [object()]}, r"sinks=\[0\].*write"),
    ({"environ": 5}, "environ="),
    ({"measure_host": 1}, "measure_host="),
    ({"gpu": "yes"}, "gpu="),
])
def test_bad_constructor_arguments_raise_config_error_at_construction(kwargs, message):
    kwargs = {"carbon_intensity": 100, "output_file": None, **kwargs}
    with pytest.raises(ConfigError, match=message):
        wattprint.Tracker(**kwargs)


def test_outputs_report_held_records_apart_from_failures(tmp_path):
    from wattprint.core.outputs import OutputBusy

    class Busy:
        def write(self, record):
            raise OutputBusy("kept for later")

        def close(self):
            raise OSError("1 record(s) were never written")

    outputs = Outputs([Busy()])
    with pytest.warns(RuntimeWarning, match="kept for later"):
        delivery = outputs.deliver(make_record())
    assert not delivery.ok and delivery.held and not delivery.failed
    with pytest.warns(RuntimeWarning, match="never written"):
        outputs.close()


@posix_only
def test_threads_writing_through_one_sink_while_its_lock_is_held_lose_and_repeat_nothing(tmp_path):
    import threading

    path = tmp_path / "e.csv"
    sink = CsvSink(path)
    sink.lock_wait_s = 0.2
    outputs = Outputs([sink])

    def writer(k: int) -> None:
        for i in range(10):
            outputs.deliver(make_record(run_id=f"t{k}", index=i))

    with lock_held(path), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    outputs.close()
    rows = read_rows(path)
    for k in range(4):  # every thread's rows, once each, in its order
        assert [r["epoch"] for r in rows if r["id"] == f"t{k}"] == [str(i) for i in range(10)]


@posix_only
def test_a_row_written_after_stop_while_the_lock_is_held_is_flushed_or_reported(tmp_path):
    # The callbacks stop their tracker with write=False, then write the run row themselves.
    t, clock = tracker(tmp_path)
    t.outputs[0].lock_wait_s = 0.2
    t.start()
    clock.advance(1)
    record = t.stop(write=False)
    with lock_held(tmp_path / "e.csv"), pytest.warns(RuntimeWarning) as caught:
        t.write(record)
    assert "1 record(s) were never written" in " ".join(str(w.message) for w in caught)
