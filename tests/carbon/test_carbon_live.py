"""Live providers against a real HTTP server on 127.0.0.1 serving the documented shapes."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace

import pytest

from wattprint.core.carbon import lookup, resolve_source
from wattprint.core.carbon.live import (
    ElectricityMaps,
    EnergiDataService,
    UKCarbonIntensity,
    WattTime,
    make_provider,
)
from wattprint.core.carbon.live._http import check_base_url, get_json
from wattprint.core.carbon.live.base import AUTH_BACKOFF_S, BACKOFF_START_S, LiveError
from wattprint.core.errors import ConfigError


def fell_back(reading, bundled) -> bool:
    """``reading`` is the bundled figure, labelled as the fallback of a live source that failed."""
    return (
        replace(reading, located_by=bundled.located_by) == bundled
        and reading.located_by.endswith("unavailable: bundled figure)")
    )

TOKEN = "tok-SECRET-3141"
PASSWORD = "pw-SECRET-2718"
LIVE_LOGGER = "wattprint.core.carbon.live"


def live_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith(LIVE_LOGGER) and r.levelno >= logging.WARNING]


EM_LATEST_V3 = {
    "zone": "DE", "carbonIntensity": 302.0, "datetime": "2025-11-21T19:00:00.000Z",
    "updatedAt": "2025-11-21T19:09:54.950Z", "createdAt": "2025-11-18T19:12:01.319Z",
    "emissionFactorType": "lifecycle", "isEstimated": True,
    "estimationMethod": "TIME_SLICER_AVERAGE", "temporalGranularity": "hourly",
}
EM_LATEST_V4 = {
    "zone": "DE", "carbonIntensity": 287.5, "datetime": "2026-03-01T10:00:00.000Z",
    "updatedAt": "2026-03-01T10:02:00.000Z", "isEstimated": False, "estimationMethod": None,
    "flowTraced": True, "emissionFactorType": "lifecycle", "temporalGranularity": "hourly",
}


def em_source(service, clock, country="DE", **kwargs):
    provider = ElectricityMaps(token=TOKEN, base_url=service.url, clock=clock, timeout_s=0.5,
                               environ={}, **kwargs)
    return resolve_source(country=country, live=provider, environ={}, timezone="")


# -- Electricity Maps -----------------------------------------------------------------------------

def test_electricitymaps_v3_latest(service, clock):
    service.set("/v3/carbon-intensity/latest", EM_LATEST_V3)
    source = em_source(service, clock)
    reading = source.current()
    assert reading.g_per_kwh == 302.0
    assert (reading.key, reading.name, reading.basis) == ("DE", "Germany", "lifecycle")
    assert reading.located_by == "live:electricitymaps"
    assert reading.year is None
    assert "Electricity Maps live" in reading.source and "estimated" in reading.source
    (request,) = service.requests
    assert request["headers"]["auth-token"] == TOKEN
    assert request["query"] == {"zone": "DE", "emissionFactorType": "lifecycle",
                                "disableCallerLookup": "true"}
    assert source.refresh_s == 900.0


def test_electricitymaps_v4_shape_and_direct_factors(service, clock):
    service.set("/v4/carbon-intensity/latest", {**EM_LATEST_V4, "emissionFactorType": "direct"})
    reading = em_source(service, clock, api_version="v4", emission_factor_type="direct").current()
    assert (reading.g_per_kwh, reading.basis) == (287.5, "direct")
    assert service.requests[0]["query"]["emissionFactorType"] == "direct"
    assert "estimated" not in reading.source


@pytest.mark.parametrize("kwargs, query", [
    ({"region": "SE-SE3"}, {"zone": "SE-SE3"}),
    ({"cloud": "aws:us-east-1"}, {"zone": "US-MIDA-PJM"}),
    ({"cloud": "gcp:europe-west1"}, {"dataCenterProvider": "gcp", "dataCenterRegion": "europe-west1"}),
])
def test_electricitymaps_zone_from_location(service, clock, kwargs, query):
    service.set("/v3/carbon-intensity/latest", EM_LATEST_V3)
    provider = ElectricityMaps(token=TOKEN, base_url=service.url, clock=clock, environ={})
    source = resolve_source(live=provider, environ={}, timezone="", **kwargs)
    assert source.current().key == lookup(next(iter(kwargs.values()))).key
    sent = service.requests[0]["query"]
    assert {k: sent[k] for k in query} == query


def test_electricitymaps_explicit_zone_supplies_its_own_fallback(service, clock):
    provider = ElectricityMaps("SE-SE1", token=TOKEN, base_url=service.url, clock=clock, environ={})
    source = resolve_source(live=provider, environ={}, timezone="")  # no location: no warning needed
    assert fell_back(source.current(), lookup("SE-SE1"))  # 404 from the fake: the bundled SE-SE1 figure
    assert service.requests[0]["query"]["zone"] == "SE-SE1"


def test_electricitymaps_rejects_state_keys_and_missing_location(service, clock):
    provider = ElectricityMaps(token=TOKEN, base_url=service.url, environ={})
    with pytest.raises(ConfigError, match="not an Electricity Maps zone"):
        resolve_source(region="US-CA", live=provider, environ={}, timezone="")
    with pytest.raises(ConfigError, match="needs a location"):
        resolve_source(live=ElectricityMaps(token=TOKEN, environ={}), environ={}, timezone="")


def test_electricitymaps_token_from_environment_and_missing_token():
    provider = make_provider("electricitymaps", environ={"ELECTRICITYMAPS_TOKEN": TOKEN})
    assert TOKEN not in repr(provider) and TOKEN not in str(provider) and "***" in repr(provider)
    with pytest.raises(ConfigError, match="ELECTRICITYMAPS_TOKEN"):
        make_provider("electricitymaps", environ={})


def test_electricitymaps_url_from_environment(service, clock):
    service.set("/v3/carbon-intensity/latest", EM_LATEST_V3)
    env = {"ELECTRICITYMAPS_TOKEN": TOKEN, "WATTPRINT_ELECTRICITYMAPS_URL": service.url + "/"}
    source = resolve_source(country="DE", live="electricitymaps", environ=env, timezone="")
    assert source.base_url == service.url
    assert source.current().g_per_kwh == 302.0


FAILURES = [
    pytest.param({"status": 401, "body": {"error": "Invalid token"}}, id="401"),
    pytest.param({"status": 429, "body": {"error": "Too many requests"}}, id="429"),
    pytest.param({"status": 500, "body": b"<html>oops</html>"}, id="500"),
    pytest.param({"body": b'{"zone": "DE", "carbonIntensity": 3'}, id="malformed-json"),
    pytest.param({"body": {"zone": "DE", "carbonIntensity": None}}, id="null-value"),
    pytest.param({"body": {"zone": "DE", "carbonIntensity": "302"}}, id="string-value"),
    pytest.param({"body": [1, 2]}, id="not-an-object"),
    pytest.param({"body": EM_LATEST_V3, "delay_s": 5.0}, id="slow-headers"),
    pytest.param({"body": EM_LATEST_V3, "stall_body_s": 5.0}, id="stalled-body"),
]


@pytest.mark.parametrize("failure", FAILURES)
def test_electricitymaps_failures_fall_back_with_one_warning(service, clock, caplog, failure):
    service.set("/v3/carbon-intensity/latest", **failure)
    provider = ElectricityMaps(token=TOKEN, base_url=service.url, clock=clock, timeout_s=0.2,
                               environ={})
    source = resolve_source(country="DE", live=provider, environ={}, timezone="")
    with caplog.at_level(logging.DEBUG, logger=LIVE_LOGGER):
        first = source.current()
        clock.advance(AUTH_BACKOFF_S + 1)  # past any backoff: a second failing request
        second = source.current()
    assert first == second and fell_back(first, lookup("DE"))
    assert len(service.hits("/v3/carbon-intensity/latest")) == 2
    warned = live_warnings(caplog)
    assert len(warned) == 1 and "electricitymaps" in warned[0] and "Germany" in warned[0]
    assert TOKEN not in caplog.text and TOKEN not in repr(source) and TOKEN not in str(source.last_error)


def test_timeout_is_bounded(service, clock):
    import time

    service.set("/v3/carbon-intensity/latest", EM_LATEST_V3, stall_body_s=5.0)
    provider = ElectricityMaps(token=TOKEN, base_url=service.url, clock=clock, timeout_s=0.3,
                               environ={})
    resolve_source(country="DE", live=provider, environ={}, timezone="")
    started = time.monotonic()
    provider.current()
    assert time.monotonic() - started < 1.5


def test_a_server_sending_a_byte_at_a_time_is_cut_off_at_the_deadline(service, clock):
    import time

    service.set("/v3/carbon-intensity/latest", EM_LATEST_V3, dribble_s=0.05)  # the whole body: seconds
    provider = ElectricityMaps(token=TOKEN, base_url=service.url, clock=clock, timeout_s=0.3, environ={})
    source = resolve_source(country="DE", live=provider, environ={}, timezone="")
    started = time.monotonic()
    assert fell_back(source.current(), lookup("DE"))
    assert time.monotonic() - started < 1.0
    assert "no complete response within 0.3 s" in source.last_error


def test_a_token_read_from_a_file_loses_its_newline_and_control_characters_are_refused(service, clock):
    service.set("/v3/carbon-intensity/latest", EM_LATEST_V3)
    provider = ElectricityMaps(token=TOKEN + "\n", base_url=service.url, clock=clock, environ={})
    resolve_source(country="DE", live=provider, environ={}, timezone="")
    assert provider.current().g_per_kwh == 302.0
    assert service.hits("/v3/carbon-intensity/latest")[0]["headers"]["auth-token"] == TOKEN
    with pytest.raises(ConfigError, match="control characters") as info:
        ElectricityMaps(token="abc\x00def", environ={})
    assert "abc" not in str(info.value)


def test_cache_backoff_and_recovery(service, clock, caplog):
    path = "/v3/carbon-intensity/latest"
    service.set(path, EM_LATEST_V3)
    source = em_source(service, clock)
    assert source.current().g_per_kwh == 302.0
    clock.advance(0.5 * source.refresh_s)
    assert source.current().g_per_kwh == 302.0
    assert len(service.hits(path)) == 1  # cached

    service.set(path, {"error": "boom"}, status=500)
    clock.advance(source.refresh_s)
    stale = source.current()
    assert stale.g_per_kwh == 302.0 and stale.located_by == "live:electricitymaps (stale)"  # last good, still fresh
    assert len(service.hits(path)) == 2
    clock.advance(BACKOFF_START_S / 2)
    source.current()
    assert len(service.hits(path)) == 2  # backing off: no request
    clock.advance(BACKOFF_START_S)
    source.current()
    assert len(service.hits(path)) == 3  # retried, failed again: the backoff doubles
    clock.advance(BACKOFF_START_S + 1)
    source.current()
    assert len(service.hits(path)) == 3

    clock.advance(4 * 3600)  # the last good reading is now too old to stand for the grid
    assert fell_back(source.current(), lookup("DE"))
    service.set(path, {**EM_LATEST_V3, "carbonIntensity": 150.0})
    clock.advance(3600)
    assert source.current().g_per_kwh == 150.0
    assert source.last_error is None


def test_429_retry_after_and_401_back_off_longer(service, clock):
    path = "/v3/carbon-intensity/latest"
    service.set(path, {"error": "slow down"}, status=429, headers={"Retry-After": "600"})
    source = em_source(service, clock)
    source.current()
    clock.advance(599)
    source.current()
    assert len(service.hits(path)) == 1
    clock.advance(2)
    service.set(path, {"error": "Invalid token"}, status=401)
    source.current()
    assert len(service.hits(path)) == 2
    assert "check the token" in source.last_error
    clock.advance(AUTH_BACKOFF_S - 1)
    source.current()
    assert len(service.hits(path)) == 2


def test_redirects_are_refused(service, clock):
    service.set("/v3/carbon-intensity/latest", {}, status=302,
                headers={"Location": service.url + "/elsewhere"})
    source = em_source(service, clock)
    assert fell_back(source.current(), lookup("DE"))
    assert service.hits("/elsewhere") == []


def test_concurrent_callers_share_one_request(service, clock):
    service.set("/v3/carbon-intensity/latest", EM_LATEST_V3, delay_s=0.2)
    source = em_source(service, clock)
    results: list[float] = []
    threads = [threading.Thread(target=lambda: results.append(source.current().g_per_kwh))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [302.0] * 4
    assert len(service.requests) == 1


def test_unbound_provider_still_never_raises(service, clock):
    service.set("/v3/carbon-intensity/latest", EM_LATEST_V3)
    provider = ElectricityMaps(token=TOKEN, base_url=service.url, clock=clock, environ={})
    assert provider.current().key == "world"  # no zone known: nothing asked, world figure
    assert service.requests == []
    zoned = ElectricityMaps("DE", token=TOKEN, base_url=service.url, clock=clock, environ={})
    reading = zoned.current()
    assert (reading.g_per_kwh, reading.key, reading.located_by) == (302.0, "DE", "live:electricitymaps")


# -- URL policy -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1/x/", "http://[::1]:9",
                                 "https://api.electricitymaps.com", "https://proxy.example/em"])
def test_allowed_base_urls(url):
    assert check_base_url(url, "x") == url.rstrip("/")


@pytest.mark.parametrize("url, fragment", [
    ("http://api.electricitymaps.com", "use https://"),
    ("http://10.0.0.1:8080", "use https://"),
    ("ftp://127.0.0.1", "https://"),
    ("https://user:pw@host", "credentials"),
    ("", "URL"),
])
def test_refused_base_urls(url, fragment):
    with pytest.raises(ConfigError, match=fragment):
        check_base_url(url, "x")


def test_plain_http_to_a_remote_host_is_refused_at_construction():
    with pytest.raises(ConfigError, match="plain http"):
        ElectricityMaps(token=TOKEN, base_url="http://example.org", environ={})
    with pytest.raises(ConfigError, match="WATTPRINT_UK_CARBON_INTENSITY_URL"):
        UKCarbonIntensity(environ={"WATTPRINT_UK_CARBON_INTENSITY_URL": "http://example.org"})


@pytest.mark.parametrize("kwargs", [{"timeout_s": 0}, {"timeout_s": -1}, {"timeout_s": 60},
                                    {"refresh_s": 0}, {"refresh_s": float("nan")}])
def test_bad_timing_settings(kwargs):
    with pytest.raises(ConfigError):
        UKCarbonIntensity(environ={}, **kwargs)


_CREDENTIALS = {ElectricityMaps: {"token": TOKEN}, WattTime: {"region": "CAISO_NORTH", "username": "u", "password": "p"}}


@pytest.mark.parametrize("cls", [ElectricityMaps, UKCarbonIntensity, EnergiDataService, WattTime])
def test_every_provider_takes_the_connection_options_of_the_base(cls, clock):
    # The options are LiveProvider's, passed on as given: one definition, one set of checks.
    provider = cls(**_CREDENTIALS.get(cls, {}), base_url="http://127.0.0.1:9", timeout_s=0.7, refresh_s=42.0,
                   environ={}, clock=clock)
    assert (provider.base_url, provider.timeout_s, provider.refresh_s) == ("http://127.0.0.1:9", 0.7, 42.0)
    with pytest.raises(ConfigError, match="timeout_s"):
        cls(**_CREDENTIALS.get(cls, {}), timeout_s=-1, environ={})
    with pytest.raises(TypeError, match="timout_s"):
        cls(**_CREDENTIALS.get(cls, {}), timout_s=1.0, environ={})


def test_get_json_reports_status_without_headers(service):
    service.set("/x", {"error": "no"}, status=401)
    with pytest.raises(LiveError) as info:
        get_json(service.url + "/x", headers={"auth-token": TOKEN}, timeout_s=1)
    assert info.value.status == 401 and TOKEN not in str(info.value)


# -- UK Carbon Intensity --------------------------------------------------------------------------

UK_NATIONAL = {"data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",
                         "intensity": {"forecast": 266, "actual": 263, "index": "moderate"}}]}
UK_REGION = {"data": [{"regionid": 16, "dnoregion": "Scotland", "shortname": "Scotland",
                       "data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",
                                 "intensity": {"forecast": 42, "index": "very low"},
                                 "generationmix": [{"fuel": "wind", "perc": 80.0}]}]}]}


def uk(service, clock, **kwargs):
    return UKCarbonIntensity(base_url=service.url, clock=clock, timeout_s=0.5, environ={}, **kwargs)


def test_uk_national_actual_then_forecast(service, clock):
    service.set("/intensity", UK_NATIONAL)
    source = resolve_source(country="GB", live=uk(service, clock), environ={}, timezone="")
    reading = source.current()
    assert (reading.g_per_kwh, reading.key, reading.basis) == (263.0, "GB", "direct")
    assert "actual" in reading.source and reading.located_by == "live:uk"
    forecast_only = json.loads(json.dumps(UK_NATIONAL))
    forecast_only["data"][0]["intensity"]["actual"] = None
    service.set("/intensity", forecast_only)
    clock.advance(source.refresh_s)
    reading = source.current()
    assert reading.g_per_kwh == 266.0 and "forecast" in reading.source


@pytest.mark.parametrize("kwargs, path", [({"region_id": 16}, "/regional/regionid/16"),
                                          ({"postcode": "eh1"}, "/regional/postcode/EH1")])
def test_uk_regional(service, clock, kwargs, path):
    service.set(path, UK_REGION)
    reading = resolve_source(live=uk(service, clock, **kwargs), environ={}, timezone="").current()
    assert reading.g_per_kwh == 42.0 and "Scotland" in reading.source


def test_uk_without_location_means_great_britain_without_world_warning(service, clock, recwarn):
    source = resolve_source(live=uk(service, clock), environ={}, timezone="")
    fallback = source.current()  # 404 from the fake
    assert fallback.key == "GB" and fallback.g_per_kwh == lookup("GB").g_per_kwh
    assert fallback.located_by == "live:uk (live uk unavailable: bundled figure)"
    assert not [w for w in recwarn if "world average" in str(w.message)]


@pytest.mark.parametrize("kwargs", [{"country": "FR"}, {"region": "GB-NIR"}, {"cloud": "aws:eu-west-1"}])
def test_uk_refuses_locations_outside_great_britain(kwargs):
    with pytest.raises(ConfigError, match="Great Britain only"):
        resolve_source(live="uk", environ={}, timezone="", **kwargs)


def test_uk_accepts_gb_cloud_regions_and_bad_arguments_fail():
    resolve_source(cloud="aws:eu-west-2", live="uk", environ={}, timezone="")
    with pytest.raises(ConfigError, match="1 to 17"):
        UKCarbonIntensity(region_id=18, environ={})
    with pytest.raises(ConfigError, match="outward part"):
        UKCarbonIntensity(postcode="not a postcode", environ={})
    with pytest.raises(ConfigError, match="not both"):
        UKCarbonIntensity(region_id=1, postcode="RG10", environ={})


@pytest.mark.parametrize("failure", FAILURES[1:5])
def test_uk_failures_fall_back(service, clock, caplog, failure):
    service.set("/intensity", **failure)
    source = resolve_source(country="GB", live=uk(service, clock), environ={}, timezone="")
    assert fell_back(source.current(), lookup("GB"))
    assert len(live_warnings(caplog)) == 1


# -- Energi Data Service --------------------------------------------------------------------------

DK_RECORDS = {"total": 1903306, "limit": 1, "dataset": "CO2Emis",
              "records": [{"Minutes5UTC": "2026-01-20T16:30:00", "Minutes5DK": "2026-01-20T17:30:00",
                           "PriceArea": "DK2", "CO2Emission": 160.0}]}


def test_energidataservice_latest_record(service, clock):
    service.set("/dataset/CO2Emis", DK_RECORDS)
    provider = EnergiDataService(base_url=service.url, clock=clock, environ={})
    reading = resolve_source(region="DK-DK2", live=provider, environ={}, timezone="").current()
    assert (reading.g_per_kwh, reading.key, reading.located_by) == (160.0, "DK-DK2", "live:energidataservice")
    query = service.requests[0]["query"]
    assert json.loads(query["filter"]) == {"PriceArea": ["DK2"]}
    assert query["sort"] == "Minutes5UTC DESC" and query["limit"] == "1"
    assert query["start"] == "2026-01-19T09:23"  # one day before the fake clock's UTC time


def test_energidataservice_forecast_dataset_and_explicit_area(service, clock):
    service.set("/dataset/CO2EmisProg", {**DK_RECORDS, "records": [
        {**DK_RECORDS["records"][0], "PriceArea": "DK1", "CO2Emission": 95.5}]})
    provider = EnergiDataService("dk1", dataset="CO2EmisProg", base_url=service.url, clock=clock,
                                 environ={})
    source = resolve_source(country="DK", live=provider, environ={}, timezone="")
    assert source.current().g_per_kwh == 95.5
    assert source.fallback == lookup("DK-DK1")


@pytest.mark.parametrize("body", [{"records": []}, {"records": [{"PriceArea": "DK1", "CO2Emission": 1}]},
                                  {"total": 0}])
def test_energidataservice_bad_payloads_fall_back(service, clock, body):
    service.set("/dataset/CO2Emis", body)
    provider = EnergiDataService(base_url=service.url, clock=clock, environ={})
    assert fell_back(resolve_source(region="DK-DK2", live=provider, environ={}, timezone="").current(), lookup("DK-DK2"))


def test_energidataservice_needs_a_danish_price_area():
    with pytest.raises(ConfigError, match="region='DK-DK1'"):
        resolve_source(country="DK", live="energidataservice", environ={}, timezone="")
    with pytest.raises(ConfigError, match="Denmark only"):
        resolve_source(country="SE", live=EnergiDataService("DK1", environ={}), environ={}, timezone="")
    with pytest.raises(ConfigError, match="'DK1' or 'DK2'"):
        EnergiDataService("DK3", environ={})


# -- WattTime -------------------------------------------------------------------------------------

WT_FORECAST = {"data": [{"point_time": "2022-07-15T00:00:00+00:00", "value": 1000.0},
                        {"point_time": "2022-07-15T00:05:00+00:00", "value": 990.0}],
               "meta": {"data_point_period_seconds": 300, "region": "CAISO_NORTH", "warnings": [],
                        "signal_type": "co2_moer", "model": {"date": "2023-03-01"},
                        "units": "lbs_co2_per_mwh", "generated_at_period_seconds": 300,
                        "generated_at": "2022-07-15T00:00:00+00:00"}}


def watttime(service, clock, timeout_s=0.5):
    return WattTime("CAISO_NORTH", username="ada", password=PASSWORD, base_url=service.url,
                    clock=clock, timeout_s=timeout_s, environ={})


def test_watttime_login_then_forecast_in_g_per_kwh(service, clock):
    service.set("/login", {"token": "jwt-1"})
    service.set("/v3/forecast", WT_FORECAST)
    source = resolve_source(region="US-CAL-CISO", live=watttime(service, clock), environ={}, timezone="")
    reading = source.current()
    assert reading.g_per_kwh == pytest.approx(453.59237)
    assert reading.key == "US-CAL-CISO" and "marginal" in reading.source
    login, forecast = service.requests
    assert login["headers"]["authorization"] == "Basic YWRhOnB3LVNFQ1JFVC0yNzE4"  # ada:pw-SECRET-2718
    assert forecast["headers"]["authorization"] == "Bearer jwt-1"
    assert forecast["query"] == {"region": "CAISO_NORTH", "signal_type": "co2_moer", "horizon_hours": "0"}
    clock.advance(source.refresh_s)
    source.current()
    assert len(service.hits("/login")) == 1  # token reused while valid
    clock.advance(30 * 60)
    source.current()
    assert len(service.hits("/login")) == 2


def test_watttime_relogs_in_once_on_401(service, clock):
    service.set("/login", {"token": "jwt-2"})
    service.set("/v3/forecast", {"error": "expired"}, status=401)
    source = resolve_source(region="US-CAL-CISO", live=watttime(service, clock), environ={}, timezone="")
    assert fell_back(source.current(), lookup("US-CAL-CISO"))
    assert len(service.hits("/login")) == 2 and len(service.hits("/v3/forecast")) == 2


@pytest.mark.parametrize("routes", [
    {"/login": {"status": 401, "body": {"error": "bad credentials"}}},
    {"/login": {"body": {"nope": 1}}},
    {"/login": {"body": {"token": "t"}}, "/v3/forecast": {"status": 429, "body": {}}},
    {"/login": {"body": {"token": "t"}}, "/v3/forecast": {"status": 500, "body": b"x"}},
    {"/login": {"body": {"token": "t"}}, "/v3/forecast": {"body": b"{not json"}},
    {"/login": {"body": {"token": "t"}}, "/v3/forecast": {"body": [{"value": 1}]}},
    {"/login": {"body": {"token": "t"}},
     "/v3/forecast": {"body": {**WT_FORECAST, "meta": {**WT_FORECAST["meta"], "units": "percentile"}}}},
    {"/login": {"body": {"token": "t"}}, "/v3/forecast": {"body": WT_FORECAST, "delay_s": 5.0}},
])
def test_watttime_failures_fall_back_without_leaking_credentials(service, clock, caplog, routes):
    for path, route in routes.items():
        service.set(path, **route)
    source = resolve_source(region="US-CAL-CISO", live=watttime(service, clock, timeout_s=0.2),
                            environ={}, timezone="")
    with caplog.at_level(logging.DEBUG, logger=LIVE_LOGGER):
        assert fell_back(source.current(), lookup("US-CAL-CISO"))
    assert len(live_warnings(caplog)) == 1
    for secret in (PASSWORD, "YWRhOnB3LVNFQ1JFVC0yNzE4"):
        assert secret not in caplog.text and secret not in repr(source)


def test_watttime_settings_from_environment_and_missing_ones():
    env = {"WATTTIME_USERNAME": "ada", "WATTTIME_PASSWORD": PASSWORD, "WATTTIME_REGION": "PJM_DC"}
    provider = make_provider("watttime", environ=env)
    assert provider.region == "PJM_DC" and PASSWORD not in repr(provider)
    with pytest.raises(ConfigError, match="WATTTIME_USERNAME"):
        make_provider("watttime", environ={"WATTTIME_REGION": "PJM_DC"})
    with pytest.raises(ConfigError, match="region"):
        make_provider("watttime", environ={"WATTTIME_USERNAME": "a", "WATTTIME_PASSWORD": "b"})


def test_watttime_without_location_falls_back_to_world_with_the_warning(service, clock):
    with pytest.warns(UserWarning, match="world average"):
        source = resolve_source(live=watttime(service, clock), environ={}, timezone="")
    assert source.fallback.key == "world"


# -- every provider honours the contract ----------------------------------------------------------

@pytest.mark.parametrize("factory", [
    lambda url, clock: (ElectricityMaps(token=TOKEN, base_url=url, clock=clock, environ={}), {"country": "DE"}),
    lambda url, clock: (UKCarbonIntensity(base_url=url, clock=clock, environ={}), {"country": "GB"}),
    lambda url, clock: (EnergiDataService(base_url=url, clock=clock, environ={}), {"region": "DK-DK1"}),
    lambda url, clock: (WattTime("X", username="u", password="p", base_url=url, clock=clock,
                                 environ={}), {"country": "US"}),
], ids=["electricitymaps", "uk", "energidataservice", "watttime"])
def test_every_provider_survives_a_dead_service(service, clock, factory):
    for path in ("/v3/carbon-intensity/latest", "/intensity", "/dataset/CO2Emis", "/login"):
        service.set(path, {"error": "down"}, status=500)
    provider, location = factory(service.url, clock)
    source = resolve_source(live=provider, environ={}, timezone="", **location)
    assert source is provider and source.refresh_s > 0
    for _ in range(3):
        reading = source.current()
        bundled = lookup(next(iter(location.values())))
        assert fell_back(reading, bundled) and source.fallback == bundled
        clock.advance(3600)


def test_stop_does_not_wait_for_a_live_fetch_in_flight(service):
    import time

    import wattprint
    from wattprint.core.clock import SYSTEM_CLOCK
    from wattprint.testing import FakeSensor

    service.set("/intensity", UK_NATIONAL, delay_s=10.0)  # the server answers only when released
    provider = UKCarbonIntensity(base_url=service.url, timeout_s=8.0, environ={})
    tracker = wattprint.Tracker(live=provider, country="GB", output_file=None, sensors=[FakeSensor("cpu", power_w=10, clock=SYSTEM_CLOCK)])
    tracker.start()
    deadline = time.monotonic() + 10
    while not service.hits("/intensity") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert service.hits("/intensity"), "the sampler never fetched"
    started = time.monotonic()
    record = tracker.stop()
    assert time.monotonic() - started < 1.0
    assert record.intensity_key == "GB"  # the bundled figure, as before the fetch
