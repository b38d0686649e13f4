"""Typed errors. Every message says what to do about it."""

from __future__ import annotations


class WattprintError(Exception):
    """Base class of every error wattprint raises on purpose."""


class ConfigError(WattprintError, ValueError):
    """Bad configuration, raised at construction time, before any measurement starts."""


class SensorError(WattprintError):
    """A sensor could not be read. The meter marks its domain failed and carries on."""


class CarbonDataError(WattprintError, LookupError):
    """A location key is unknown, or carbon-intensity data could not be obtained."""


class StateError(WattprintError, RuntimeError):
    """An API call made in the wrong order, such as ``stop()`` before ``start()``."""


class MissingExtraError(WattprintError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module!r} is not installed; install it with: pip install 'wattprint[{extra}]'"
        )
        self.module = module
        self.extra = extra
