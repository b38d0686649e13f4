from __future__ import annotations

import math

import pytest

import wattprint
from wattprint import ConfigError, StateError, Tracker
from wattprint.testing import FakeClock, FakeSensor

from .helpers import fake_tracker


def test_run_record_energy_and_co2_are_power_times_time():
    tracker, clock, sink, _ = fake_tracker(pue=1.5)
    tracker.start()
    clock.advance(3600)
    record = tracker.stop()
    assert record.energy_kwh_by_domain == pytest.approx({"cpu": 0.020, "gpu": 0.300, "ram": 0.005})
    assert record.energy_kwh == pytest.approx(0.325)
    # 0.325 kWh x PUE 1.5 x 100 g/kWh = 48.75 g
    assert record.co2_kg == pytest.approx(0.04875)
    assert record.method_by_domain == {"cpu": "estimated", "gpu": "counter", "ram": "estimated"}
    assert record.duration_s == pytest.approx(3600)
    assert record.power_w == pytest.approx(325.0)
    assert record.window == "run" and not record.interrupted
    assert sink.records == [record]


def test_nested_windows_each_get_their_own_record():
    tracker, clock, sink, _ = fake_tracker(cpu_w=10, gpu_w=0, ram_w=0)
    tracker.start()
    outer = tracker.begin_window("phase")
    clock.advance(10)
    with tracker.window("epoch", index=0) as inner:
        clock.advance(5)
    clock.advance(10)
    outer_rec = tracker.end_window(outer)
    run = tracker.stop()
    assert inner.record.energy_kwh_by_domain["cpu"] * 3.6e6 == pytest.approx(50.0)
    assert inner.record.index == 0
    assert outer_rec.energy_kwh_by_domain["cpu"] * 3.6e6 == pytest.approx(250.0)
    assert run.energy_kwh == pytest.approx(outer_rec.energy_kwh)
    assert [r.window for r in sink.records] == ["epoch", "phase", "run"]


def test_read_window_reports_so_far_and_leaves_the_window_open():
    tracker, clock, sink, _ = fake_tracker(cpu_w=10, gpu_w=0, ram_w=0)
    tracker.start()
    window = tracker.begin_window("epoch", index=0)
    clock.advance(3)
    so_far = tracker.read_window(window)
    assert so_far.energy_kwh_by_domain["cpu"] * 3.6e6 == pytest.approx(30.0)
    assert not so_far.interrupted and not window.closed
    clock.advance(2)
    assert tracker.end_window(window, write=False).energy_kwh_by_domain["cpu"] * 3.6e6 == pytest.approx(50.0)
    with pytest.raises(StateError, match="already closed"):
        tracker.read_window(window)
    tracker.stop()
    assert [r.window for r in sink.records] == ["run"]  # reading wrote nothing


def test_window_closed_by_an_exception_is_marked_interrupted_and_reraises():
    tracker, clock, sink, _ = fake_tracker()
    tracker.start()
    with pytest.raises(KeyError):
        with tracker.window("epoch") as w:
            clock.advance(1)
            raise KeyError("boom")
    assert w.record.interrupted
    tracker.stop()


def test_context_manager_marks_the_run_interrupted_on_exception():
    tracker, clock, sink, _ = fake_tracker()
    with pytest.raises(ZeroDivisionError):
        with tracker:
            clock.advance(2)
            1 / 0
    assert sink.records[-1].interrupted
    assert not tracker.running


def test_eco2ai_epoch_api_writes_one_row_per_epoch_with_parameters():
    tracker, clock, sink, _ = fake_tracker()
    tracker.start_training()
    for epoch in range(3):
        clock.advance(10)
        tracker.new_epoch({"epoch": epoch, "loss": 1.0 / (epoch + 1)})
    clock.advance(1)
    run = tracker.stop_training()
    epochs = [r for r in sink.records if r.window == "epoch"]
    assert [r.index for r in epochs] == [1, 2, 3]  # ECO2AI numbers epochs from start_epoch=1
    assert epochs[1].parameters == {"epoch": 1, "loss": 0.5}
    assert sum(r.energy_kwh for r in epochs) < run.energy_kwh
    assert sink.records[-1] is run


def test_epoch_api_writes_one_row_per_epoch_and_takes_no_eco2ai_names(tmp_path):
    # start_training / new_epoch / stop_training stay; ECO2AI's constructor names are wattprint.eco2ai's.
    from wattprint.report import load_file

    path, clock = tmp_path / "w.csv", FakeClock()
    tracker = Tracker(project_name="p", output_file=path, country="FR", sensors=[FakeSensor("cpu", power_w=10, clock=clock)],
                      clock=clock)
    tracker.start_training(start_epoch=5)
    clock.advance(10)
    tracker.new_epoch({"loss": 0.1})
    tracker.stop_training()
    epoch, run = load_file(path)
    assert (epoch.record.window, epoch.record.index, epoch.parameters) == ("epoch", 5, '{"loss": 0.1}')
    assert run.record.window == "run"
    for name in ("file_name", "alpha_2_code", "emission_level", "cpu_processes", "ignore_warnings"):
        with pytest.raises(TypeError, match=f"unexpected keyword argument '{name}'"):
            Tracker(**{name: None}, output_file=None)


