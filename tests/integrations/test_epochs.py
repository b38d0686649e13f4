"""The helper every callback delegates to: windows, totals, prediction, ranks, errors, resume."""

from __future__ import annotations

import pickle
import warnings

import pytest

from wattprint import CarbonDataError, ConfigError, RankInfo, Settings
from wattprint.core.merge import Total, combine
from wattprint.core.progress import RunningTotals
from wattprint.core.rankvector import LENGTH, decode, encode
from wattprint.integrations._epochs import PART_LENGTH, EpochRun, encode_parts

from .conftest import CPU_W, GPU_W, RAM_W, TOTAL_W

P = "emissions/"


def run_of(tracker=None, **options) -> EpochRun:
    """An EpochRun as a callback builds it: validated settings, and the user's tracker if any."""
    return EpochRun(Settings.build(options), tracker)


def kwh(seconds: float, watts: float = TOTAL_W) -> float:
    return seconds * watts / 3_600_000.0


def kg(seconds: float, watts: float = TOTAL_W) -> float:
    return kwh(seconds, watts) * 100.0 / 1000.0  # 100 g/kWh, PUE 1


def test_contiguous_epochs_totals_prediction_and_rows(rig):
    run = run_of(rig.tracker)
    run.start()
    run.open_epoch(None)  # at training start; Keras and HF learn the index later
    rig.step(5)
    run.open_epoch(0)
    rig.step(10)
    m0 = run.epoch_end(0, progress=1 / 4)
    rig.step(20)
    run.open_epoch(1)  # only relabels: the window opened at the last epoch end
    m1 = run.epoch_end(1, progress=2 / 4)
    rig.step(7)  # after the last epoch: run row only
    run_record = run.end()

    assert m0[P + "energy_kwh"] == pytest.approx(kwh(15))
    assert m0[P + "co2_kg"] == pytest.approx(kg(15))
    assert m0[P + "power_w"] == pytest.approx(TOTAL_W)
    assert m0[P + "energy_kwh_cpu"] == pytest.approx(kwh(15, CPU_W))
    assert m0[P + "energy_kwh_gpu"] == pytest.approx(kwh(15, GPU_W))
    assert m0[P + "energy_kwh_ram"] == pytest.approx(kwh(15, RAM_W))
    assert m0[P + "co2_kg_predicted"] == pytest.approx(kg(15) * 4)
    assert m1[P + "energy_kwh"] == pytest.approx(kwh(20))
    assert m1[P + "energy_kwh_total"] == pytest.approx(m0[P + "energy_kwh"] + m1[P + "energy_kwh"], rel=1e-12)
    assert m1[P + "co2_kg_total"] == pytest.approx(kg(35))
    assert m1[P + "co2_kg_predicted"] == pytest.approx(kg(35) * 2)

    epochs = rig.rows("epoch")
    assert [r.index for r in epochs] == [0, 1]
    assert [r.duration_s for r in epochs] == [15, 20]
    assert not any(r.interrupted for r in rig.sink.records)
    assert rig.rows("run") == [run_record]
    assert run_record.energy_kwh == pytest.approx(kwh(42))
    assert run.totals.epochs == 2 and run.totals.last_epoch == 1
    assert not rig.tracker.running


def test_prediction_extrapolates_only_what_was_measured(rig):
    run = run_of(rig.tracker)
    run.reset_totals(origin=0.5)  # resumed half-way without earlier totals
    run.start()
    run.open_epoch(5)
    rig.step(10)
    m = run.epoch_end(5, progress=0.75)
    # 10 s covered a quarter of the plan; the remaining half of the plan costs twice that.
    assert m[P + "co2_kg_predicted"] == pytest.approx(kg(10) * 2)
    rig.step(10)
    assert P + "co2_kg_predicted" not in run.epoch_end(6, progress=None)


def test_totals_prediction_edge_cases():
    t = RunningTotals(co2_kg=1.0, epochs=1)
    assert t.predicted_co2_kg(None) is None
    assert t.predicted_co2_kg(0.0) is None
    assert t.predicted_co2_kg(float("nan")) is None
    assert RunningTotals().predicted_co2_kg(0.5) is None
    assert t.predicted_co2_kg(0.25) == pytest.approx(4.0)


def _one_window(rig, seconds):
    rig.tracker.start()
    w = rig.tracker.begin_window("epoch")
    rig.step(seconds)
    return rig.tracker.end_window(w, write=False)


