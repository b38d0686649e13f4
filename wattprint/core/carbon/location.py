"""Where is this machine? Offline location resolution and :func:`resolve_source`.

Precedence, first hit wins:

1. ``carbon_intensity=`` (a number of gCO2e/kWh);
2. explicit ``cloud=``, ``region=``, ``country=`` (most specific first; they must agree);
3. ``WATTPRINT_CARBON_INTENSITY``, ``WATTPRINT_CLOUD``, ``WATTPRINT_REGION``, ``WATTPRINT_COUNTRY``;
4. cloud-runtime hints: a region variable of :data:`CLOUD_HINTS` together with a variable that
   only the provider's runtime sets (:data:`RUNTIME_MARKERS`): ``AWS_REGION`` or
   ``AWS_DEFAULT_REGION`` with ``AWS_EXECUTION_ENV`` (Lambda, ECS, Fargate), with
   ``AWS_LAMBDA_FUNCTION_NAME`` or with ``CODEBUILD_BUILD_ID``; ``SAGEMAKER_REGION`` or
   ``AWS_REGION`` with ``TRAINING_JOB_NAME`` (SageMaker training); ``CLOUD_ML_REGION`` with
   ``CLOUD_ML_JOB_ID`` (Vertex AI training); ``FUNCTION_REGION`` with ``FUNCTION_NAME`` (Cloud
   Functions); ``REGION_NAME`` with ``WEBSITE_SITE_NAME`` (Azure App Service and Functions);
5. the system time zone (``TZ``, ``/etc/localtime``, ``/etc/timezone``) mapped to its country,
   never to a sub-national region; ``UTC`` and ``Etc/*`` mean unknown;
6. the same region variables without their runtime marker: SDK and CLI configuration
   (``AWS_REGION``, ``AWS_DEFAULT_REGION``, ``GOOGLE_CLOUD_REGION``, ``CLOUD_ML_REGION``,
   ``CLOUDSDK_COMPUTE_REGION``, ...), which laptops and CI runners export to say which region
   to *call*, not where the code runs; used only when the time zone names no country;
7. :data:`WORLD_AVERAGE` with one warning saying how to set the location.

``located_by`` names the variable that decided (``env:AWS_REGION``, ``timezone:Europe/Paris``).
Nothing here opens a socket: live data is used only when ``live=`` asks for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import replace

from wattprint._log import getLogger
from wattprint.core.carbon.intensity import (
    WORLD_AVERAGE,
    Intensity,
    StaticIntensity,
    custom_intensity,
)
from wattprint.core.carbon.table import lookup, row_for
from wattprint.core.errors import CarbonDataError, ConfigError
from wattprint.core.naming import PYTHON, Naming
from wattprint.core.userwarn import warn_user

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from wattprint.core.carbon.source import IntensitySource

__all__ = [
    "CLOUD_HINTS",
    "ENV_CARBON_INTENSITY",
    "ENV_CLOUD",
    "ENV_COUNTRY",
    "ENV_REGION",
    "RUNTIME_MARKERS",
    "detect_timezone",
    "locate",
    "lookup_key",
    "resolve_source",
    "timezone_country",
]

logger = getLogger(__name__)

ENV_CARBON_INTENSITY = "WATTPRINT_CARBON_INTENSITY"
ENV_CLOUD = "WATTPRINT_CLOUD"
ENV_REGION = "WATTPRINT_REGION"
ENV_COUNTRY = "WATTPRINT_COUNTRY"

CLOUD_HINTS: tuple[tuple[str, str], ...] = (
    ("AWS_REGION", "aws"),
    ("AWS_DEFAULT_REGION", "aws"),
    ("SAGEMAKER_REGION", "aws"),
    ("GOOGLE_CLOUD_REGION", "gcp"),
    ("CLOUD_ML_REGION", "gcp"),
    ("CLOUDSDK_COMPUTE_REGION", "gcp"),
    ("FUNCTION_REGION", "gcp"),
    ("REGION_NAME", "azure"),
)
"""(environment variable, cloud provider) pairs read as location hints, in this order."""

_AWS_RUNTIMES = ("AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "CODEBUILD_BUILD_ID",
                 "TRAINING_JOB_NAME")

RUNTIME_MARKERS: Mapping[str, tuple[str, ...]] = {
    "AWS_REGION": _AWS_RUNTIMES,
    "AWS_DEFAULT_REGION": _AWS_RUNTIMES,
    "SAGEMAKER_REGION": ("TRAINING_JOB_NAME",),
    "CLOUD_ML_REGION": ("CLOUD_ML_JOB_ID",),
    "FUNCTION_REGION": ("FUNCTION_NAME",),
    "REGION_NAME": ("WEBSITE_SITE_NAME",),
}
"""Hint variable -> variables of which one must be set for the hint to outrank the time zone.

