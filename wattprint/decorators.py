"""``@wattprint.track(...)``: measure every call of a function as one run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def track(func: F | None = None, /, **tracker_kwargs: Any) -> Any:
    """Decorate a function so each call runs inside a fresh :class:`~wattprint.Tracker`.

    ``@track`` or ``@track(project_name="x", country="FR")``; the keyword arguments are the
    Tracker's and are validated once, when the decorator is applied, ``output_file`` and
    ``jsonl_file`` included when given (left out, ``output_file`` is the Tracker's default,
    ``wattprint.csv`` in the working directory of each call, and is checked at the call).
    ``wrapper.last_record`` holds the :class:`~wattprint.EnergyRecord` of the latest call
    (energy in kWh, CO2e in kg); a call that raised leaves its record there too, marked
    ``interrupted``, and a call that could not start measuring leaves ``None``.
    """
    from wattprint.core.settings import DEFAULT_OUTPUT_FILE
    from wattprint.core.tracker import COLLABORATORS, Tracker

    # Validate everything now, so a bad country or a missing output directory fails at import
    # of the user's module, not after training: constructing a Tracker checks, and neither
    # writes nor starts anything. The default output_file is left to each call, since it is
    # relative to the working directory at that time; a path given is checked as given.
    ready = tracker_kwargs.get("settings")
    if ready is not None:
        given_output = "output_file" in getattr(ready, "given", ())
        unchecked = {"settings": replace(ready, output_file=None)} if not given_output else {}
    else:
        given_output = "output_file" in tracker_kwargs
        unchecked = {"output_file": None} if not given_output else {}
    probe = Tracker(**{**tracker_kwargs, **unchecked})
    settings = probe.settings
    if not given_output:
        settings = replace(settings, output_file=DEFAULT_OUTPUT_FILE, given=settings.given - {"output_file"})
    others = {k: v for k, v in tracker_kwargs.items() if k in COLLABORATORS}

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Cleared first so a call that fails before measuring never shows an older record.
            wrapper.last_record = None  # type: ignore[attr-defined]
            tracker = Tracker(settings=settings, **others)
            try:
                with tracker:
                    return fn(*args, **kwargs)
            finally:
                # In finally: a call that raised still gets its (interrupted) record.
                wrapper.last_record = tracker.last_record  # type: ignore[attr-defined]

        wrapper.last_record = None  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate

