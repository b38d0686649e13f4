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


@st.composite
def parts(draw):
    """Figures of one part as Sums.add_figures takes them; -0.0 and unreported domains included."""
    domains = draw(st.lists(st.sampled_from([*DOMAINS, "npu"]), unique=True))
    figure = st.one_of(_nonneg, st.just(-0.0))
    return (draw(figure), draw(figure), draw(figure), draw(figure), draw(st.one_of(st.none(), figure)),
            {d: draw(figure) for d in domains},
            {d: draw(st.sampled_from([*METHODS, "", "other"])) for d in draw(st.lists(st.sampled_from(domains), unique=True))}
            if domains else {},
            tuple(draw(st.lists(st.sampled_from(domains), unique=True))) if domains else (), draw(st.booleans()),
            draw(st.integers(1, 3)))


def _same(a: Total, b: Total) -> None:
    assert a == b
    assert repr(a.as_dict()) == repr(b.as_dict())  # -0.0 and 0.0 are equal, but not written alike


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(parts(), min_size=1, max_size=4), min_size=1, max_size=5), st.booleans())
def test_the_sums_shortcuts_equal_adding_totals_one_by_one(groups, parallel):
    from wattprint.core.merge import Sums

    # A position opened with its first part (new_with) is new() then add_figures() of that part.
    one, other = Sums(parallel=parallel), Sums(parallel=parallel)
    for group in groups:
        i, j = one.new(), other.new_with(*group[0])
        one.add_figures(i, *group[0])
        for part in group[1:]:
            one.add_figures(i, *part)
            other.add_figures(j, *part)
        _same(one.total(i), other.total(j))
        assert one.as_dict(i) == one.total(i).as_dict() and repr(one.as_dict(i)) == repr(one.total(i).as_dict())
    positions = range(len(groups))
    assert list(one.dicts(positions)) == [one.total(i).as_dict() for i in positions]
    # The sum of positions, column by column, is combine() of their totals; add_sum is add() of one.
    _same(one.sum_of(list(positions)), combine(one.total(i) for i in positions))
    by_totals, by_sums = Sums(), Sums()
    k, m = by_totals.new(), by_sums.new()
    for i in positions:
        by_totals.add(k, one.total(i))
        by_sums.add_sum(m, one, i)
    _same(by_totals.total(k), by_sums.total(m))
