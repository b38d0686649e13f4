"""Location precedence, time-zone detection, eager validation and the no-network guarantee."""

from __future__ import annotations

import math
import os
import socket
import warnings

import pytest

from wattprint.core.carbon import (
    WORLD_AVERAGE,
    Intensity,
    IntensitySource,
    StaticIntensity,
    lookup,
    resolve_source,
)
from wattprint.core.carbon.location import (
    CLOUD_HINTS,
    RUNTIME_MARKERS,
    detect_timezone,
    locate,
    lookup_key,
    timezone_country,
)
from wattprint.core.errors import CarbonDataError, ConfigError


def resolve(**kwargs) -> Intensity:
    """resolve_source with an empty environment and no time zone unless given."""
    kwargs.setdefault("environ", {})
    kwargs.setdefault("timezone", "")
    source = resolve_source(**kwargs)
    assert isinstance(source, IntensitySource)
    return source.current()


# -- explicit arguments ---------------------------------------------------------------------------

def test_numeric_intensity_beats_everything():
    hit = resolve(carbon_intensity=123.5, country="FR", cloud="aws:us-east-1",
                  environ={"WATTPRINT_COUNTRY": "DE", "AWS_REGION": "eu-west-1"}, timezone="Europe/Oslo")
    assert (hit.g_per_kwh, hit.key, hit.name, hit.basis) == (123.5, "custom", "user value", "unknown")
    assert hit.located_by == "argument:carbon_intensity"
    assert hit.year is None


def test_zero_intensity_is_allowed():
    assert resolve(carbon_intensity=0).g_per_kwh == 0.0


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, math.inf, -math.inf, "abc", True, [], 1e6])
def test_bad_numeric_intensity_fails_at_construction(bad):
    with pytest.raises(ConfigError, match="carbon_intensity"):
        resolve_source(carbon_intensity=bad, environ={}, timezone="")


def test_explicit_keys_beat_environment_and_hints():
    env = {"WATTPRINT_COUNTRY": "DE", "WATTPRINT_CARBON_INTENSITY": "5", "AWS_REGION": "eu-west-1"}
    hit = resolve(country="FR", environ=env, timezone="Europe/Oslo")
    assert (hit.key, hit.located_by) == ("FR", "argument")


def test_most_specific_explicit_key_wins_when_they_agree():
    assert resolve(country="US", region="US-CA").key == "US-CA"
    assert resolve(country="FR", cloud="aws:eu-west-3").key == "aws:eu-west-3"
    assert resolve(region="SE-SE3", cloud="azure:swedencentral").key == "azure:swedencentral"


def test_explicit_keys_that_disagree_are_rejected():
    with pytest.raises(ConfigError, match=r"disagree: region='US-CA' \(USA\), country='FR' \(FRA\)"):
        resolve_source(country="FR", region="US-CA", environ={}, timezone="")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"country": "Frnace"}, "FR (France)"),
    ({"region": "US-CAL"}, "US-CA (California)"),
    ({"cloud": "aws:us-east-9"}, "aws:us-east-1"),
])
def test_unknown_explicit_key_fails_at_construction_with_matches(kwargs, fragment):
    with pytest.raises(CarbonDataError, match="unknown") as info:
        resolve_source(environ={}, timezone="", **kwargs)
    assert fragment in str(info.value)


def test_wrong_kind_says_which_argument_to_use():
    with pytest.raises(CarbonDataError, match="pass it as country='FR'"):
        resolve_source(region="FR", environ={}, timezone="")


@pytest.mark.parametrize("bad", ["", "  ", 7])
def test_empty_or_non_string_key_is_a_config_error(bad):
    with pytest.raises(ConfigError):
        resolve_source(country=bad, environ={}, timezone="")


# -- environment variables ------------------------------------------------------------------------

