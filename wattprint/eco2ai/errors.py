"""ECO2AI's exception names, as wattprint errors: ``except`` clauses written for either catch them."""

from __future__ import annotations

from wattprint.core.errors import ConfigError, StateError


class IncorrectMethodSequenceError(StateError):
    """A method called out of order (``new_epoch()`` before ``start_training()``, say)."""


class NotNeededExtensionError(ConfigError):
    """A file name without the ``.csv`` extension ECO2AI requires."""


class NoCountryCodeError(ConfigError):
    """``region=`` given without ``alpha_2_code=``, the country it is a region of."""


class IncorrectPricingDict(ConfigError):
    """An ``electricity_pricing`` table that does not cover a day in order without overlaps."""


class FileDoesNotExistsError(ConfigError, FileNotFoundError):
    """The file given to :func:`~wattprint.eco2ai.summary` does not exist."""