def test_a_failing_sensor_keeps_its_energy_so_far_and_the_others_go_on():
    clock = FakeClock()
    gpu = FakeSensor("gpu", power_w=100, clock=clock, fail_after=2)
    cpu = FakeSensor("cpu", power_w=10, clock=clock)
    from wattprint.core.carbon import StaticIntensity, custom_intensity

    tracker = Tracker(sensors=[gpu, cpu], clock=clock, intensity=StaticIntensity(custom_intensity(0)), output_file=None)
    tracker.start()  # reads: meter init (1), run snapshot (2)
    clock.advance(10)
    with pytest.warns(RuntimeWarning, match="stopped answering"):
        record = tracker.stop()
    assert record.failed_domains == ("gpu",)
    assert record.energy_kwh_by_domain["gpu"] == 0.0
    assert record.energy_kwh_by_domain["cpu"] * 3.6e6 == pytest.approx(100.0)


def test_wall_clock_jump_does_not_change_durations():
    tracker, clock, _, _ = fake_tracker()
    tracker.start()
    clock.advance(5)
    clock.jump_wall(-3600)
    record = tracker.stop()
    assert record.duration_s == pytest.approx(5)


def test_stop_without_start_and_start_twice_are_state_errors():
    tracker, clock, _, _ = fake_tracker()
    with pytest.raises(StateError, match="call start"):
        tracker.stop()
    tracker.start()
    with pytest.raises(StateError, match="already running"):
        tracker.start()
    tracker.stop()
    with pytest.raises(StateError):
        tracker.stop()
    with pytest.raises(StateError, match="new Tracker"):
        tracker.start()


def test_window_closed_twice_is_a_state_error():
    tracker, clock, _, _ = fake_tracker()
    tracker.start()
    w = tracker.begin_window("x")
    tracker.end_window(w)
    with pytest.raises(StateError, match="already closed"):
        tracker.end_window(w)
    tracker.stop()


@pytest.mark.parametrize("pue", [-1.0, 0.5, math.nan, math.inf, "cheap"])
def test_bad_pue_fails_at_construction(pue):
    with pytest.raises(ConfigError, match="(?i)pue"):
        Tracker(pue=pue, carbon_intensity=100, output_file=None)


@pytest.mark.parametrize("value", [-5, math.nan, math.inf])
def test_bad_carbon_intensity_fails_at_construction(value):
    with pytest.raises(ConfigError, match="carbon_intensity"):
        Tracker(carbon_intensity=value, output_file=None)


@pytest.mark.parametrize("period", [0, -1, math.nan])
def test_bad_measure_period_fails_at_construction(period):
    with pytest.raises(ConfigError, match="measure_period"):
        Tracker(measure_period=period, carbon_intensity=100, output_file=None)


def test_tiny_measure_period_is_clamped_with_a_warning():
    with pytest.warns(RuntimeWarning, match="using 0.1 s"):
        tracker = Tracker(measure_period=0.001, carbon_intensity=100, output_file=None)
    assert tracker.measure_period == 0.1


def test_long_measure_period_is_clamped_so_counters_cannot_wrap_unseen():
    with pytest.warns(RuntimeWarning, match="could wrap unseen.*using 60 s"):
        tracker = Tracker(measure_period=600, carbon_intensity=100, output_file=None)
    assert tracker.measure_period == 60.0


def test_an_estimate_that_cannot_start_is_a_failed_domain_not_a_failed_start(monkeypatch):
    from wattprint.core import discovery

    def no_proc_stat(**kwargs):
        raise OSError("[Errno 2] No such file or directory: '/proc/stat'")

    monkeypatch.setattr(discovery, "cpu_estimate_sensor", no_proc_stat)
    tracker = Tracker(carbon_intensity=100, output_file=None, gpu=False)
    with pytest.warns(RuntimeWarning, match="cpu estimate could not start"):
        tracker.start()
    record = tracker.stop()
    assert record.failed_domains == ("cpu",)
    assert record.energy_kwh_by_domain["ram"] > 0


def test_bad_scope_fails_at_construction():
    with pytest.raises(ConfigError, match="scope"):
        Tracker(scope="gpu-only", carbon_intensity=100, output_file=None)


def test_unknown_country_fails_with_close_matches():
    with pytest.raises(wattprint.CarbonDataError, match="France"):
        Tracker(country="Frnace", output_file=None)