@pytest.mark.parametrize("env, key, located_by", [
    ({"WATTPRINT_COUNTRY": "fr"}, "FR", "env:WATTPRINT_COUNTRY"),
    ({"WATTPRINT_REGION": "ca-qc"}, "CA-QC", "env:WATTPRINT_REGION"),
    ({"WATTPRINT_CLOUD": "gcp:europe-west1"}, "gcp:europe-west1", "env:WATTPRINT_CLOUD"),
    ({"WATTPRINT_CARBON_INTENSITY": "88.5"}, "custom", "env:WATTPRINT_CARBON_INTENSITY"),
    ({"WATTPRINT_COUNTRY": "US", "WATTPRINT_REGION": "US-TX"}, "US-TX", "env:WATTPRINT_REGION"),
])
def test_wattprint_environment_variables(env, key, located_by):
    hit = resolve(environ=env)
    assert (hit.key, hit.located_by) == (key, located_by)


def test_wattprint_intensity_variable_beats_wattprint_location_variables():
    hit = resolve(environ={"WATTPRINT_CARBON_INTENSITY": "12", "WATTPRINT_COUNTRY": "PL"})
    assert hit.g_per_kwh == 12.0


def test_wattprint_variables_beat_cloud_hints_and_time_zone():
    hit = resolve(environ={"WATTPRINT_COUNTRY": "NO", "AWS_REGION": "us-east-1"},
                  timezone="Europe/Paris")
    assert hit.key == "NO"


def test_blank_wattprint_variable_is_ignored():
    assert resolve(environ={"WATTPRINT_COUNTRY": "  "}, timezone="Europe/Paris").key == "FR"


def test_bad_wattprint_variables_fail_early_naming_the_variable():
    with pytest.raises(CarbonDataError, match="WATTPRINT_COUNTRY='Frnace': unknown country key 'Frnace'"):
        resolve_source(environ={"WATTPRINT_COUNTRY": "Frnace"}, timezone="")
    with pytest.raises(ConfigError, match="WATTPRINT_CARBON_INTENSITY"):
        resolve_source(environ={"WATTPRINT_CARBON_INTENSITY": "-3"}, timezone="")
    with pytest.raises(ConfigError, match="disagree: WATTPRINT_REGION='US-CA' \\(USA\\)"):
        resolve_source(environ={"WATTPRINT_COUNTRY": "DE", "WATTPRINT_REGION": "US-CA"}, timezone="")


# -- cloud hints ----------------------------------------------------------------------------------