def test_vector_round_trip_sums_ranks_and_keeps_weakest_method(make_rig):
    a, b = make_rig("a.csv"), make_rig("b.csv")
    b.sensors[1].method = "sampled"
    ra, rb = _one_window(a, 10), _one_window(b, 30)
    s = combine([decode(encode(Total.of(ra))), decode(encode(Total.of(rb)))], parallel=True)
    assert s.count == 2
    assert s.method_by_domain == {"cpu": "estimated", "gpu": "sampled", "ram": "estimated"}
    assert s.energy_kwh == pytest.approx(kwh(40))
    assert s.energy_kwh_by_domain["gpu"] == pytest.approx(kwh(40, GPU_W))
    assert s.co2_kg == pytest.approx(kg(40))
    assert s.duration_s == pytest.approx(30)  # the ranks ran side by side: as long as the longest
    assert decode(encode(Total.of(ra))) == Total.of(ra)  # exact, floats and all
    assert decode(encode(None)) is None
    with pytest.raises(Exception, match="expected"):
        decode([0.0] * (LENGTH - 1))


def _peer(record, *, first=False):
    """A gather for one of two ranks: this rank's vector and the peer's, in rank order. The
    peer sends ``record`` (None: it measured nothing) for every part this rank sends.

    At the start the ranks also agree on a run id (4 floats): the peer agrees with this rank.
    ``calls`` counts the figures' gathers only.
    """
    calls = []

    def gather(values):
        if len(values) == 4:
            return [values, values]
        calls.append(values)
        vector = encode_parts([record] * (len(values) // PART_LENGTH))
        return [vector, values] if first else [values, vector]

    gather.calls = calls
    return gather


def test_distributed_sum_counts_host_once_and_only_rank0_writes(make_rig):
    # Rank 1 runs on the same node: it measures its GPU only.
    rank1 = make_rig("rank1.csv")
    from wattprint import Tracker

    def rank1_tracker():
        return Tracker("tests", sensors=[rank1.sensors[1]], clock=rank1.clock, intensity=rank1.tracker.intensity_source,
                       output_file=None, sinks=[rank1.sink])

    peer = rank1_tracker().start()
    window = peer.begin_window("epoch")
    rank1.step(10)
    peer_record = peer.end_window(window, write=False)

    rig0 = make_rig("rank0.csv")
    run0 = run_of(rig0.tracker)
    gather = _peer(peer_record)
    run0.start(ranks=RankInfo(0, 0, 2), gather=gather)
    run0.open_epoch(0)
    rig0.step(10)
    m = run0.epoch_end(0, progress=0.5)
    assert len(gather.calls) == 1
    assert m[P + "energy_kwh_gpu"] == pytest.approx(2 * kwh(10, GPU_W))
    assert m[P + "energy_kwh_cpu"] == pytest.approx(kwh(10, CPU_W))  # host once
    assert m[P + "energy_kwh"] == pytest.approx(kwh(10, TOTAL_W + GPU_W))
    (row,) = rig0.rows("epoch")
    assert row.energy_kwh == pytest.approx(m[P + "energy_kwh"])
    assert row.world_size == 2 and row.rank == 0
    assert row.parameters["summed_over_ranks"] == 2
    assert row.intensity_g_per_kwh == pytest.approx(100.0)

    # The same call on rank 1 logs the same numbers and writes nothing.
    rank0_record = rig0.rows("epoch")[0]
    run1 = run_of(rank1_tracker())
    run1.start(ranks=RankInfo(1, 1, 2), gather=_peer(rank0_record, first=True))
    run1.open_epoch(0)
    rank1.step(10)
    m1 = run1.epoch_end(0, progress=0.5)
    assert m1[P + "energy_kwh_gpu"] > 0
    assert rank1.rows() == []


def test_failed_rank_still_joins_the_collective_and_nobody_logs(rig):
    rig.tracker.start()
    rig.tracker.stop(write=False)  # a user's tracker that cannot run again
    run = run_of(rig.tracker)
    gather = _peer(None)
    with pytest.warns(RuntimeWarning, match="starting the tracker failed"):
        run.start(ranks=RankInfo(0, 0, 2), gather=gather)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once already: later errors are not warnings
        assert run.epoch_end(0) is None
    assert len(gather.calls) == 1 and gather.calls[0][0] == 0.0  # sent "measured nothing"
    assert run.end() is None
    assert len(gather.calls) == 2  # the run's collective too, though this rank measured nothing


def test_peer_failure_means_no_metrics_and_no_row(rig):
    run = run_of(rig.tracker)
    run.start(ranks=RankInfo(0, 0, 2), gather=_peer(None))
    run.open_epoch(0)
    rig.step(3)
    assert run.epoch_end(0) is None
    assert rig.rows("epoch") == []
    assert run.totals.epochs == 0


def _broken_gather():
    state = {"broken": True}

    def gather(values):
        if state["broken"] and len(values) != 4:  # the run id at the start still gets through
            raise RuntimeError("collective timed out")
        return [values]

    gather.state = state
    return gather


def test_on_error_raise_propagates(rig):
    run = run_of(rig.tracker, on_error="raise")
    run.start(ranks=RankInfo(0, 0, 2), gather=_broken_gather())
    run.open_epoch(0)
    with pytest.raises(RuntimeError, match="collective timed out"):
        run.epoch_end(0)


def test_on_error_warn_warns_once_and_goes_on(rig):
    run = run_of(rig.tracker)
    gather = _broken_gather()
    run.start(ranks=RankInfo(0, 0, 2), gather=gather)
    run.open_epoch(0)
    with pytest.warns(RuntimeWarning, match="collective timed out"):
        assert run.epoch_end(0) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only: the next error goes to the DEBUG log
        assert run.epoch_end(1) is None
    gather.state["broken"] = False
    rig.step(4)
    assert run.epoch_end(2)[P + "energy_kwh"] > 0


def test_fail_writes_partial_epoch_and_run_marked_interrupted(rig):
    run = run_of(rig.tracker)
    run.start()
    run.open_epoch(0)
    rig.step(10)
    run.epoch_end(0)
    run.open_epoch(1)  # the framework's next epoch begins
    rig.step(4)
    run.fail()
    partial, run_row = rig.sink.records[-2:]
    assert (partial.window, partial.index, partial.interrupted) == ("epoch", 1, True)
    assert partial.energy_kwh == pytest.approx(kwh(4))
    assert (run_row.window, run_row.interrupted) == ("run", True)
    assert run_row.energy_kwh == pytest.approx(kwh(14))
    assert not rig.tracker.running
    run.fail()  # idempotent
    assert len(rig.sink.records) == 3


def test_a_failure_between_two_epochs_writes_no_epoch_that_never_began(rig):
    run = run_of(rig.tracker)
    run.start()
    run.open_epoch(0)
    rig.step(10)
    run.epoch_end(0)
    rig.step(2)  # e.g. another callback raising in its own epoch-end hook
    run.fail()
    assert [(r.window, r.index, r.interrupted) for r in rig.sink.records] == [("epoch", 0, False), ("run", None, True)]
    assert rig.sink.records[-1].energy_kwh == pytest.approx(kwh(12))


def test_fail_on_another_rank_writes_its_own_labelled_rows(rig):
    run = run_of(rig.tracker)
    run.start(ranks=RankInfo(3, 1, 4))
    run.open_epoch(0)
    rig.step(2)
    run.fail()
    assert [(r.rank, r.local_rank, r.world_size) for r in rig.sink.records] == [(3, 1, 4)] * 2


def test_fail_never_raises_even_with_on_error_raise(rig):
    run = run_of(rig.tracker, on_error="raise")
    run.start()
    run.open_epoch(0)
    rig.step(2)
    rig.tracker.end_window(run._chain._window, write=False)  # closed behind the callback's back
    with pytest.warns(RuntimeWarning, match="interrupted epoch"):
        run.fail()
    assert [(r.window, r.interrupted) for r in rig.sink.records] == [("run", True)]  # the run row still


def test_a_training_left_open_is_closed_when_the_next_starts(make_rig):
    first = make_rig("a.csv")
    run = run_of(first.tracker)
    run.start()
    run.open_epoch(0)
    first.step(3)
    with pytest.warns(RuntimeWarning, match="was stopped"):
        run.start()  # after a fit that died unseen; a user's tracker serves one training only
    assert [r.interrupted for r in first.sink.records] == [True, True]


def test_context_exit_records_an_exception_only(rig):
    run = run_of(rig.tracker)
    run.start()
    run.exit(None)
    assert run.active
    run.exit(ValueError("boom"))
    assert not run.active and all(r.interrupted for r in rig.sink.records)


def test_a_running_user_tracker_is_left_running(rig):
    rig.tracker.start()
    run = run_of(rig.tracker)
    run.start()
    run.open_epoch(0)
    rig.step(1)
    run.epoch_end(0)
    assert run.end() is None
    assert rig.tracker.running and rig.rows("run") == []


def test_state_round_trip_continues_totals(rig):
    run = run_of(rig.tracker)
    run.start()
    run.open_epoch(0)
    rig.step(10)
    run.epoch_end(0, progress=0.5)
    state = run.state_dict()
    assert pickle.loads(pickle.dumps(state)) == state

    resumed = run_of(rig.tracker)
    assert resumed.load_state_dict(state) is True
    assert resumed.totals.energy_kwh == pytest.approx(run.totals.energy_kwh)
    assert resumed.totals.epochs == 1


def test_state_counts_the_open_epoch_so_far(rig):
    # A checkpoint saved mid-epoch must carry what was measured up to it.
    run = run_of(rig.tracker)
    run.start()
    run.open_epoch(0)
    rig.step(10)
    run.epoch_end(0, progress=0.5)
    rig.step(4)  # epoch 1 is open: 4 s measured so far
    state = run.state_dict()
    assert state["energy_kwh_total"] == pytest.approx(14 * TOTAL_W / 3.6e6)
    assert state["epochs"] == 1
    assert run.totals.energy_kwh == pytest.approx(10 * TOTAL_W / 3.6e6)  # reading does not close the epoch
    run.epoch_end(1, progress=1.0)
    assert run.totals.energy_kwh == pytest.approx(14 * TOTAL_W / 3.6e6)


def test_state_from_another_version_warns_and_starts_new_totals(rig):
    run = run_of(rig.tracker)
    with pytest.warns(RuntimeWarning, match="another wattprint version"):
        assert run.load_state_dict({"version": 99}) is False
    assert run.totals.energy_kwh == 0.0
    with pytest.raises(ConfigError, match="another wattprint version"):
        run_of(rig.tracker, on_error="raise").load_state_dict({"version": 99})


def test_tracker_must_be_a_wattprint_tracker():
    with pytest.raises(ConfigError, match="tracker= must be a wattprint.Tracker, got str"):
        run_of("x")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"on_error": "ignore"}, "on_error"),
        ({"prefix": 3}, "prefix"),
        ({"country": "FR"}, "country="),
        ({"pue": 1.2, "scope": "process"}, "pue=, scope="),
        ({"output_file": "x.csv"}, "output_file="),
        # Passing a default explicitly still passes it: the tracker's own setting would be ignored.
        ({"project_name": "wattprint"}, "project_name="),
        ({"pue": 1.0}, "pue="),
    ],
)
def test_bad_settings_fail_at_construction(rig, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        run_of(rig.tracker, **kwargs)


def test_own_tracker_is_validated_at_construction(tmp_path):
    with pytest.raises(CarbonDataError):
        run_of(country="Atlantis", output_file=None)
    with pytest.raises(ConfigError, match="pue"):
        run_of(country="FR", pue=0.5, output_file=None)
    run = run_of(country="FR", pue=1.3, scope="process", output_file=tmp_path / "e.csv")
    assert run.tracker.pue == 1.3 and run.tracker.scope == "process"


def test_own_tracker_is_rebuilt_when_pickled_and_per_training():
    run = run_of(country="FR", output_file=None)
    clone = pickle.loads(pickle.dumps(run))
    assert clone.tracker is None  # rebuilt from the settings where training starts
    first = run.tracker
    run.start()
    assert run.tracker is first  # the one built at construction serves the first training
    run.end()
    run.start(measure_host=not first.measure_host)
    assert run.tracker is not first and run.tracker.measure_host is not first.measure_host
    run.end()
    assert not first.running and not run.tracker.running


def test_the_ranks_share_rank_0s_run_id_so_rows_each_rank_writes_alone_are_one_run(make_rig, tmp_path):
    # A training that fails calls no collective: each rank writes its own interrupted rows. The
    # run id agreed at the start makes them one run's processes to `wattprint report`.
    from wattprint.core.rankvector import encode_run_id
    from wattprint.report import load_file, summarise

    path = tmp_path / "job.csv"
    rig0, rig1 = make_rig("unused0.csv"), make_rig("unused1.csv")
    from wattprint import Tracker

    def tracker(rig):
        return Tracker("tests", sensors=rig.sensors, clock=rig.clock, intensity=rig.tracker.intensity_source,
                       output_file=path)

    run0, run1 = run_of(tracker(rig0)), run_of(tracker(rig1))
    run0.start(ranks=RankInfo(0, 0, 2), gather=lambda v: [v, [0.0] * 4])
    rank0_id = run0.tracker.run_id
    run1.start(ranks=RankInfo(1, 1, 2), gather=lambda v: [encode_run_id(rank0_id), v])
    assert run1.tracker.run_id == rank0_id
    for run, rig, seconds in ((run0, rig0, 10), (run1, rig1, 4)):
        run.open_epoch(0)
        rig.step(seconds)
        run.fail()
    (job,) = summarise(load_file(path)).runs
    assert job.run_id == rank0_id and job.processes == 2 and job.total.interrupted
    assert job.total.duration_s == 10  # side by side: as long as the longest rank
    assert job.total.energy_kwh == pytest.approx(kwh(14))
