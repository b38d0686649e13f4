"""Fixtures for the framework callback tests: tiny real trainings on CPU, no downloads."""

from __future__ import annotations

import os

# Both are read when the framework is first imported, so they are set before any test module
# imports keras or transformers.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from wattprint import Tracker
from wattprint.core.carbon import StaticIntensity, custom_intensity
from wattprint.testing import FakeClock, FakeSensor, MemorySink

#: Watts of the fake sensors; with a FakeClock moved 1 s per training step, an epoch of n
#: steps uses exactly n x TOTAL_W joules.
CPU_W, GPU_W, RAM_W = 20.0, 300.0, 5.0
TOTAL_W = CPU_W + GPU_W + RAM_W
G_PER_KWH = 100.0


class FakeRig:
    """A Tracker over fake CPU, GPU and RAM sensors on a clock the training moves by hand."""

    def __init__(self, output_file, **tracker_kwargs) -> None:
        self.clock = FakeClock()
        self.sink = MemorySink()
        self.sensors = [
            FakeSensor("cpu", power_w=CPU_W, clock=self.clock, method="estimated"),
            FakeSensor("gpu", power_w=GPU_W, clock=self.clock, method="counter"),
            FakeSensor("ram", power_w=RAM_W, clock=self.clock, method="estimated"),
        ]
        self.tracker = Tracker(
            "tests",
            sensors=self.sensors,
            clock=self.clock,
            intensity=StaticIntensity(custom_intensity(G_PER_KWH)),
            output_file=output_file,
            sinks=[self.sink],
            **tracker_kwargs,
        )

    def step(self, seconds: float = 1.0) -> None:
        self.clock.advance(seconds)

    def rows(self, window: str | None = None):
        return [r for r in self.sink.records if window is None or r.window == window]


@pytest.fixture
def rig(tmp_path):
    return FakeRig(tmp_path / "wattprint.csv")


@pytest.fixture
def make_rig(tmp_path):
    def make(name: str = "wattprint.csv", **kwargs) -> FakeRig:
        return FakeRig(tmp_path / name, **kwargs)

    return make