@pytest.mark.parametrize("env, key, var", [
    ({"AWS_REGION": "eu-west-3", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}, "aws:eu-west-3", "AWS_REGION"),
    ({"AWS_DEFAULT_REGION": "ap-south-1", "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}, "aws:ap-south-1",
     "AWS_DEFAULT_REGION"),
    ({"AWS_REGION": "eu-north-1", "AWS_LAMBDA_FUNCTION_NAME": "train"}, "aws:eu-north-1", "AWS_REGION"),
    ({"AWS_REGION": "us-west-2", "CODEBUILD_BUILD_ID": "proj:1"}, "aws:us-west-2", "AWS_REGION"),
    ({"SAGEMAKER_REGION": "us-west-2", "TRAINING_JOB_NAME": "job-1"}, "aws:us-west-2", "SAGEMAKER_REGION"),
    ({"CLOUD_ML_REGION": "us-central1", "CLOUD_ML_JOB_ID": "42"}, "gcp:us-central1", "CLOUD_ML_REGION"),
    ({"FUNCTION_REGION": "us-east1", "FUNCTION_NAME": "f"}, "gcp:us-east1", "FUNCTION_REGION"),
    ({"REGION_NAME": "westeurope", "WEBSITE_SITE_NAME": "app"}, "azure:westeurope", "REGION_NAME"),
    ({"REGION_NAME": "West Europe", "WEBSITE_SITE_NAME": "app"}, "azure:westeurope", "REGION_NAME"),
])
def test_cloud_runtime_hints_beat_time_zone(env, key, var):
    hit = resolve(environ=env, timezone="Asia/Tokyo")
    assert (hit.key, hit.located_by) == (key, f"env:{var}")


@pytest.mark.parametrize("var, value", [
    ("AWS_REGION", "us-east-1"), ("AWS_DEFAULT_REGION", "us-east-1"), ("SAGEMAKER_REGION", "us-east-1"),
    ("GOOGLE_CLOUD_REGION", "us-central1"), ("CLOUD_ML_REGION", "us-east5"),
    ("CLOUDSDK_COMPUTE_REGION", "us-central1"), ("FUNCTION_REGION", "us-east1"), ("REGION_NAME", "eastus"),
])
def test_sdk_configuration_loses_to_time_zone(var, value):
    # A laptop in Berlin with an SDK configured for us-east-1 runs in Berlin.
    hit = resolve_source(environ={var: value, "TZ": "Europe/Berlin"}, timezone=None).current()
    assert (hit.key, hit.located_by) == ("DE", "timezone:Europe/Berlin")


@pytest.mark.parametrize("var, value, key", [
    ("AWS_DEFAULT_REGION", "ap-south-1", "aws:ap-south-1"),
    ("GOOGLE_CLOUD_REGION", "europe-west4", "gcp:europe-west4"),
    ("CLOUDSDK_COMPUTE_REGION", "asia-northeast1", "gcp:asia-northeast1"),
    ("REGION_NAME", "West Europe", "azure:westeurope"),
])
@pytest.mark.parametrize("zone", ["", "UTC", "Etc/GMT-3"])
def test_sdk_configuration_is_used_when_the_time_zone_names_no_country(var, value, key, zone):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a hint found: no world-average warning
        hit = resolve(environ={var: value}, timezone=zone)
    assert (hit.key, hit.located_by) == (key, f"env:{var}")


def test_a_marker_vouches_only_for_its_own_provider():
    assert resolve(environ={"AWS_EXECUTION_ENV": "AWS_ECS_EC2", "GOOGLE_CLOUD_REGION": "europe-west1"},
                   timezone="Europe/Paris").key == "FR"
    assert resolve(environ={"WEBSITE_SITE_NAME": "app", "AWS_REGION": "us-east-1"},
                   timezone="Europe/Paris").key == "FR"
    assert resolve(environ={"CLOUD_ML_JOB_ID": "1", "CLOUDSDK_COMPUTE_REGION": "us-central1"},
                   timezone="Europe/Paris").key == "FR"


def test_blank_marker_does_not_count():
    env = {"AWS_REGION": "us-east-1", "AWS_EXECUTION_ENV": "  "}
    assert resolve(environ=env, timezone="Europe/Paris").key == "FR"


def test_runtime_hint_beats_configuration_listed_before_it():
    env = {"AWS_REGION": "us-west-2", "CLOUD_ML_REGION": "europe-west4", "CLOUD_ML_JOB_ID": "7"}
    hit = resolve(environ=env)
    assert (hit.key, hit.located_by) == ("gcp:europe-west4", "env:CLOUD_ML_REGION")


def test_aws_region_beats_aws_default_region_and_gcp():
    env = {"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "eu-north-1",
           "GOOGLE_CLOUD_REGION": "europe-west1"}
    assert resolve(environ=env).key == "aws:eu-north-1"
    assert resolve(environ={**env, "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}).key == "aws:eu-north-1"


def test_unknown_hint_is_skipped_not_fatal():
    hit = resolve(environ={"AWS_REGION": "us-gov-west-1", "GOOGLE_CLOUD_REGION": "europe-west9"})
    assert (hit.key, hit.located_by) == ("gcp:europe-west9", "env:GOOGLE_CLOUD_REGION")
    assert resolve(environ={"REGION_NAME": "not a region", "WEBSITE_SITE_NAME": "app"},
                   timezone="Asia/Tokyo").key == "JP"
    with pytest.warns(UserWarning, match="world average"):
        assert resolve(environ={"AWS_REGION": "mars-north-1"}).key == "world"


def test_every_hint_variable_has_a_provider_and_markers_only_for_hints():
    hint_vars = [var for var, _ in CLOUD_HINTS]
    assert len(hint_vars) == len(set(hint_vars))
    assert {provider for _, provider in CLOUD_HINTS} == {"aws", "gcp", "azure"}
    assert set(RUNTIME_MARKERS) <= set(hint_vars)
    assert "GOOGLE_CLOUD_REGION" not in RUNTIME_MARKERS and "CLOUDSDK_COMPUTE_REGION" not in RUNTIME_MARKERS


# -- Azure display names as keys ------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["azure:West Europe", "Azure: west europe", "azure:WestEurope"])
def test_azure_display_name_is_accepted_as_a_cloud_key(spelling):
    assert resolve(cloud=spelling).key == "azure:westeurope"
    assert resolve(environ={"WATTPRINT_CLOUD": spelling}).located_by == "env:WATTPRINT_CLOUD"
    assert lookup_key(spelling).key == "azure:westeurope"


def test_azure_display_name_still_checks_agreement_and_unknown_names():
    assert resolve(cloud="azure:West Europe", country="NL").key == "azure:westeurope"
    with pytest.raises(ConfigError, match="disagree"):
        resolve_source(cloud="azure:West Europe", country="FR", environ={}, timezone="")
    with pytest.raises(CarbonDataError, match="unknown cloud key 'azure:Wst Europe'"):
        resolve_source(cloud="azure:Wst Europe", environ={}, timezone="")
    with pytest.raises(CarbonDataError, match="unknown location key 'aws:us east 1'"):
        lookup_key("aws:us east 1")  # only Azure has display names with spaces


# -- time zone ------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone, key", [
    ("Europe/Paris", "FR"), ("America/Los_Angeles", "US"), ("Asia/Kolkata", "IN"),
    ("Asia/Calcutta", "IN"), ("Europe/Kiev", "UA"), ("US/Eastern", "US"), ("Australia/Sydney", "AU"),
])
def test_time_zone_maps_to_country_never_region(zone, key):
    hit = resolve(timezone=zone)
    assert (hit.key, hit.located_by) == (key, f"timezone:{zone}")


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Etc/GMT+3", "GMT", "CET", "EST5EDT", "Factory",
                                  "Mars/Olympus", "CET-1CEST"])
