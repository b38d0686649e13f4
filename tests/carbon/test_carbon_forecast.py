"""Forecast providers against a loopback server speaking each service's documented format:
normal, empty, malformed, slow, and 401/429/500 answers."""

from __future__ import annotations

import time

import pytest

from tests.carbon.conftest import WALL_START
from tests.carbon.service import uk_periods as service_periods
from wattprint.core.carbon.forecast import ForecastUnavailable, forecaster_for
from wattprint.core.carbon.forecast.curve import parse_utc
from wattprint.core.carbon.forecast.electricitymaps import ElectricityMapsForecast
from wattprint.core.carbon.forecast.energidataservice import EnergiDataServiceForecast
from wattprint.core.carbon.forecast.uk import UKForecast
from wattprint.core.carbon.forecast.watttime import WattTimeForecast
from wattprint.core.errors import ConfigError

TOKEN = "tok-SECRET-3141"
PASSWORD = "pw-SECRET-2718"
NOW = WALL_START  # 2026-01-20 09:23:20 UTC, the clock fixture's time


def uk_periods(values, first="2026-01-20T09:00Z"):
    return service_periods(parse_utc(first), values)


def uk(service, clock, **kwargs):
    return forecaster_for(UKForecast(base_url=service.url, clock=clock, timeout_s=0.5, environ={}, **kwargs),
                          country="GB", environ={}, timezone="").provider


# -- UK ----------------------------------------------------------------------------------------

def test_uk_national_forecast(service, clock):
    service.set("/intensity/2026-01-20T09:00Z/fw48h", {"data": uk_periods([200, 150, 90])})
    fc = uk(service, clock).forecast(3600)
    assert [(p.start, p.end, p.g_per_kwh) for p in fc.periods] == [
        (parse_utc("2026-01-20T09:00Z") + 1800 * i, parse_utc("2026-01-20T09:30Z") + 1800 * i, g)
        for i, g in enumerate([200.0, 150.0, 90.0])]
    assert (fc.key, fc.basis, fc.signal) == ("GB", "direct", "average")
    assert "Great Britain" in fc.source


def test_uk_regional_forecast_by_region_and_postcode(service, clock):
    block = {"regionid": 13, "dnoregion": "UKPN London", "shortname": "London", "data": [
        {**p, "generationmix": [{"fuel": "wind", "perc": 40.0}]} for p in uk_periods([120, 80])]}
    service.set("/regional/intensity/2026-01-20T09:00Z/fw48h/regionid/13", {"data": block})
    service.set("/regional/intensity/2026-01-20T09:00Z/fw48h/postcode/RG10", {"data": [{**block, "postcode": "RG10"}]})
    by_id = uk(service, clock, region_id=13).forecast(3600)
    by_code = uk(service, clock, postcode="rg10").forecast(3600)
    assert [p.g_per_kwh for p in by_id.periods] == [p.g_per_kwh for p in by_code.periods] == [120.0, 80.0]
    assert "London" in by_id.source


@pytest.mark.parametrize("body, reason", [
    ({"data": []}, "no periods"),
    ({"data": [{"from": "2026-01-20T09:00Z"}]}, "unexpected response"),
    ({"error": {"code": "400", "message": "bad"}}, "unexpected response"),
    (b"<html>not json", "malformed JSON"),
    ({"data": uk_periods(["high"])}, "not a number"),
    ({"data": uk_periods([-5])}, "out of range"),
])
def test_uk_empty_and_malformed_answers(service, clock, body, reason):
    service.set("/intensity/2026-01-20T09:00Z/fw48h", body)
    with pytest.raises(ForecastUnavailable, match=reason):
        uk(service, clock).forecast(3600)


@pytest.mark.parametrize("status, reason", [(401, "HTTP 401"), (429, "HTTP 429"), (500, "HTTP 500")])
def test_uk_http_errors_and_backoff(service, clock, status, reason):
    service.set("/intensity/2026-01-20T09:00Z/fw48h", {"error": "no"}, status=status)
    provider = uk(service, clock)
    with pytest.raises(ForecastUnavailable, match=f"uk forecast unavailable: GET .*{reason}"):
        provider.forecast(3600)
    with pytest.raises(ForecastUnavailable, match=reason):  # the same reason, without asking again
        provider.forecast(3600)
    assert len(service.requests) == 1
    service.set("/intensity/2026-01-20T09:00Z/fw48h", {"data": uk_periods([100])})
    clock.advance(31.0)
    if status == 401:  # a rejected request is not repeated for an hour
        with pytest.raises(ForecastUnavailable, match=reason):
            provider.forecast(1800)
    else:
        assert provider.forecast(1800).periods[0].g_per_kwh == 100.0


def test_uk_retry_after_is_honoured(service, clock):
    service.set("/intensity/2026-01-20T09:00Z/fw48h", {}, status=429, headers={"Retry-After": "120"})
    provider = uk(service, clock)
    with pytest.raises(ForecastUnavailable):
        provider.forecast(3600)
    clock.advance(100.0)
    with pytest.raises(ForecastUnavailable):
        provider.forecast(3600)
    assert len(service.requests) == 1


