"""Step intervals, stages and work counts in the run every callback drives (FakeClock: exact sums)."""

from __future__ import annotations

import pytest

from wattprint import RankInfo, Settings
from wattprint.integrations._epochs import EpochRun

from .conftest import TOTAL_W
from .test_epochs import _peer

P = "emissions/"
J_PER_KWH = 3_600_000.0


def kwh(seconds: float, watts: float = TOTAL_W) -> float:
    return seconds * watts / J_PER_KWH


def run_of(tracker, **options) -> EpochRun:
    return EpochRun(Settings.build(options), tracker)


def test_steps_and_stages_add_up_to_epochs_and_epochs_to_the_run(rig):
    run = run_of(rig.tracker, step_rows=True)
    run.start(steps=True, unit="sample")
    run.open_epoch(0)
    logged = []
    epochs = []
    global_step = 0
    for epoch in range(2):
        run.open_epoch(epoch)
        for _ in range(5):  # 5 optimizer steps of 8 samples, 1 s each; the framework logs every 2
            rig.step(1)
            run.add_work(8)
            global_step += 1
            if global_step % 2 == 0:
                logged.append(run.step_end(global_step))
        run.stage_begin("validation")
        rig.step(3)
        run.add_work(4)  # validation samples are the validation pass's work
        val = run.stage_end()
        rig.step(0.5)  # checkpointing after validation: in the train part and the last step interval
        epochs.append(run.epoch_end(epoch, step_index=global_step))
        assert val[P + "validation/energy_kwh"] == pytest.approx(kwh(3))
        assert val[P + "validation/energy_j_per_sample"] == pytest.approx(3 * TOTAL_W / 4)
    rig.step(2)
    run_record = run.end()

    steps = rig.rows("step")
    # The last interval of each epoch closes with it (the second epoch's after step 10 holds
    # no optimizer step: only the validation pass and the tail).
    assert [r.index for r in steps] == [2, 4, 5, 6, 8, 10, 10]
    epoch_rows = rig.rows("epoch")
    for i, (epoch_row, mine) in enumerate(zip(epoch_rows, (steps[:3], steps[3:]))):
        assert sum(r.energy_kwh for r in mine) == pytest.approx(epoch_row.energy_kwh, rel=1e-12)
        assert sum(r.duration_s for r in mine) == epoch_row.duration_s
        train = epochs[i][P + "train/energy_kwh"]
        validation = rig.rows("validation")[i]
        assert train + validation.energy_kwh == pytest.approx(epoch_row.energy_kwh, rel=1e-12)
        assert validation.stage == "validation" and epoch_row.stage == "train"
        assert epoch_row.work == 44 and epoch_row.work_unit == "sample"
        assert epochs[i][P + "train/energy_j_per_sample"] == pytest.approx(5.5 * TOTAL_W / 40)
    assert epochs[0][P + "energy_kwh"] == pytest.approx(kwh(8.5))
    assert epochs[0][P + "energy_j_per_sample"] == pytest.approx(8.5 * TOTAL_W / 44)
    assert epochs[0][P + "co2_kg_per_1k_samples"] == pytest.approx(kwh(8.5) * 0.1 * 1000 / 44)
    # Step keys: interval figures and the running total since training began.
    assert logged[0][P + "step/energy_kwh"] == pytest.approx(kwh(2))
    assert logged[0][P + "step/energy_j_per_sample"] == pytest.approx(TOTAL_W / 8)
    assert logged[1][P + "step/energy_kwh_total"] == pytest.approx(kwh(4))
    assert epochs[0][P + "step/energy_kwh"] == pytest.approx(kwh(1 + 3 + 0.5))  # step 5 + validation + tail
    assert epochs[0][P + "step/energy_kwh_total"] == pytest.approx(epochs[0][P + "energy_kwh_total"])
    assert logged[2][P + "step/energy_kwh_total"] == pytest.approx(kwh(8.5 + 1))  # step 6, into the 2nd epoch
    assert set(logged[0]).isdisjoint(epochs[0].keys() - {k for k in epochs[0] if k.startswith(P + "step/")})
    assert sum(r.energy_kwh for r in epoch_rows) + kwh(2) == pytest.approx(run_record.energy_kwh, rel=1e-12)
    assert run_record.stage == "train" and run_record.work == 88


