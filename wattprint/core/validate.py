"""Checks of user-supplied settings, shared by the Tracker, the callbacks and the CLI.

Each raises :class:`ConfigError` with a message that names the argument and says what to give.
"""

from __future__ import annotations

import math
import warnings

from wattprint.core.errors import ConfigError

SCOPES = ("machine", "process")
#: Faster sampling than this costs CPU for no accuracy: hardware power readings update at ~10 Hz.
MIN_MEASURE_PERIOD_S = 0.1
# Energy counters wrap (RAPL's 32-bit microjoule counters after ~65 kJ: under three minutes at
# 400 W) and a wrap is only seen if the counter is read at least once per wrap.
MAX_MEASURE_PERIOD_S = 60.0
MAX_NAME_CHARS = 256


def finite_number(name: str, value: object) -> float:
    """``value`` as a float; ConfigError if it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}.")
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(f"{name} must be a finite number, got {value!r}.")
    return out


def measure_period(value: object) -> float:
    """Sampling period in seconds: > 0; outside 0.1..60 s it is clamped with a warning."""
    period = finite_number("measure_period", value)
    if period <= 0:
        raise ConfigError(f"measure_period must be > 0 seconds, got {value!r}; the default is 1.0.")
    if period < MIN_MEASURE_PERIOD_S:
        warnings.warn(
            f"wattprint: measure_period={period} s is below {MIN_MEASURE_PERIOD_S} s, where sensors "
            f"give no new information; using {MIN_MEASURE_PERIOD_S} s.",
            RuntimeWarning,
            stacklevel=3,
        )
        period = MIN_MEASURE_PERIOD_S
    if period > MAX_MEASURE_PERIOD_S:
        warnings.warn(
            f"wattprint: measure_period={period} s is above {MAX_MEASURE_PERIOD_S:g} s; energy counters "
            f"could wrap unseen between reads; using {MAX_MEASURE_PERIOD_S:g} s.",
            RuntimeWarning,
            stacklevel=3,
        )
        period = MAX_MEASURE_PERIOD_S
    return period


def scope(value: object) -> str:
    if value not in SCOPES:
        raise ConfigError(f"scope must be one of {SCOPES}, got {value!r}.")
    return str(value)


def name(field: str, value: object) -> str:
    """A project name or description: text of at most 256 characters, no control characters."""
    if not isinstance(value, str):
        raise ConfigError(f"{field} must be a string, got {type(value).__name__}.")
    if field == "project_name" and not value.strip():
        raise ConfigError("project_name must not be empty; it labels every row (for example 'resnet50-imagenet').")
    if len(value) > MAX_NAME_CHARS:
        raise ConfigError(f"{field} is {len(value)} characters long; keep it under {MAX_NAME_CHARS}.")
    if any(ord(c) < 32 and c != "\t" for c in value):
        raise ConfigError(f"{field} contains a newline or control character; use a single line of text.")
    return value
