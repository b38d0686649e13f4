"""Which GPUs a rank measures: each rank its own, so the ranks' sum counts every GPU once."""

from __future__ import annotations

import pytest

from tests.fakes.nvml import FakeGpu, FakeNvml
from wattprint import Tracker
from wattprint.core import discovery
from wattprint.core.distributed import RankInfo
from wattprint.core.measurement import GPU
from wattprint.core.settings import Settings
from wattprint.integrations._epochs import EpochRun


@pytest.fixture
def four_gpus(monkeypatch):
    fake = FakeNvml([FakeGpu(f"GPU-0000000{i}-0000-0000-0000-000000000000", name=f"GPU {i}") for i in range(4)])
    monkeypatch.setitem(__import__("sys").modules, "pynvml", fake.module)
    # The NVIDIA driver's device nodes "exist"; AMD's do not.
    monkeypatch.setattr(discovery, "_driver_absent", lambda nodes: nodes != discovery._NVIDIA_NODES)
    return fake


def _names(tracker: Tracker) -> list[str]:
    """The measured GPUs by model name (the fake's names are "GPU <index>")."""
    return [s.name.split(" (")[0] for s in tracker._meter.sensors.values() if s.domain == GPU]  # noqa: SLF001


def _gpus(tracker: Tracker) -> list[str]:
    tracker.start()
    try:
        return _names(tracker)
    finally:
        tracker.stop(write=False)


def test_torchrun_environment_selects_the_local_ranks_gpu(four_gpus, monkeypatch):
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert _gpus(Tracker(country="FR", output_file=None, measure_host=False)) == ["GPU 2"]


def test_a_lone_process_measures_every_gpu(four_gpus):
    assert _gpus(Tracker(country="FR", output_file=None, measure_host=False)) == [f"GPU {i}" for i in range(4)]


def test_ranks_given_where_the_launcher_sets_no_world_size(four_gpus, monkeypatch):
    # Lightning's ddp_spawn/ddp_fork and torch.multiprocessing.spawn leave LOCAL_RANK at most:
    # from the environment alone each rank would measure all four GPUs, four times in the sum.
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert len(_gpus(Tracker(country="FR", output_file=None, measure_host=False))) == 4
    ranks = RankInfo(rank=3, local_rank=3, world_size=4)
    assert _gpus(Tracker(country="FR", output_file=None, measure_host=False, ranks=ranks)) == ["GPU 3"]


def test_callbacks_pass_the_frameworks_ranks_to_their_tracker(four_gpus, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")  # all a spawn launcher leaves
    run = EpochRun(Settings.build({"country": "FR", "output_file": None}))
    run.start(ranks=RankInfo(rank=1, local_rank=1, world_size=2), measure_host=False)
    try:
        assert run.tracker.ranks.world_size == 2
        assert _names(run.tracker) == ["GPU 1"]
    finally:
        run.end()