def test_uk_slow_service_times_out(service, clock):
    service.set("/intensity/2026-01-20T09:00Z/fw48h", {"data": uk_periods([100])}, delay_s=5.0)
    with pytest.raises(ForecastUnavailable, match="no response within 0.5 s"):
        uk(service, clock).forecast(3600)


def test_uk_forecast_is_cached(service, clock):
    service.set("/intensity/2026-01-20T09:00Z/fw48h", {"data": uk_periods([100] * 10)})
    provider = uk(service, clock)
    assert provider.forecast(3600) is provider.forecast(3600)
    assert len(service.requests) == 1


def test_uk_refuses_other_locations():
    with pytest.raises(ConfigError, match="Great Britain only"):
        forecaster_for("uk", country="FR", environ={}, timezone="")


# -- Energi Data Service -----------------------------------------------------------------------

def eds_records(values, area="DK1", first="2026-01-20T09:20:00"):
    t0 = parse_utc(first)
    return [{"Minutes5UTC": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + 300 * i)),
             "Minutes5DK": "x", "PriceArea": area, "CO2Emission": v} for i, v in enumerate(values)]


def eds(service, clock, region="DK-DK1"):
    return forecaster_for(EnergiDataServiceForecast(base_url=service.url, clock=clock, timeout_s=0.5, environ={}),
                          region=region, environ={}, timezone="").provider


def test_energidataservice_prognosis(service, clock):
    service.set("/dataset/CO2EmisProg", {"total": 3, "limit": 15, "dataset": "CO2EmisProg",
                                         "records": eds_records([160.0, 150.0, 140.0])})
    fc = eds(service, clock).forecast(3600)
    assert [p.g_per_kwh for p in fc.periods] == [160.0, 150.0, 140.0]
    assert fc.periods[0].start == parse_utc("2026-01-20T09:20:00Z") and fc.periods[0].end - fc.periods[0].start == 300
    query = service.requests[0]["query"]
    assert query["filter"] == '{"PriceArea":["DK1"]}' and query["start"] == "2026-01-20T09:20"
    assert query["sort"] == "Minutes5UTC ASC"
    assert fc.key == "DK-DK1"


@pytest.mark.parametrize("body, reason", [
    ({"records": []}, "no periods"),
    ({"total": 0}, "unexpected response"),
    ({"records": eds_records([160.0], area="DK2")}, "record for 'DK2'"),
    ({"records": [{"Minutes5UTC": "yesterday", "PriceArea": "DK1", "CO2Emission": 1.0}]}, "unexpected response"),
])
def test_energidataservice_empty_and_malformed(service, clock, body, reason):
    service.set("/dataset/CO2EmisProg", body)
    with pytest.raises(ForecastUnavailable, match=reason):
        eds(service, clock).forecast(3600)


@pytest.mark.parametrize("status", [401, 429, 500])
def test_energidataservice_http_errors(service, clock, status):
    service.set("/dataset/CO2EmisProg", {"error": "x"}, status=status)
    with pytest.raises(ForecastUnavailable, match=f"HTTP {status}"):
        eds(service, clock).forecast(3600)


def test_energidataservice_slow(service, clock):
    service.set("/dataset/CO2EmisProg", {"records": eds_records([1.0])}, stall_body_s=5.0)
    with pytest.raises(ForecastUnavailable, match="within 0.5 s"):
        eds(service, clock).forecast(3600)


def test_denmark_needs_a_price_area():
    choice = forecaster_for(country="DK", environ={}, timezone="")
    assert choice.provider is None and "DK-DK1" in choice.reason


# -- Electricity Maps --------------------------------------------------------------------------

EM_FORECAST = {"zone": "DE", "forecast": [
    {"carbonIntensity": 320, "datetime": "2026-01-20T10:00:00.000Z"},
    {"carbonIntensity": 280, "datetime": "2026-01-20T11:00:00.000Z"},
    {"carbonIntensity": 250.5, "datetime": "2026-01-20T12:00:00.000Z"},
], "updatedAt": "2026-01-20T09:05:00.000Z"}


def em(service, clock, **loc):
    provider = ElectricityMapsForecast(token=TOKEN, base_url=service.url, clock=clock, timeout_s=0.5, environ={})
    return forecaster_for(provider, environ={}, timezone="", **(loc or {"country": "DE"})).provider


def test_electricitymaps_forecast(service, clock):
    service.set("/v3/carbon-intensity/forecast", EM_FORECAST)
    fc = em(service, clock).forecast(6 * 3600)
    assert [(p.start, p.end, p.g_per_kwh) for p in fc.periods] == [
        (parse_utc("2026-01-20T10:00Z"), parse_utc("2026-01-20T11:00Z"), 320.0),
        (parse_utc("2026-01-20T11:00Z"), parse_utc("2026-01-20T12:00Z"), 280.0),
        (parse_utc("2026-01-20T12:00Z"), parse_utc("2026-01-20T13:00Z"), 250.5)]
    (request,) = service.requests
    assert request["headers"]["auth-token"] == TOKEN
    assert request["query"] == {"zone": "DE", "emissionFactorType": "lifecycle", "horizonHours": "6"}
    assert fc.basis == "lifecycle" and fc.key == "DE"