def test_step_rows_are_off_by_default(rig):
    run = run_of(rig.tracker)
    run.start(steps=True)
    run.open_epoch(0)
    rig.step(1)
    assert run.step_end(1)[P + "step/energy_kwh"] == pytest.approx(kwh(1))
    run.stage_begin()
    rig.step(1)
    assert run.stage_end()[P + "validation/energy_kwh"] == pytest.approx(kwh(1))
    run.epoch_end(0, step_index=1)
    run.end()
    assert {r.window for r in rig.sink.records} == {"epoch", "run"}


def test_a_stage_run_is_a_run_of_its_own_with_its_keys(rig, monkeypatch):
    # The callbacks' own trackers (one per run) measure stage runs: here one over the fake sensors.
    import wattprint.integrations._epochs as epochs

    monkeypatch.setattr(epochs, "Tracker", lambda settings: type(rig.tracker)(
        "tests", sensors=rig.sensors, clock=rig.clock, intensity=rig.tracker.intensity_source,
        output_file=None, sinks=[rig.sink]))
    run = run_of(None, output_file=None)
    run.start(stage="predict", unit="sample")
    run.add_work(10)
    rig.step(4)
    run.add_work(6)
    record = run.end()
    assert record.window == "run" and record.stage == "predict"
    assert record.work == 16 and record.work_unit == "sample"
    assert record.energy_j_per_unit == pytest.approx(4 * TOTAL_W / 16)
    m = run.stage_metrics
    assert m[P + "predict/energy_kwh"] == pytest.approx(kwh(4))
    assert m[P + "predict/energy_j_per_sample"] == pytest.approx(4 * TOTAL_W / 16)
    assert [r.window for r in rig.sink.records] == ["run"]
    assert run.stage_record is record and run.run_record is None


def test_a_stage_run_leaves_a_tracker_of_the_users_alone_when_it_is_not_running(rig):
    run = run_of(rig.tracker)
    run.start(stage="predict")
    assert not run.active and run.end() is None
    rig.tracker.start()  # still fresh: it serves the training it was made for
    rig.tracker.stop()


def test_a_stage_run_on_a_tracker_its_owner_runs_is_a_window_row(rig):
    rig.tracker.start()
    run = run_of(rig.tracker)
    run.start(stage="evaluate")
    rig.step(2)
    record = run.end()
    assert record.window == "evaluate" and record.stage == "evaluate"
    assert rig.tracker.running
    assert run.stage_metrics[P + "evaluate/energy_kwh"] == pytest.approx(kwh(2))
    rig.tracker.stop()


def test_step_sums_and_work_over_ranks_in_one_collective(make_rig):
    rig = make_rig()
    run = run_of(rig.tracker)
    peer = make_rig("peer.csv")
    peer.tracker.start()
    w = peer.tracker.begin_window("step", unit="sample")
    peer.step(2)
    peer_record = peer.tracker.end_window(w, write=False, work=16)
    gather = _peer(peer_record)
    run.start(ranks=RankInfo(0, 0, 2), gather=gather, steps=True, unit="sample")
    run.open_epoch(0)
    rig.step(2)
    run.add_work(16)
    m = run.step_end(2)
    assert len(gather.calls) == 1
    assert m[P + "step/energy_kwh"] == pytest.approx(2 * kwh(2))
    assert m[P + "step/energy_j_per_sample"] == pytest.approx(2 * 2 * TOTAL_W / 32)


def test_work_counted_by_the_framework_for_the_whole_job_is_not_added_over_ranks(make_rig):
    rig = make_rig()
    peer = make_rig("peer.csv")
    peer.tracker.start()
    w = peer.tracker.begin_window("step", unit="token")
    peer.step(1)
    peer_record = peer.tracker.end_window(w, write=False, work=100)
    run = run_of(rig.tracker)
    run.start(ranks=RankInfo(0, 0, 2), gather=_peer(peer_record), steps=True, unit="token", work_global=True)
    run.open_epoch(0)
    rig.step(1)
    run.set_work(100)  # tokens seen by the job: the framework gathered them already
    m = run.step_end(1)
    assert m[P + "step/energy_j_per_token"] == pytest.approx(2 * TOTAL_W / 100)
