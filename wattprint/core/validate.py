"""Checks of user-supplied settings: one rule per kind of value, one message shape.

Each check takes the value and the option as the caller spells it (``"pue="``, ``"--pue"``:
see :mod:`wattprint.core.naming`) and returns the value in its canonical type, or raises
:class:`ConfigError` saying what to give. Numbers must be real numbers: a string such as
``"1.2"`` is refused by every numeric option alike (command lines convert their text first).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping

from wattprint.core.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

SCOPES = ("machine", "process")
ON_ERROR = ("warn", "raise")
#: Faster sampling than this costs CPU for no accuracy: hardware power readings update at ~10 Hz.
MIN_MEASURE_PERIOD_S = 0.1
# Energy counters wrap (RAPL's 32-bit microjoule counters after ~65 kJ: under three minutes at
# 400 W) and a wrap is only seen if the counter is read at least once per wrap.
MAX_MEASURE_PERIOD_S = 60.0
MAX_NAME_CHARS = 256
MAX_CURRENCY_CHARS = 16
#: Window indices beyond this are mistakes (and too long for some readers' integer columns).
MAX_INDEX = 10**15
#: The parameters of one window, as JSON text: well under the csv module's 128 KiB cell limit,
#: so every reader can read the row back.
MAX_PARAMETERS_CHARS = 32_000


def real_number(value: object, opt: str, requirement: str = "") -> float:
    """``value`` as a float if it is a finite real number (int, float, numpy scalar; not bool or str).

    ``requirement`` completes "must be a number" in the message: ``" >= 0 gCO2e/kWh"``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _other_real(value):
        hint = " (a string: pass the number itself)" if isinstance(value, str) else ""
        raise ConfigError(f"{opt} must be a number{requirement}, got {value!r}{hint}")
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(f"{opt} must be a finite number{requirement}, got {value!r}")
    return out


def _other_real(value: object) -> bool:
    """A real number of another type (numpy scalars, fractions); ``numbers`` loads only for those."""
    import numbers

    return isinstance(value, numbers.Real)


def nonnegative(value: object, opt: str, unit: str) -> float:
    """A finite real number >= 0, in ``unit`` (named in the message)."""
    out = real_number(value, opt, f" >= 0 {unit}")
    if out < 0:
        raise ConfigError(f"{opt} must be a finite number >= 0 {unit}, got {value!r}")
    return out


def measure_period(value: object, opt: str) -> float:
    """Sampling period in seconds: > 0; outside 0.1..60 s it is clamped with a warning."""
    period = real_number(value, opt, " of seconds > 0")
    if period <= 0:
        raise ConfigError(f"{opt} must be > 0 seconds, got {value!r}; the default is 1.0.")
    if period < MIN_MEASURE_PERIOD_S:
        warnings.warn(
            f"wattprint: {opt} {period:g} s is below {MIN_MEASURE_PERIOD_S} s, where sensors "
            f"give no new information; using {MIN_MEASURE_PERIOD_S} s.",
            RuntimeWarning,
            stacklevel=6,
        )
        period = MIN_MEASURE_PERIOD_S
    if period > MAX_MEASURE_PERIOD_S:
        warnings.warn(
            f"wattprint: {opt} {period:g} s is above {MAX_MEASURE_PERIOD_S:g} s; energy counters "
            f"could wrap unseen between reads; using {MAX_MEASURE_PERIOD_S:g} s.",
            RuntimeWarning,
            stacklevel=6,
        )
        period = MAX_MEASURE_PERIOD_S
    return period


def choice(value: object, opt: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{opt} must be one of {', '.join(map(repr, allowed))}, got {value!r}.")
    return value


def flag(value: object, opt: str, *, optional: bool = False) -> bool | None:
    """``True`` or ``False`` (or ``None`` where ``optional``); anything else is refused."""
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        allowed = "True, False or None" if optional else "True or False"
        raise ConfigError(f"{opt} must be {allowed}, got {value!r}.")
    return value


def text(value: object, opt: str, *, limit: int = MAX_NAME_CHARS, required: str = "") -> str:
    """One line of text of at most ``limit`` characters; ``required`` (an example) forbids an empty one."""
    if not isinstance(value, str):
        raise ConfigError(f"{opt} must be a string, got {type(value).__name__}.")
    if required and not value.strip():
        raise ConfigError(f"{opt} must not be empty; it labels every row (for example {required!r}).")
    if len(value) > limit:
        raise ConfigError(f"{opt} is {len(value)} characters long; keep it under {limit}.")
    if any(ord(c) < 32 and c != "\t" for c in value):
        raise ConfigError(f"{opt} contains a newline or control character; use a single line of text.")
    return value


def path(value: object, opt: str) -> str | None:
    """A file path (text or ``os.PathLike``), or ``None`` for no file."""
    if value is None:
        return None
    try:
        out = os.fspath(value)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError(f"{opt} must be a file path or None, got {value!r}.") from None
    if isinstance(out, bytes):
        raise ConfigError(f"{opt} must be a text path, got bytes {value!r}.")
    if not out or "\x00" in out:
        raise ConfigError(f"{opt} must be a file path or None, got {value!r}.")
    return out


def window_name(value: object, opt: str = "name=") -> str:
    """A window's name: one line of text, not empty, at most :data:`MAX_NAME_CHARS` characters."""
    return text(value, opt, required="epoch")


def window_index(value: object, opt: str = "index=") -> int | None:
    """A window's number: an integer (numpy's too, not a bool) of at most 15 digits, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) and not _integral(value):
        raise ConfigError(f"{opt} must be an integer or None, got {value!r}.")
    out = int(value)  # type: ignore[call-overload]
    if abs(out) >= MAX_INDEX:
        raise ConfigError(f"{opt} {out} is out of range; window numbers have at most 15 digits.")
    return out


def _integral(value: object) -> bool:
    import numbers

    return isinstance(value, numbers.Integral)


def parameters(value: object, opt: str = "parameters=") -> dict[str, Any]:
    """A window's parameters: a mapping (or None) whose JSON text is at most :data:`MAX_PARAMETERS_CHARS`."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{opt} must be a dict of names to values, or None, got {type(value).__name__}.")
    out = dict(value)
    if not out:
        return out
    try:
        import json  # deferred: a tracker's start opens no window with parameters

        size = len(json.dumps({str(k): v for k, v in out.items()}, default=str))
    except (TypeError, ValueError) as exc:  # a value whose str() fails, a circular structure
        raise ConfigError(f"{opt} cannot be written as JSON ({exc}); pass plain numbers and text.") from None
    if size > MAX_PARAMETERS_CHARS:
        raise ConfigError(f"{opt} is {size} characters as JSON; keep it under {MAX_PARAMETERS_CHARS} "
                          "(log large values elsewhere).")
    return out


def provides(value: object, opt: str, methods: tuple[str, ...], what: str) -> object:
    """``value`` if it has every one of ``methods`` (callable); ConfigError naming ``what`` it should be."""
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if missing:
        raise ConfigError(f"{opt} must be {what} (with {', '.join(m + '()' for m in missing)}), "
                          f"got {type(value).__name__} {value!r:.80}.")
    return value


def objects(value: object, opt: str, methods: tuple[str, ...], what: str) -> list[object]:
    # ``what`` names one item: "a sensor".
    """A list of objects that each :func:`provide <provides>` ``methods`` (a string is no list)."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{opt} must be a list, each item {what}, got {type(value).__name__}.")
    items = list(value)  # type: ignore[call-overload]
    for i, item in enumerate(items):
        provides(item, f"{opt}[{i}]", methods, what)
    return items
