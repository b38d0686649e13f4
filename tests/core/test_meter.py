from __future__ import annotations

import threading

import pytest

from wattprint.core.carbon import Intensity, StaticIntensity, custom_intensity
from wattprint.core.meter import Meter
from wattprint.core.sampler import Sampler
from wattprint.testing import FakeClock, FakeSensor


class SteppedIntensity:
    """An intensity source whose value the test changes, like a live provider would."""

    refresh_s = 1.0

    def __init__(self, g):
        self.g = g

    def current(self):
        return Intensity(self.g, "XX", "test", "test", None, "unknown", "n/a", "live:test")


def test_co2_is_summed_interval_by_interval_with_the_intensity_of_each():
    clock = FakeClock()
    source = SteppedIntensity(100.0)
    meter = Meter([FakeSensor("gpu", power_w=1000, clock=clock)], source, clock)
    begin = meter.snapshot()
    clock.advance(3600)  # 1 kWh at 100 g
    source.g = 500.0
    meter.refresh_intensity()
    clock.advance(3600)  # 1 kWh at 500 g
    delta = meter.delta(begin, meter.snapshot())
    assert delta.measurement.energy_kwh == pytest.approx(2.0)
    assert delta.mean_g_per_kwh == pytest.approx(300.0)  # 600 g over 2 kWh
    assert delta.intensity_readings == 2


def test_domain_method_is_the_weakest_of_its_sensors():
    clock = FakeClock()
    sensors = [
        FakeSensor("cpu", clock=clock, method="counter", key="a"),
        FakeSensor("cpu", clock=clock, method="estimated", key="b"),
        FakeSensor("gpu", clock=clock, method="sampled", key="c"),
    ]
    meter = Meter(sensors, StaticIntensity(custom_intensity(1)), clock)
    s = meter.snapshot()
    clock.advance(1)
    delta = meter.delta(s, meter.snapshot())
    assert delta.measurement.method_by_domain == {"cpu": "estimated", "gpu": "sampled"}
    assert delta.measurement.energy_kwh_by_domain["cpu"] * 3.6e6 == pytest.approx(20.0)


def test_duplicate_sensor_keys_are_rejected():
    clock = FakeClock()
    with pytest.raises(ValueError, match="unique"):
        Meter([FakeSensor("cpu", clock=clock, key="k"), FakeSensor("gpu", clock=clock, key="k")],
              StaticIntensity(custom_intensity(1)), clock)


def test_sampler_starts_no_thread_when_nothing_needs_polling():
    clock = FakeClock()
    meter = Meter([FakeSensor("gpu", clock=clock)], StaticIntensity(custom_intensity(1)), clock)
    sampler = Sampler(meter, 0.01)
    before = threading.active_count()
    sampler.start()
    assert not sampler.alive and threading.active_count() == before


def test_sampler_polls_sensors_that_need_it_and_stops_cleanly():
    clock = FakeClock()
    polled = FakeSensor("cpu", clock=clock, needs_polling=True, key="p")
    counter = FakeSensor("gpu", clock=clock, key="c")
    meter = Meter([polled, counter], StaticIntensity(custom_intensity(1)), clock)
    sampler = Sampler(meter, 0.01)
    sampler.start()
    assert sampler.alive
    done = threading.Event()
    for _ in range(200):
        if polled.reads >= 4:
            done.set()
            break
        done.wait(0.01)
    sampler.stop()
    assert done.is_set(), "the sampler did not poll"
    assert counter.reads == 1  # only read at construction: counters wait for window edges
    assert not sampler.alive
    assert not any(t.name == "wattprint-sampler" for t in threading.enumerate())


def test_a_sample_tick_reads_each_sensor_once_not_a_poll_and_a_snapshot():
    clock = FakeClock()
    polled = FakeSensor("cpu", clock=clock, needs_polling=True, key="p")
    meter = Meter([polled], StaticIntensity(custom_intensity(1)), clock)
    samples = []

    def sample():  # what a tracker's export tick does: read every sensor for the run so far
        samples.append(meter.snapshot())
        return True

    sampler = Sampler(meter, 0.01, on_sample=sample, sample_s=0.01)  # every tick a sample tick
    before = polled.reads
    sampler.start()
    for _ in range(200):
        if len(samples) >= 5:
            break
        threading.Event().wait(0.01)
    sampler.stop()
    assert len(samples) >= 5
    assert polled.reads - before == len(samples)  # one read a tick: the sample's, no poll besides
