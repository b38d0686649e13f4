"""Builders shared by the core tests."""

from __future__ import annotations

from wattprint import Tracker
from wattprint.core.carbon import StaticIntensity, custom_intensity
from wattprint.testing import FakeClock, FakeSensor, MemorySink


def fake_tracker(*, cpu_w=20.0, gpu_w=300.0, ram_w=5.0, g_per_kwh=100.0, project_name="proj", **kwargs):
    """A Tracker over three fake sensors on a FakeClock; returns (tracker, clock, sink, sensors)."""
    clock = kwargs.pop("clock", None) or FakeClock()
    sensors = {
        "cpu": FakeSensor("cpu", power_w=cpu_w, clock=clock, method="estimated"),
        "gpu": FakeSensor("gpu", power_w=gpu_w, clock=clock, method="counter"),
        "ram": FakeSensor("ram", power_w=ram_w, clock=clock, method="estimated"),
    }
    sink = MemorySink()
    kwargs.setdefault("output_file", None)
    tracker = Tracker(
        project_name,
        "desc",
        sensors=list(sensors.values()),
        clock=clock,
        intensity=StaticIntensity(custom_intensity(g_per_kwh)),
        sinks=[sink],
        **kwargs,
    )
    return tracker, clock, sink, sensors
