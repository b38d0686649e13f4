"""Settings: every option of the Tracker and the callbacks, validated once, in one picklable object.

The Tracker, the three framework callbacks, ``@wattprint.track`` and the command line all
build their configuration here, so every option has one rule and one message::

    settings = Settings.build({"country": "FR", "pue": "aws"})          # errors say country=, pue=
    settings = Settings.build(values, naming=CLI)                        # errors say --country, --pue
    Tracker(settings=settings); EmissionsCallback(settings=settings)

``given`` names the options the caller passed, as opposed to those left at their defaults: it
comes from how the call was made (:func:`accepts_settings`), never from comparing values with
the defaults, so passing a default explicitly still counts as passing it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from wattprint.core import validate
from wattprint.core.distributed import RankInfo
from wattprint.core.errors import ConfigError
from wattprint.core.naming import PYTHON, Naming

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: wattprint's own default CSV: neither CodeCarbon's ``emissions.csv`` nor ECO2AI's ``emission.csv``,
#: so running next to either tool never meets the other's file.
DEFAULT_OUTPUT_FILE = "wattprint.csv"


@dataclass(frozen=True)
class Settings:
    """Validated options (units in the names where they have one), checked however they are made;
    :meth:`build` also records which were given.

    Location: ``country``, ``region``, ``cloud`` (keys, see ``wattprint intensity --list``),
    ``carbon_intensity`` (gCO2e/kWh, overrides the location), ``live`` (a live provider name or
    object). Carbon: ``pue`` (>= 1.0), ``electricity_price`` (per kWh, in ``currency``).
    Outputs: ``output_file`` (CSV, None for none), ``jsonl_file``. Measurement:
    ``measure_period`` (s), ``scope`` (``"machine"`` or ``"process"``), ``measure_host``
    (None: local rank 0 only), ``gpu``, ``ranks``. Callbacks: ``prefix`` of the logged keys,
    ``on_error`` (``"warn"`` or ``"raise"``), ``step_rows`` (also write a CSV row per step
    interval and per validation pass; off by default) and ``log_every_n_steps`` (step
    intervals: None follows the framework's logging cadence, 0 turns them off, N closes one
    every N optimizer steps).
    Live exports (:mod:`wattprint.export`):
    ``prometheus_port`` (a port, or ``"ADDRESS:PORT"``), ``pushgateway_url`` (user-info in it is
    a secret: never shown), ``pushgateway_job``, ``pushgateway_delete``, ``otel`` (OTLP/HTTP as
    the ``OTEL_*`` variables say), ``otel_endpoint``, ``export_period`` (s).
    """

    project_name: str = "wattprint"
    experiment_description: str = ""
    country: str | None = None
    region: str | None = None
    cloud: str | None = None
    carbon_intensity: float | None = None
    live: Any = None
    pue: float = 1.0
    electricity_price: float | None = None
    currency: str = "USD"
    output_file: str | None = DEFAULT_OUTPUT_FILE
    jsonl_file: str | None = None
    measure_period: float = 1.0
    scope: str = "machine"
    measure_host: bool | None = None
    gpu: bool = True
    ranks: RankInfo | None = None
    prefix: str = "emissions/"
    on_error: str = "warn"
    prometheus_port: int | str | None = None
    pushgateway_url: str | None = field(default=None, repr=False)  # may hold a password
    pushgateway_job: str = "wattprint"
    pushgateway_delete: bool = False
    otel: bool = False
    otel_endpoint: str | None = field(default=None, repr=False)
    export_period: float = 10.0
    step_rows: bool = False
    log_every_n_steps: int | None = None
    #: The options the caller passed explicitly.
    given: frozenset[str] = field(default=frozenset(), compare=False)
    #: How messages spell the options for this caller.
    naming: Naming = field(default=PYTHON, compare=False)

    def __post_init__(self) -> None:
        # Every way of making settings checks them: build(), the constructor, dataclasses.replace.
        for name, check in _CHECKS.items():
            object.__setattr__(self, name, check(getattr(self, name), self.naming(name)))
        if self.live is not None:
            _check_live(self.live, self.naming("live"))
        # Deferred: the carbon tables load on first use.
        from wattprint.core.carbon.location import check_location

        check_location(self.country, self.region, self.cloud, self.naming)

    @classmethod
    def build(cls, values: Mapping[str, Any] | None = None, *, naming: Naming = PYTHON) -> Settings:
        """Validate ``values`` (option name -> value; those left out keep their defaults), and
        remember which options were given.

        Raises:
            ConfigError, CarbonDataError: a bad value, named as ``naming`` spells it.
            TypeError: a name that is no option (with the closest one).
        """
        values = dict(values or {})
        unknown = [name for name in values if name not in OPTIONS]
        if unknown:
            raise TypeError(_unknown_option(unknown[0]))
        return cls(**values, given=frozenset(values), naming=naming)

    def spelled(self, *names: str) -> str:
        """``"pue=, scope="``: options as this caller spells them, for messages."""
        return ", ".join(self.naming(n) for n in names)


OPTIONS = tuple(f.name for f in fields(Settings) if f.name not in ("given", "naming"))
#: The options that configure a Tracker (the others are the callbacks' own).
TRACKER_OPTIONS = tuple(o for o in OPTIONS if o not in ("prefix", "on_error", "step_rows", "log_every_n_steps"))


def _optional(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, opt: None if value is None else check(value, opt)


def _location_key(value: object, opt: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{opt} must be a non-empty location key such as 'FR', got {value!r}")
    return value


def _ranks(value: object, opt: str) -> RankInfo:
    if not isinstance(value, RankInfo):
        raise ConfigError(f"{opt} must be a wattprint.RankInfo(rank, local_rank, world_size), got {value!r}")
    return value


def _steps(value: object, opt: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{opt} must be a whole number of steps >= 0 (0: no step intervals), or None for the "
                          f"framework's own logging cadence, got {value!r}.")
    return value


def _pue(value: object, opt: str) -> float:
    from wattprint.core.carbon.pue import validate_pue

    return validate_pue(value, opt)


def _g_per_kwh(value: object, opt: str) -> float:
    from wattprint.core.carbon.intensity import validate_g_per_kwh

    return validate_g_per_kwh(value, opt)


def _check_live(value: object, opt: str) -> None:
    if not isinstance(value, str) and not callable(getattr(value, "current", None)):
        raise ConfigError(f"{opt} must be a live provider name such as 'uk' or an object with current(), got {value!r}")


_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "project_name": functools.partial(validate.text, required="resnet50-imagenet"),
    "experiment_description": validate.text,
    "country": _optional(_location_key),
    "region": _optional(_location_key),
    "cloud": _optional(_location_key),
    "carbon_intensity": _optional(_g_per_kwh),
    "pue": _pue,
    "electricity_price": _optional(lambda v, opt: validate.nonnegative(v, opt, "per kWh")),
    "currency": functools.partial(validate.text, limit=validate.MAX_CURRENCY_CHARS),
    "output_file": validate.path,
    "jsonl_file": validate.path,
    "measure_period": validate.measure_period,
    "scope": lambda v, opt: validate.choice(v, opt, validate.SCOPES),
    "measure_host": functools.partial(validate.flag, optional=True),
    "gpu": validate.flag,
    "ranks": _optional(_ranks),
    "prefix": lambda v, opt: validate.text(v, opt, limit=validate.MAX_NAME_CHARS),
    "on_error": lambda v, opt: validate.choice(v, opt, validate.ON_ERROR),
    "prometheus_port": lambda v, opt: _endpoints().listen(v, opt),
    "pushgateway_url": lambda v, opt: _endpoints().url(v, opt),
    "pushgateway_job": functools.partial(validate.text, required="training"),
    "pushgateway_delete": validate.flag,
    "otel": validate.flag,
    "otel_endpoint": lambda v, opt: _endpoints().url(v, opt),
    "export_period": lambda v, opt: _endpoints().export_period(v, opt),
    "step_rows": validate.flag,
    "log_every_n_steps": _optional(lambda v, opt: _steps(v, opt)),
}


def _endpoints():
    from wattprint.export import (
        endpoints,  # standard library only, loaded for these options
    )

    return endpoints


def _unknown_option(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, OPTIONS, n=1)
    return f"unexpected option {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")


def _did_you_mean(signature: inspect.Signature, args: tuple, kwargs: Mapping[str, Any]) -> str:
    """``"; did you mean 'country'?"`` for a mistyped keyword argument, the positional
    parameters for too many positional arguments, else ``""``."""
    import difflib

    params = signature.parameters.values()
    positional = [p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(args) > len(positional) and not any(p.kind is p.VAR_POSITIONAL for p in params):
        return f"; only {', '.join(positional) or 'keyword arguments'} may be given by position, the rest by name"
    names = [n for n, p in signature.parameters.items() if n != "self" and p.kind is not p.VAR_KEYWORD]
    for given in kwargs:
        if given not in signature.parameters:
            close = difflib.get_close_matches(given, names, n=1)
            if close:
                return f"; did you mean {close[0]!r}?"
    return ""


def accepts_settings() -> Callable:
    """Decorate an ``__init__`` whose parameters include options: it then receives ``settings=``.

    The call is bound to the signature (a wrong argument is the usual ``TypeError``, naming the
    class); the options it passed are validated into one :class:`Settings`, with ``given``
    telling them from defaults, and the ``__init__`` is called with that object as
    ``settings=`` and its other arguments unchanged. A caller may pass a ready ``settings=``
    instead of the options, not both.
    """

    def decorate(init: Callable) -> Callable:
        signature = inspect.signature(init)
        options = [name for name in signature.parameters if name in OPTIONS]

        @functools.wraps(init)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{type(self).__name__}() {exc}{_did_you_mean(signature, args, kwargs)}") from None
            passed = bound.arguments
            values = {name: passed.pop(name) for name in options if name in passed}
            ready = passed.pop("settings", None)
            if ready is not None and values:
                raise ConfigError(f"pass either settings= or individual options ({', '.join(PYTHON(n) for n in values)}), not both.")
            if ready is not None and not isinstance(ready, Settings):
                raise ConfigError(f"settings= must be a wattprint.Settings, got {type(ready).__name__}.")
            passed.pop("self", None)
            init(self, settings=ready or Settings.build(values), **passed)

        return wrapper

    return decorate