def test_time_zones_without_a_country_fall_to_world(zone):
    with pytest.warns(UserWarning, match="world average"):
        hit = resolve(timezone=zone)
    assert hit == WORLD_AVERAGE


def test_time_zone_of_a_country_without_data_falls_to_world():
    assert timezone_country("Arctic/Longyearbyen") == "SJ"  # Svalbard: not in the Ember table
    with pytest.warns(UserWarning):
        assert resolve(timezone="Arctic/Longyearbyen").key == "world"


def test_detect_timezone_from_tz_variable(tmp_path):
    assert detect_timezone({"TZ": "Europe/Berlin"}, root=tmp_path) == "Europe/Berlin"
    assert detect_timezone({"TZ": ":Europe/Berlin"}, root=tmp_path) == "Europe/Berlin"
    assert detect_timezone({"TZ": "/usr/share/zoneinfo/Asia/Tokyo"}, root=tmp_path) == "Asia/Tokyo"
    assert detect_timezone({"TZ": "UTC"}, root=tmp_path) == "UTC"


def test_detect_timezone_from_localtime_link_then_timezone_file(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    assert detect_timezone({}, root=tmp_path) is None
    (etc / "timezone").write_text("America/Sao_Paulo\n")
    assert detect_timezone({}, root=tmp_path) == "America/Sao_Paulo"
    zoneinfo = tmp_path / "usr" / "share" / "zoneinfo" / "Europe"
    zoneinfo.mkdir(parents=True)
    (zoneinfo / "Madrid").write_bytes(b"TZif")
    os.symlink(zoneinfo / "Madrid", etc / "localtime")
    assert detect_timezone({}, root=tmp_path) == "Europe/Madrid"
    assert detect_timezone({"TZ": "Asia/Seoul"}, root=tmp_path) == "Asia/Seoul"


def test_localtime_copied_as_a_file_falls_back_to_etc_timezone(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "localtime").write_bytes(b"TZif")
    (etc / "timezone").write_text("Europe/Rome")
    assert detect_timezone({}, root=tmp_path) == "Europe/Rome"


def test_timezone_none_detects_from_environ_tz():
    hit = resolve_source(environ={"TZ": "Europe/Warsaw"}, timezone=None).current()
    assert (hit.key, hit.located_by) == ("PL", "timezone:Europe/Warsaw")


def test_cloud_runtime_hint_beats_time_zone_but_sdk_configuration_does_not():
    env = {"AWS_REGION": "us-east-1", "TZ": "Europe/Paris"}
    assert resolve_source(environ=env, timezone=None).current().key == "FR"
    env["AWS_EXECUTION_ENV"] = "AWS_ECS_FARGATE"
    assert resolve_source(environ=env, timezone=None).current().key == "aws:us-east-1"


# -- world fallback warning -----------------------------------------------------------------------

def test_world_fallback_warns_once_saying_how_to_set_the_location():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = resolve_source(environ={}, timezone="")
        source.current()
        source.current()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert "473" in messages[0] and "country=" in messages[0] and "WATTPRINT_COUNTRY" in messages[0]
    assert source.current() == WORLD_AVERAGE and source.current().located_by == "default"


def test_no_warning_when_location_is_known():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve(country="FR")
        resolve(timezone="Europe/Paris")
        resolve(country="world")


def test_explicit_world_is_not_default():
    hit = resolve(country="world")
    assert hit.g_per_kwh == 473.0 and hit.located_by == "argument"


def test_locate_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert locate(environ={}, timezone="") == WORLD_AVERAGE


# -- the returned source --------------------------------------------------------------------------

def test_static_source_shape():
    source = resolve_source(country="FR", environ={}, timezone="")
    assert isinstance(source, StaticIntensity)
    assert source.refresh_s is None
    assert source.current() is source.current()
    assert source == StaticIntensity(lookup("FR"))
    assert source.current().kg_per_kwh == pytest.approx(0.04418)


def test_intensity_is_frozen():
    hit = lookup("FR")
    with pytest.raises(AttributeError):
        hit.g_per_kwh = 1.0  # type: ignore[misc]


def test_live_and_fixed_value_together_is_a_config_error():
    with pytest.raises(ConfigError, match="either carbon_intensity= or live="):
        resolve_source(carbon_intensity=100, live="uk", environ={}, timezone="")


def test_unknown_live_provider_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown live provider 'carbonwizard'"):
        resolve_source(country="FR", live="carbonwizard", environ={}, timezone="")
    with pytest.raises(ConfigError, match="current\\(\\) method"):
        resolve_source(country="FR", live=42, environ={}, timezone="")


def test_any_object_with_current_is_accepted_as_live_source():
    class Fixed:
        def current(self) -> Intensity:
            return lookup("NO")

    custom = Fixed()
    assert resolve_source(country="NO", live=custom, environ={}, timezone="") is custom


# -- no network unless asked ----------------------------------------------------------------------

@pytest.fixture
def socket_guard(monkeypatch):
    """Make every name lookup and outgoing connection fail loudly, and record the attempts."""
    attempts: list[object] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network access attempted")

    def refuse_lookup(host, *args, **kwargs):
        attempts.append(host)
        raise socket.gaierror("name lookup attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    return attempts


def test_no_network_without_a_live_provider(socket_guard):
    for key in ("FR", "US-CA", "SE-SE3", "aws:us-east-1", "gcp:europe-west1", "azure:westeurope"):
        lookup(key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kwargs in (
            {"country": "FR"}, {"region": "US-CA"}, {"cloud": "gcp:europe-west1"},
            {"carbon_intensity": 10}, {"environ": {"AWS_REGION": "eu-west-1"}},
            {"environ": {"WATTPRINT_CLOUD": "azure:westeurope"}}, {"timezone": "Europe/Paris"},
            {"timezone": None}, {},
        ):
            kwargs.setdefault("environ", {})
            resolve_source(**kwargs).current()
        # Building live providers must not connect either: only current() may.
        resolve_source(country="GB", live="uk", environ={})
        resolve_source(country="DE", live="electricitymaps", environ={"ELECTRICITYMAPS_TOKEN": "t"})
    assert socket_guard == []


def test_socket_guard_catches_a_live_request(socket_guard):
    # The control for the test above: a live provider does try the network, and survives.
    source = resolve_source(country="GB", live="uk", environ={})
    reading = source.current()
    assert reading.g_per_kwh == lookup("GB").g_per_kwh
    assert reading.located_by == "argument (live uk unavailable: bundled figure)"
    assert socket_guard, "the guard did not see the live request"
