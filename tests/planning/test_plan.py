"""The plan's arithmetic on known forecast curves, its inputs, and the Python entry point."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wattprint
from tests.carbon.service import serving, uk_periods
from tests.cli.helpers import CPU_W, EPOCH_S, GPU_W, RAM_W, TAIL_S, write_tracker_csv
from wattprint.core.carbon.forecast import (
    Forecast,
    ForecastUnavailable,
    Period,
    Segment,
)
from wattprint.core.carbon.forecast.curve import cheapest_start
from wattprint.core.carbon.forecast.uk import UKForecast
from wattprint.core.errors import ConfigError
from wattprint.planner import (
    best_start,
    parse_deadline,
    parse_duration,
    profile_from_csv,
)
from wattprint.testing import FakeClock

H = 3600.0
NOW = 1_768_899_600.0  # 2026-01-20 09:00:00 UTC, on a period edge


def hourly(values, start=NOW):
    return Forecast.of([Period(start + i * H, start + (i + 1) * H, float(g)) for i, g in enumerate(values)],
                       key="GB", name="Great Britain", source="test curve", basis="direct")


def flat(hours, kw=1.0):
    return [Segment(0.0, hours * H, kw * hours)]


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_best_window_on_a_known_curve():
    # 2 h at 1 kW: start 0 h -> 300+200 = 500 g; 1 h -> 300; 2 h -> 200; 3 h -> 350.
    plan = best_start(hourly([300, 200, 100, 100, 250, 400]), flat(2), NOW, NOW + 5 * H)
    assert plan.start == NOW + 2 * H and plan.end == NOW + 4 * H
    assert plan.energy_kwh == 2.0
    assert (plan.g_per_kwh_now, plan.g_per_kwh_start) == (250.0, 100.0)
    assert (plan.co2_kg_now, plan.co2_kg_start, plan.saving_kg) == (0.5, 0.2, 0.3)
    assert plan.saving_fraction == 0.6
    assert plan.wait_s == 2 * H and plan.planned and not plan.notes


def test_the_deadline_is_respected():
    # Must end by 3.5 h: the latest start is 1.5 h: 0.5 x 200 + 100 + 0.5 x 100 = 250 g.
    plan = best_start(hourly([300, 200, 100, 100, 250, 400]), flat(2), NOW, NOW + 3.5 * H)
    assert plan.start == NOW + 1.5 * H
    assert plan.co2_kg_start == 0.25 and plan.end <= plan.deadline
    assert plan.start_time == datetime(2026, 1, 20, 10, 30, tzinfo=timezone.utc)
    assert plan.deadline_time == datetime(2026, 1, 20, 12, 30, tzinfo=timezone.utc)


def test_ties_go_to_the_earlier_start():
    plan = best_start(hourly([300, 100, 100, 100, 300]), flat(1), NOW, NOW + 5 * H)
    assert plan.start == NOW + H and plan.co2_kg_start == 0.1


def test_nothing_better_than_now_means_now():
    plan = best_start(hourly([50, 100, 200, 300]), flat(1), NOW, NOW + 4 * H)
    assert plan.start == NOW and plan.saving_kg == 0.0


def test_an_uneven_profile_puts_its_heavy_part_on_the_clean_hours():
    # 3 kWh in the first hour, 1 kWh in the second. Start 0: 3x400 + 1x100 = 1300 g;
    # start 1 h: 3x100 + 1x400 = 700 g; start 2 h: 1300 g again.
    profile = [Segment(0.0, H, 3.0), Segment(H, H, 1.0)]
    plan = best_start(hourly([400, 100, 400, 100]), profile, NOW, NOW + 4 * H)
    assert plan.start == NOW + H and plan.co2_kg_start == 0.7 and plan.co2_kg_now == 1.3


def test_a_start_between_period_edges_is_found():
    # 1.5 h at 1 kW: starting on an edge at 2 h gives 100 + 0.5 x 20 = 110 g; ending on the edge
    # at 4 h (start 2.5 h) gives 0.5 x 100 + 20 = 70 g, the least.
    plan = best_start(hourly([500, 500, 100, 20, 900]), flat(1.5), NOW, NOW + 5 * H)
    assert plan.start == NOW + 2.5 * H
    assert plan.co2_kg_start == pytest.approx(0.070)


def test_forecast_shorter_than_the_deadline_is_said():
    plan = best_start(hourly([300, 200, 100]), flat(1), NOW, NOW + 10 * H)
    assert plan.start == NOW + 2 * H
    assert "the forecast ends at 2026-01-20 12:00" in plan.notes[0]


def test_a_forecast_that_starts_soon_holds_from_now():
    fc = hourly([200, 100], start=NOW + 1200)
    plan = best_start(fc, flat(1), NOW, NOW + 3 * H)
    assert plan.g_per_kwh_now == pytest.approx((200 * 1.0) / 1.0)
    with pytest.raises(ForecastUnavailable, match="does not hold"):
        best_start(hourly([100], start=NOW + 2 * H), flat(1), NOW, NOW + 4 * H)


def test_deadline_shorter_than_the_job():
    with pytest.raises(ConfigError, match="takes 2 h"):
        best_start(hourly([1, 1, 1]), flat(2), NOW, NOW + H)


def test_scheduler_forms_in_local_time():
    plan = best_start(hourly([300, 200, 100, 100]), flat(1), NOW, NOW + 4 * H)
    assert plan.slurm_begin == "--begin=2026-01-20T11:00:00"
    assert plan.at_command == "at -t 202601201100.00"
    data = plan.as_dict()
    assert data["start"] == "2026-01-20T11:00:00+00:00" and data["saving_kg"] == pytest.approx(0.2)


@pytest.mark.parametrize("text, seconds", [("90m", 5400), ("1h30m", 5400), ("2.5h", 9000), ("1d", 86400),
                                           ("45s", 45), ("2 h", 7200), (600, 600),
                                           (timedelta(hours=1, minutes=30), 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["90", "h", "-1h", "1x", "", "0m"])
def test_bad_durations(text):
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(text)


def test_deadlines():
    assert parse_deadline("12h", NOW) == NOW + 12 * H
    assert parse_deadline("2026-01-20T18:00", NOW) == NOW + 9 * H
    assert parse_deadline("2026-01-20T18:00+01:00", NOW) == NOW + 8 * H
    assert parse_deadline(timedelta(hours=2), NOW) == NOW + 2 * H
    assert parse_deadline(datetime(2026, 1, 20, 12, tzinfo=timezone.utc), NOW) == NOW + 3 * H
    with pytest.raises(ConfigError, match="has passed"):
        parse_deadline("2026-01-19T18:00", NOW)


def test_profile_of_a_previous_run(tmp_path):
    path = tmp_path / "wattprint.csv"
    write_tracker_csv(path, epochs=3, pue=1.5)
    profile, label = profile_from_csv(str(path))
    kw = (CPU_W + GPU_W + RAM_W) * 1.5 / 1000
    assert [s.offset_s for s in profile] == [0.0, EPOCH_S, 2 * EPOCH_S, 3 * EPOCH_S]
    assert [s.duration_s for s in profile] == [EPOCH_S] * 3 + [TAIL_S]
    for seg in profile:
        assert seg.kwh == pytest.approx(kw * seg.duration_s / H)
    assert label.startswith("run ") and "resnet" in label
    with pytest.raises(ConfigError, match="matches 0 runs"):
        profile_from_csv(str(path), run="zzz")


@pytest.fixture
def uk_service():
    with serving() as svc:
        start = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(NOW))
        periods = uk_periods(NOW, [250, 180, 60, 90, 300, 300])
        svc.set(f"/intensity/{start}/fw48h", {"data": periods})
        yield svc


def test_plan_function_end_to_end(uk_service):
    provider = UKForecast(base_url=uk_service.url, clock=FakeClock(wall_start=NOW), environ={})
    plan = wattprint.plan(duration="1h", power_w=500, pue=1.2, country="GB", deadline="3h",
                          forecast=provider, now=NOW, environ={})
    assert isinstance(plan, wattprint.Plan)
    # 0.6 kW facility power; the 1 h windows: 0 h 215 g/kWh, 0.5 h 120, 1 h 75, 1.5 h 195, 2 h 300.
    assert plan.start == NOW + H
    assert plan.energy_kwh == pytest.approx(0.6)
    assert plan.g_per_kwh_now == pytest.approx(215.0) and plan.g_per_kwh_start == pytest.approx(75.0)
    assert plan.saving_kg == pytest.approx(0.6 * 140 / 1000)
    assert "Great Britain" in plan.source and plan.basis == "direct"


def test_plan_without_a_forecast_starts_now_and_says_why():
    plan = wattprint.plan(duration="1h", power_w=100, country="FR", deadline="6h", now=NOW, environ={})
    assert not plan.planned and plan.start == NOW and plan.saving_kg == 0.0
    assert "ELECTRICITYMAPS_TOKEN" in plan.reason
    assert plan.co2_kg_now == pytest.approx(0.1 * wattprint.core.carbon.lookup("FR").g_per_kwh / 1000)


def test_plan_with_a_provider_down_starts_now(uk_service):
    provider = UKForecast(base_url=uk_service.url + "/down", clock=FakeClock(wall_start=NOW), environ={})
    plan = wattprint.plan(duration="1h", country="GB", forecast=provider, now=NOW, environ={})
    assert not plan.planned and "HTTP 404" in plan.reason
    assert plan.energy_kwh is None and plan.saving_kg is None


def test_plan_argument_errors(tmp_path):
    with pytest.raises(ConfigError, match="duration="):
        wattprint.plan(country="GB", environ={})
    with pytest.raises(ConfigError, match="not both"):
        wattprint.plan(duration="1h", from_csv=str(tmp_path / "x.csv"), environ={})
    with pytest.raises(ConfigError, match="deadline= is 1 h away but the job takes 2 h"):
        wattprint.plan(duration="2h", deadline="1h", country="GB", environ={})
    with pytest.raises(ConfigError, match="power_w="):
        wattprint.plan(duration="2h", power_w=-3, country="GB", environ={})


def brute_force(fc, profile, earliest, latest):
    """Every start where a segment edge meets a forecast edge, evaluated one by one."""
    offsets = {0.0} | {s.offset_s for s in profile} | {s.offset_s + s.duration_s for s in profile}
    starts = {earliest, latest} | {p.start - x for p in fc.periods for x in offsets} | {fc.end - x for x in offsets}
    grams = {t: fc.grams(t, profile) for t in sorted(starts) if earliest <= t <= latest}
    least = min(grams.values())
    return min(t for t, g in grams.items() if g <= least + 1e-9 * max(1.0, least)), least


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.integers(0, 600), min_size=2, max_size=12),
       segments=st.lists(st.tuples(st.integers(1, 7), st.integers(0, 5)), min_size=1, max_size=4),
       slack=st.integers(0, 12))
def test_the_sweep_finds_what_trying_every_start_finds(values, segments, slack):
    step = 1800.0
    fc = Forecast.of([Period(NOW + i * step, NOW + (i + 1) * step, float(g)) for i, g in enumerate(values)],
                     key="x", name="x", source="x")
    profile, offset = [], 0.0
    for quarters, kwh in segments:  # durations in quarter hours: edges fall between forecast edges too
        profile.append(Segment(offset, quarters * 900.0, float(kwh)))
        offset += quarters * 900.0
    if offset > fc.end - NOW or sum(s.kwh for s in profile) == 0:
        return
    latest = min(NOW + slack * 900.0, fc.end - offset)
    start = cheapest_start(fc, profile, NOW, latest)
    expected_start, expected_grams = brute_force(fc, profile, NOW, latest)
    assert fc.grams(start, profile) == pytest.approx(expected_grams, rel=1e-9, abs=1e-9)
    assert start == expected_start


def test_a_long_profile_on_a_fine_forecast_is_planned_quickly():
    """72 h of 5-minute steps and a 100-epoch run: about 86,000 candidate starts, one sweep."""
    import random

    rng = random.Random(7)
    fc = Forecast.of([Period(NOW + i * 300, NOW + (i + 1) * 300, rng.uniform(100, 500)) for i in range(864)],
                     key="x", name="x", source="x")
    profile, offset = [], 0.0
    for _ in range(100):
        d = rng.uniform(500, 700)
        profile.append(Segment(offset, d, rng.uniform(0.1, 0.2)))
        offset += d
    plan = best_start(fc, profile, NOW, fc.end)
    assert plan.g_per_kwh_start <= plan.g_per_kwh_now
    assert plan.end <= fc.end
