"""One merge for figures measured side by side: the callbacks' sum over ranks and ``wattprint report`` agree."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattprint.core.measurement import DOMAINS, METHODS
from wattprint.core.merge import Total, combine
from wattprint.core.rankvector import combine_vectors, encode
from wattprint.core.record import EnergyRecord
from wattprint.core.sinks import CsvSink
from wattprint.report import load_file, summarise

_nonneg = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def rank_figures(draw):
    domains = draw(st.lists(st.sampled_from(DOMAINS), min_size=1, unique=True))
    return {
        "duration_s": draw(_nonneg),
        "energy_kwh_by_domain": {d: draw(_nonneg) for d in domains},
        "method_by_domain": {d: draw(st.sampled_from(METHODS)) for d in domains},
        "failed_domains": tuple(draw(st.lists(st.sampled_from(domains), unique=True))),
        "pue": draw(st.floats(1.0, 2.0)),
        "intensity_g_per_kwh": draw(st.floats(0, 1000)),
        "electricity_price": draw(st.one_of(st.none(), st.floats(0, 1))),
        "interrupted": draw(st.booleans()),
    }


def _records(figures, window):
    return [
        EnergyRecord(run_id="job", project_name="ddp", window=window, index=0 if window == "epoch" else None,
                     rank=rank, local_rank=rank % 2, world_size=len(figures), host=f"node{rank // 2}", **f)
        for rank, f in enumerate(figures)
    ]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(figures=st.lists(rank_figures(), min_size=1, max_size=6), window=st.sampled_from(["epoch", "run"]))
def test_the_callbacks_sum_over_ranks_equals_the_reports_sum_of_their_rows(tmp_path, figures, window):
    records = _records(figures, window)
    # The callbacks: each rank's figures through the collective's vector, summed on every rank.
    by_callbacks = combine_vectors([encode(Total.of(r)) for r in records])
    # The report: each rank's row written by the sink, read back and summed by `wattprint report`.
    path = tmp_path / f"{window}.csv"
    path.unlink(missing_ok=True)
    sink = CsvSink(path)
    for r in records:
        sink.write(r)
    (run,) = summarise(load_file(path)).runs
    by_report = run.epochs[0].totals if window == "epoch" else run.total
    assert run.processes == len(records)
    assert by_report == by_callbacks


def test_the_rules_energy_adds_weakest_method_wins_and_parallel_parts_last_as_the_longest():
    a = EnergyRecord(duration_s=10.0, energy_kwh_by_domain={"gpu": 1.0, "cpu": 0.5},
                     method_by_domain={"gpu": "counter", "cpu": "estimated"}, pue=1.5, intensity_g_per_kwh=100.0)
    b = EnergyRecord(duration_s=30.0, energy_kwh_by_domain={"gpu": 2.0}, method_by_domain={"gpu": "sampled"},
                     failed_domains=("gpu",), pue=1.0, intensity_g_per_kwh=400.0, interrupted=True)
    side_by_side = combine([a, b], parallel=True)
    one_after_another = combine([a, b])
    for total in (side_by_side, one_after_another):
        assert total.energy_kwh == 3.5 and total.energy_kwh_by_domain == {"cpu": 0.5, "gpu": 3.0}
        assert total.method_by_domain == {"cpu": "estimated", "gpu": "sampled"}
        assert total.failed_domains == ("gpu",) and total.interrupted and total.count == 2
        assert total.facility_kwh == pytest.approx(1.5 * 1.5 + 2.0)
        assert total.co2_kg == pytest.approx(a.co2_kg + b.co2_kg)
        assert total.intensity_g_per_kwh == pytest.approx(total.co2_kg * 1000 / total.facility_kwh)
        assert total.cost is None  # neither had a price
    assert side_by_side.duration_s == 30.0
    assert one_after_another.duration_s == 40.0
    assert side_by_side.power_w == pytest.approx(3.5 * 3.6e6 / 30.0)  # the job's energy over the time it took


def test_a_rank_that_measured_nothing_leaves_no_sum():
    ok = EnergyRecord(duration_s=1.0, energy_kwh_by_domain={"gpu": 1.0}, method_by_domain={"gpu": "counter"})
    assert combine_vectors([encode(Total.of(ok)), encode(None)]) is None
    assert combine_vectors([encode(Total.of(ok))]) == combine([ok], parallel=True)