def test_output_file_in_missing_directory_fails_at_construction(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Tracker(carbon_intensity=100, output_file=tmp_path / "nope" / "e.csv")


def test_output_file_that_is_a_directory_fails_at_construction(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        Tracker(carbon_intensity=100, output_file=tmp_path)


def test_decorator_measures_each_call(tmp_path):
    csv_path = tmp_path / "e.csv"

    @wattprint.track(project_name="deco", carbon_intensity=50, output_file=csv_path, gpu=False)
    def work(n):
        return sum(range(n))

    assert work(10_000) == sum(range(10_000))
    assert work.last_record.project_name == "deco"
    assert work.last_record.energy_kwh > 0
    work(10)
    assert len(csv_path.read_text().splitlines()) == 3  # header + one row per call


def test_decorator_validates_its_arguments_when_applied():
    with pytest.raises(ConfigError, match="pue"):
        wattprint.track(pue=-1)


def test_decorator_checks_output_file_when_applied(tmp_path):
    def work():
        raise AssertionError("must not run: the settings are wrong")

    with pytest.raises(ConfigError, match="does not exist"):
        wattprint.track(carbon_intensity=50, gpu=False, output_file=tmp_path / "nope" / "e.csv")
    with pytest.raises(ConfigError, match="does not exist"):
        wattprint.track(work, carbon_intensity=50, gpu=False, output_file=tmp_path / "nope" / "e.csv")
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="not a wattprint or ECO2AI CSV"):
        wattprint.track(carbon_intensity=50, gpu=False, output_file=foreign)
    assert foreign.read_text() == "a,b\n1,2\n"
    fine = tmp_path / "e.csv"
    wattprint.track(work, carbon_intensity=50, gpu=False, output_file=fine)
    assert not fine.exists()  # checking writes nothing


def _fake_tracking(**kwargs):
    from wattprint.core.carbon import StaticIntensity, custom_intensity
    from wattprint.testing import MemorySink

    clock = FakeClock()
    sink = MemorySink()
    options = dict(
        sensors=[FakeSensor("cpu", power_w=10.0, clock=clock)],
        clock=clock,
        intensity=StaticIntensity(custom_intensity(100.0)),
        sinks=[sink],
        output_file=None,
    )
    return wattprint.track(**{**options, **kwargs}), clock, sink


def test_decorator_keeps_the_interrupted_record_of_a_call_that_raised():
    track, clock, sink = _fake_tracking()

    @track
    def work(seconds, fail=False):
        clock.advance(seconds)
        if fail:
            raise RuntimeError("diverged")

    work(10)
    first = work.last_record
    assert not first.interrupted and first.duration_s == pytest.approx(10)
    with pytest.raises(RuntimeError, match="diverged"):
        work(3, fail=True)
    record = work.last_record
    assert record is not first and record is sink.records[-1]
    assert record.interrupted and record.duration_s == pytest.approx(3)
    assert record.energy_kwh * 3.6e6 == pytest.approx(30.0)  # 10 W x 3 s, in J


def test_decorator_call_that_cannot_start_measuring_leaves_no_stale_record(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    track, clock, _ = _fake_tracking(output_file=out / "e.csv")

    @track
    def work():
        clock.advance(1)

    work()
    assert work.last_record is not None
    out.joinpath("e.csv").unlink()
    out.rmdir()  # the output directory vanished between calls
    with pytest.raises(ConfigError, match="does not exist"):
        work()
    assert work.last_record is None


def test_windows_still_open_at_stop_are_written_as_interrupted():
    tracker, clock, sink, _ = fake_tracker(cpu_w=10, gpu_w=0, ram_w=0)
    tracker.start()
    tracker.begin_window("epoch", index=0)
    clock.advance(3)
    run = tracker.stop()
    epoch = sink.records[0]
    assert (epoch.window, epoch.index, epoch.interrupted) == ("epoch", 0, True)
    assert epoch.energy_kwh * 3.6e6 == pytest.approx(30.0)
    assert sink.records[-1] is run and not run.interrupted


def test_stop_skips_a_window_another_thread_closes_meanwhile():
    import threading

    from wattprint.testing import MemorySink

    clock = FakeClock()
    closed_elsewhere = []

    class ClosesBOnWrite(MemorySink):
        def write(self, record):
            super().write(record)
            if record is not None and record.window == "step" and not closed_elsewhere:
                # stop() is writing window a's row; a worker thread ends window b right now.
                worker = threading.Thread(target=lambda: closed_elsewhere.append(tracker.end_window(b, write=False)))
                worker.start()
                worker.join()

    tracker = Tracker(output_file=None, carbon_intensity=100, sensors=[FakeSensor("cpu", power_w=10, clock=clock)],
                      clock=clock, sinks=[ClosesBOnWrite()])
    tracker.start()
    a = tracker.begin_window("step")
    b = tracker.begin_window("step")
    clock.advance(1)
    run = tracker.stop()
    assert not tracker.running and run.window == "run"
    assert a.closed and b.closed and len(closed_elsewhere) == 1
