"""``@wattprint.track(...)``: measure every call of a function as one run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def track(func: F | None = None, /, **tracker_kwargs: Any) -> Any:
    """Decorate a function so each call runs inside a fresh :class:`~wattprint.Tracker`.

    ``@track`` or ``@track(project_name="x", country="FR")``; the keyword arguments are the
    Tracker's and are validated when the decorator is applied. The record of the last call is
    kept on the wrapper as ``wrapper.last_record``.
    """
    from wattprint.core.tracker import Tracker

    # Validate now, so a bad country fails at import of the user's module, not after training.
    Tracker(**{**tracker_kwargs, "output_file": None})

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with Tracker(**tracker_kwargs) as tracker:
                result = fn(*args, **kwargs)
            wrapper.last_record = tracker.last_record  # type: ignore[attr-defined]
            return result

        wrapper.last_record = None  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