def test_electricitymaps_forecast_for_a_cloud_region(service, clock):
    service.set("/v3/carbon-intensity/forecast", EM_FORECAST)
    em(service, clock, cloud="gcp:europe-west1").forecast(30 * 3600)
    query = service.requests[0]["query"]
    assert query["dataCenterProvider"] == "gcp" and query["horizonHours"] == "48"


@pytest.mark.parametrize("status, body, reason", [
    (200, {"zone": "DE", "forecast": []}, "no periods"),
    (200, {"zone": "DE"}, "unexpected response"),
    (200, {"forecast": [{"carbonIntensity": None, "datetime": "2026-01-20T10:00:00Z"}]}, "not a number"),
    (401, {"error": "bad token"}, "HTTP 401.*ELECTRICITYMAPS_TOKEN"),
    (429, {"status": "error"}, "HTTP 429"),
    (500, {"status": "error"}, "HTTP 500"),
])
def test_electricitymaps_errors_never_show_the_token(service, clock, status, body, reason):
    service.set("/v3/carbon-intensity/forecast", body, status=status)
    with pytest.raises(ForecastUnavailable, match=reason) as caught:
        em(service, clock).forecast(3600)
    assert TOKEN not in str(caught.value)


def test_electricitymaps_slow(service, clock):
    service.set("/v3/carbon-intensity/forecast", EM_FORECAST, dribble_s=0.2)
    with pytest.raises(ForecastUnavailable, match="0.5 s"):
        em(service, clock).forecast(3600)


def test_electricitymaps_chosen_when_its_token_is_set():
    env = {"ELECTRICITYMAPS_TOKEN": TOKEN}
    choice = forecaster_for(country="DE", environ=env, timezone="")
    assert isinstance(choice.provider, ElectricityMapsForecast) and TOKEN not in repr(choice.provider)
    assert forecaster_for(country="DE", environ={}, timezone="").provider is None


# -- WattTime ----------------------------------------------------------------------------------

WT_FORECAST = {"data": [
    {"point_time": "2026-01-20T09:20:00+00:00", "value": 1000.0},
    {"point_time": "2026-01-20T09:25:00+00:00", "value": 800.0},
], "meta": {"data_point_period_seconds": 300, "region": "CAISO_NORTH", "warnings": [],
            "signal_type": "co2_moer", "model": {"date": "2023-03-01"}, "units": "lbs_co2_per_mwh",
            "generated_at_period_seconds": 300, "generated_at": "2026-01-20T09:20:00+00:00"}}


def wt(service, clock):
    provider = WattTimeForecast(region="CAISO_NORTH", username="me", password=PASSWORD, base_url=service.url,
                                clock=clock, timeout_s=0.5, environ={})
    return forecaster_for(provider, region="US-CAL-CISO", environ={}, timezone="").provider


def test_watttime_forecast_in_grams_and_marked_marginal(service, clock):
    service.set("/login", {"token": "jwt-1"})
    service.set("/v3/forecast", WT_FORECAST)
    fc = wt(service, clock).forecast(7200)
    assert [p.g_per_kwh for p in fc.periods] == [pytest.approx(453.59237), pytest.approx(362.873896)]
    assert fc.signal == "marginal"
    request = service.hits("/v3/forecast")[0]
    assert request["headers"]["authorization"] == "Bearer jwt-1"
    assert request["query"] == {"region": "CAISO_NORTH", "signal_type": "co2_moer", "horizon_hours": "2"}


@pytest.mark.parametrize("status, body, reason", [
    (200, {"data": [], "meta": WT_FORECAST["meta"]}, "no periods"),
    (200, {"data": WT_FORECAST["data"], "meta": {"units": "percentile"}}, "unsupported units"),
    (200, {"data": [{"point_time": 5, "value": 1.0}], "meta": WT_FORECAST["meta"]}, "unexpected response"),
    (401, {"error": "no"}, "HTTP 401.*WATTTIME_USERNAME"),
    (429, {"error": "slow down"}, "HTTP 429"),
    (500, {"error": "down"}, "HTTP 500"),
])
def test_watttime_errors_never_show_the_password(service, clock, status, body, reason):
    service.set("/login", {"token": "jwt-1"})
    service.set("/v3/forecast", body, status=status)
    with pytest.raises(ForecastUnavailable, match=reason) as caught:
        wt(service, clock).forecast(3600)
    assert PASSWORD not in str(caught.value)
    if status == 401:  # one fresh login, then the reason
        assert len(service.hits("/login")) == 2


def test_watttime_slow_login(service, clock):
    service.set("/login", {"token": "jwt-1"}, delay_s=5.0)
    with pytest.raises(ForecastUnavailable, match="0.5 s"):
        wt(service, clock).forecast(3600)


def test_plain_http_to_a_remote_host_is_refused():
    with pytest.raises(ConfigError, match="https"):
        UKForecast(base_url="http://example.com", environ={})
