"""The output protocol's live samples: who gets them, when, and what a failing output does."""

from __future__ import annotations

import time

import pytest

from tests.core.helpers import fake_tracker
from wattprint.core.outputs import Outputs
from wattprint.testing import MemorySink


class Sampled(MemorySink):
    """An output that also takes samples."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.samples, self.fail = [], fail

    def write_sample(self, record) -> None:
        if self.fail:
            raise ConnectionError("receiver down")
        self.samples.append(record)


def test_samples_go_only_to_outputs_that_take_them_and_a_failure_is_isolated(recwarn):
    plain, bad, good = MemorySink(), Sampled(fail=True), Sampled()
    outputs = Outputs([plain, bad, good])
    tracker, clock, *_ = fake_tracker()
    tracker.start()
    clock.advance(1.0)
    record = tracker.stop()
    for _ in range(3):
        delivery = outputs.sample(record)
    assert delivery.wrote(good) and not delivery.wrote(plain) and [o for o, _ in delivery.failed] == [bad]
    assert good.samples == [record] * 3 and plain.records == []
    assert len([w for w in recwarn if "receiver down" in str(w.message)]) == 1  # warned once


def test_tracker_samples_its_run_on_the_sampler_thread_and_ends_on_the_run_record():
    from wattprint import Tracker
    from wattprint.testing import FakeClock, FakeSensor

    out, clock = Sampled(), FakeClock()
    tracker = Tracker(sensors=[FakeSensor("gpu", power_w=100.0, clock=clock)], clock=clock, carbon_intensity=100.0,
                      output_file=None, sinks=[out], export_period=0.1, measure_period=0.1)
    tracker.start()
    for _ in range(5):
        clock.advance(2.0)
        time.sleep(0.15)
    record = tracker.stop()
    assert len(out.samples) >= 4
    assert all(s.window == "run" and s.run_id == record.run_id for s in out.samples)
    energies = [s.energy_kwh for s in out.samples]
    assert energies == sorted(energies) and energies[0] < energies[-1]  # live: they grow
    assert out.samples[-1] is record  # the last sample is the run's own record, after the sampler stopped


def test_no_sampler_thread_and_no_samples_without_an_output_that_takes_them():
    import threading

    tracker, *_ = fake_tracker(export_period=0.1, measure_period=0.1)
    tracker.start()
    assert not any(t.name == "wattprint-sampler" for t in threading.enumerate())  # counters need no polling
    tracker.stop()


@pytest.mark.parametrize("framework", ["lightning", "keras", "transformers"])
def test_every_callback_takes_the_export_options(framework):
    import importlib

    module = pytest.importorskip(f"wattprint.integrations.{framework}")
    pytest.importorskip({"lightning": "lightning", "keras": "keras", "transformers": "transformers"}[framework])
    callback = module.EmissionsCallback(output_file=None, country="FR", pushgateway_url="http://gw.example:9091", pushgateway_job="j",
                                        export_period=3.0, otel_endpoint="http://collector:4318", prometheus_port=9464)
    s = callback.tracker.settings
    assert (s.pushgateway_url, s.pushgateway_job, s.export_period, s.otel_endpoint, s.prometheus_port) == (
        "http://gw.example:9091", "j", 3.0, "http://collector:4318", 9464)
    assert importlib.import_module("wattprint.export.prometheus")  # built, not yet listening or pushing