Each marker is set by the provider's runtime itself (Lambda, ECS and Fargate set
``AWS_EXECUTION_ENV``; SageMaker ``TRAINING_JOB_NAME``; Vertex AI ``CLOUD_ML_JOB_ID``; Cloud
Functions ``FUNCTION_NAME``; App Service and Azure Functions ``WEBSITE_SITE_NAME``), so a laptop
that merely has an SDK configured does not pass for a data centre. ``GOOGLE_CLOUD_REGION`` and
``CLOUDSDK_COMPUTE_REGION`` have no marker: no runtime sets them, they are always configuration.
"""

_NO_COUNTRY_ZONES = frozenset({"utc", "uct", "gmt", "gmt0", "gmt+0", "gmt-0", "greenwich",
                               "universal", "zulu", "factory", "localtime"})

TIMEZONE_NOTICE = (
    "wattprint: no location was given, so CO2 uses {name} ({key}, {g:g} gCO2e/kWh), the country of "
    "the system time zone {zone}. If the machine is elsewhere (a cloud region, a remote server), set "
    "its location with {example} (or {region}, {cloud}), or WATTPRINT_COUNTRY; `wattprint intensity --list` "
    "shows every key."
)
WORLD_WARNING = (
    "wattprint: no location was given or detected, so CO2 uses the world average of "
    "{g:g} gCO2e/kWh (Ember, {year}). Set the location with {country} (or {region}, "
    "{cloud}), the WATTPRINT_COUNTRY / WATTPRINT_REGION / WATTPRINT_CLOUD "
    "environment variables, or give a value with {carbon_intensity} (gCO2e/kWh); "
    "`wattprint intensity --list` shows every key."
)

_tz_lock = threading.Lock()
_tz_map: dict[str, str] | None = None


def _timezones() -> dict[str, str]:
    global _tz_map
    if _tz_map is None:
        with _tz_lock:
            if _tz_map is None:
                from wattprint.core.carbon.table import read_csv

                _tz_map = {r["zone"]: r["iso2"] for r in read_csv("timezones.csv")}
    return _tz_map


def _zone_name(text: str) -> str | None:
    """``Europe/Paris`` from ``Europe/Paris``, ``:Europe/Paris`` or ``.../zoneinfo/Europe/Paris``."""
    text = text.strip().lstrip(":")
    if "zoneinfo/" in text:
        text = text.split("zoneinfo/", 1)[1]
    if text.startswith("posix/") or text.startswith("right/"):
        text = text.split("/", 1)[1]
    return text or None


def detect_timezone(environ: Mapping[str, str] | None = None, root: str | os.PathLike[str] = "/") -> str | None:
    """The IANA name of the system time zone, or ``None`` when it cannot be told offline.

    Reads ``TZ`` from ``environ``, then the target of ``/etc/localtime``, then ``/etc/timezone``
    (all under ``root``, which tests point at a temporary tree). A ``TZ`` that is set but is not
    a zone name (``UTC``, ``CET-1CEST``) is returned as is; :func:`timezone_country` maps it to
    no country.
    """
    env = os.environ if environ is None else environ
    tz = env.get("TZ")
    if tz:
        return _zone_name(tz)
    localtime = os.path.join(root, "etc", "localtime")
    try:
        if os.path.islink(localtime):
            target = os.readlink(localtime)
            if "zoneinfo/" in target:
                return _zone_name(target)
    except OSError:
        pass
    try:
        with open(os.path.join(root, "etc", "timezone"), encoding="utf-8") as f:
            text = f.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return _zone_name(text.splitlines()[0]) if text else None


def timezone_country(zone: str | None) -> str | None:
    """ISO alpha-2 country of an IANA zone (``"Europe/Paris"`` -> ``"FR"``); ``None`` if unknown.

    ``UTC``, ``Etc/*`` and multi-country names such as ``CET`` map to no country.
    """
    if not zone:
        return None
    if zone.casefold() in _NO_COUNTRY_ZONES or zone.startswith("Etc/"):
        return None
    return _timezones().get(zone)


def _explicit(country: str | None, region: str | None, cloud: str | None,
              env_vars: Mapping[str, str] | None = None, naming: Naming = PYTHON) -> Intensity | None:
    """The most specific of the given keys, after checking they name the same country.

    ``env_vars`` maps each kind to the environment variable it came from; ``None`` means
    arguments, named in messages as ``naming`` spells them.
    """
    given = [(kind, key) for kind, key in (("cloud", cloud), ("region", region), ("country", country))
             if key is not None]
    if not given:
        return None

    def label(kind: str) -> str:
        return env_vars[kind] if env_vars else naming(kind)

    def example(kind: str, key: str) -> str:
        return f"{env_vars[kind]}={key!r}" if env_vars else naming.example(kind, key)

    found = []
    for kind, key in given:
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{label(kind)} must be a non-empty location key, got {key!r}")
        try:
            found.append((kind, key, lookup_key(key, kind, naming)))
        except CarbonDataError as exc:
            raise CarbonDataError(f"{env_vars[kind]}={key!r}: {exc}" if env_vars else str(exc)) from None
    # Agreement needs two keys: a single one loads no other table.
    countries = {kind: _country_of(hit.key) for kind, _key, hit in found} if len(found) > 1 else {}
    if len({c for c in countries.values() if c}) > 1:
        detail = ", ".join(f"{example(kind, key)} ({countries[kind]})" for kind, key, _ in found)
        raise ConfigError(f"the location settings disagree: {detail}; give only one of them")
    kind, _key, hit = found[0]
    return replace(hit, located_by=f"env:{env_vars[kind]}" if env_vars else "argument")


def check_location(country: str | None = None, region: str | None = None, cloud: str | None = None,
                   naming: Naming = PYTHON) -> None:
    """Raise as :func:`locate` would for these location arguments (unknown keys, keys that disagree)."""
    _explicit(country, region, cloud, naming=naming)


def _country_of(key: str) -> str:
    row = row_for(key)
    return row.country_iso3 if row is not None else ""


def _azure_arm_name(key: str) -> str | None:
    """``azure:westeurope`` for ``azure:West Europe``; ``None`` for keys of other providers.

    Azure shows display names ("West Europe", which App Service's ``REGION_NAME`` also uses);
    its resource names, the bundled keys, drop the spaces and the case.
    """
    provider, sep, region = key.partition(":")
    if not sep or provider.strip().casefold() != "azure":
        return None
    return "azure:" + region.replace(" ", "").casefold()


def lookup_key(key: str, kind: str | None = None, naming: Naming = PYTHON) -> Intensity:
    """:func:`~wattprint.core.carbon.table.lookup`, also accepting Azure display names.

    Raises:
        CarbonDataError: as ``lookup``, naming the key as given.
    """
    try:
        return lookup(key, kind, naming)
    except CarbonDataError as exc:
        arm = _azure_arm_name(key) if isinstance(key, str) and kind in (None, "cloud") else None
        if arm is None:
            raise
        try:
            return lookup(arm, "cloud")
        except CarbonDataError:
            raise exc from None


def _from_hints(env: Mapping[str, str], runtime: bool) -> Intensity | None:
    """The first cloud hint whose runtime marker is set (``runtime``) or unset (configuration)."""
    for var, provider in CLOUD_HINTS:
        value = env.get(var, "").strip()
        if not value:
            continue
        in_runtime = any(env.get(m, "").strip() for m in RUNTIME_MARKERS.get(var, ()))
        if in_runtime != runtime:
            continue
        key = f"{provider}:{value}"
        try:
            hit = lookup_key(key, "cloud")
        except CarbonDataError:
            logger.debug("%s=%r is not a %s region in the bundled table; ignored", var, value, provider)
            continue
        if not runtime:
            logger.info("location taken from %s=%s, SDK configuration rather than proof that this "
                        "code runs there; set WATTPRINT_CLOUD or cloud= to confirm it", var, value)
        return replace(hit, located_by=f"env:{var}")
    return None


def _from_timezone(timezone: str | None, env: Mapping[str, str]) -> Intensity | None:
    zone = detect_timezone(env) if timezone is None else (timezone or None)
    iso2 = timezone_country(zone)
    if iso2 is None:
        return None
    try:
        hit = lookup(iso2, "country")
    except CarbonDataError:
        logger.debug("time zone %s maps to %s, which has no bundled figure; ignored", zone, iso2)
        return None
    return replace(hit, located_by=f"timezone:{zone}")


def locate(
    *,
    country: str | None = None,
    region: str | None = None,
    cloud: str | None = None,
    carbon_intensity: float | str | None = None,
    environ: Mapping[str, str] | None = None,
    timezone: str | None = None,
    naming: Naming = PYTHON,
) -> Intensity:
    """The bundled (static) intensity for the first location the precedence finds.

    Returns :data:`WORLD_AVERAGE` (``located_by="default"``) without warning when nothing is
    found; :func:`resolve_source` issues the warning. Arguments are as for :func:`resolve_source`.

    Raises:
        ConfigError: a bad ``carbon_intensity`` or keys that name different countries.
        CarbonDataError: an unknown key, from an argument or a ``WATTPRINT_*`` variable.
    """
    env = os.environ if environ is None else environ
    if carbon_intensity is not None:
        return custom_intensity(carbon_intensity, opt=naming("carbon_intensity"))
    hit = _explicit(country, region, cloud, naming=naming)
    if hit is not None:
        return hit
    text = env.get(ENV_CARBON_INTENSITY, "").strip()
    if text:
        return custom_intensity(_env_number(text, ENV_CARBON_INTENSITY), f"env:{ENV_CARBON_INTENSITY}",
                                opt=f"{ENV_CARBON_INTENSITY}=")
    env_keys = {k: env.get(var, "").strip() or None
                for k, var in (("country", ENV_COUNTRY), ("region", ENV_REGION), ("cloud", ENV_CLOUD))}
    hit = _explicit(env_keys["country"], env_keys["region"], env_keys["cloud"],
                    {"country": ENV_COUNTRY, "region": ENV_REGION, "cloud": ENV_CLOUD}, naming)
    if hit is not None:
        return hit
    return (_from_hints(env, runtime=True) or _from_timezone(timezone, env)
            or _from_hints(env, runtime=False) or WORLD_AVERAGE)


def resolve_source(
    *,
    country: str | None = None,
    region: str | None = None,
    cloud: str | None = None,
    carbon_intensity: float | str | None = None,
    live: str | IntensitySource | None = None,
    environ: Mapping[str, str] | None = None,
    timezone: str | None = None,
    naming: Naming = PYTHON,
) -> IntensitySource:
    """Build the intensity source a tracker uses, validating everything now.

    Args:
        country: ISO alpha-2, alpha-3 or English name (``"FR"``, ``"FRA"``, ``"France"``).
        region: sub-national key (``"US-CA"``, ``"IN-MH"``, ``"CA-QC"``, ``"SE-SE3"``).
        cloud: ``provider:region`` (``"aws:us-east-1"``, ``"gcp:europe-west1"``, ``"azure:westeurope"``;
            Azure display names such as ``"azure:West Europe"`` too).
        carbon_intensity: a fixed value in gCO2e/kWh; beats every location setting.
        live: ``None`` (bundled annual figures), a provider name (``"electricitymaps"``, ``"uk"``,
            ``"energidataservice"``, ``"watttime"``) or a provider object (any object with
            ``current()``; see :mod:`wattprint.core.carbon.live`). Live providers fall back to the
            bundled figure for the same location when their service cannot be reached.
        environ: environment to read instead of ``os.environ`` (tests).
        timezone: IANA zone to use instead of detecting the system one (tests); ``""`` = none.
        naming: how the caller spells these options, for messages (:mod:`wattprint.core.naming`).

    Returns:
        A :class:`StaticIntensity`, or the live provider.

    Raises:
        ConfigError: negative, NaN, infinite or non-numeric ``carbon_intensity``; keys that
            disagree; ``carbon_intensity`` together with ``live``; a live provider that cannot
            serve the location or lacks its credentials.
        CarbonDataError: an unknown key (the message lists the closest matches).
    """
    static = locate(country=country, region=region, cloud=cloud, carbon_intensity=carbon_intensity,
                    environ=environ, timezone=timezone, naming=naming)
    if static.located_by.startswith("timezone:"):
        _tell_assumed(static, naming)
    if live is None:
        if static.located_by == "default":
            _warn_world(static, naming)
        return StaticIntensity(static)
    if static.key == "custom":
        ci, lv = naming("carbon_intensity"), naming("live")
        raise ConfigError(f"{ci} fixes the intensity, so a live provider would be ignored; pass either {ci} or {lv}, not both")
    from wattprint.core.carbon.live import make_provider  # deferred: only live users pay for it

    provider = make_provider(live, environ=environ)
    bind = getattr(provider, "bind", None)
    fallback = bind(static) if callable(bind) else static
    if isinstance(fallback, Intensity) and fallback.located_by == "default":
        _warn_world(fallback, naming)
    return provider


def _env_number(text: str, var: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{var} must be a number of gCO2e/kWh, got {text!r}") from None


def _warn_world(intensity: Intensity, naming: Naming) -> None:
    examples = {k: naming.example(k, v) for k, v in (("country", "FR"), ("region", "US-CA"), ("cloud", "aws:us-east-1"))}
    warn_user(WORLD_WARNING.format(g=intensity.g_per_kwh, year=intensity.year,
                                   carbon_intensity=naming("carbon_intensity"), **examples))


_told: set[str] = set()  # the time-zone guesses already announced in this process


def _tell_assumed(intensity: Intensity, naming: Naming) -> None:
    """Say once per process which location a time zone made wattprint assume, and how to set it."""
    if intensity.located_by in _told:
        return
    _told.add(intensity.located_by)
    zone = intensity.located_by.partition(":")[2]
    warn_user(TIMEZONE_NOTICE.format(name=intensity.name, key=intensity.key, zone=zone, g=intensity.g_per_kwh,
                                     example=naming.example("country", intensity.key),
                                     region=naming("region"), cloud=naming("cloud")))
