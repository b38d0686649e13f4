"""Warnings that point at the user's own line, not at wattprint's or a framework's.

A warning about the user's configuration (no location found, a location guessed) is raised deep
inside wattprint, often while a framework calls a callback. ``warnings.warn`` attributes it to
the frame ``stacklevel`` levels up; this module finds the first frame that is neither
wattprint's nor a training framework's, so the message names the line the user wrote
(``Tracker(...)``, ``trainer.fit(...)``).
"""

from __future__ import annotations

import sys
import warnings

#: Modules whose frames are skipped: wattprint and the frameworks that call its callbacks.
_NOT_USER = ("wattprint", "lightning", "pytorch_lightning", "keras", "transformers", "accelerate",
             "torch", "tensorflow", "jax", "importlib", "functools", "contextlib", "threading")


def _is_user(module: str) -> bool:
    return not any(module == m or module.startswith(m + ".") for m in _NOT_USER)


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)``, attributed to the user's line."""
    frame = sys._getframe(1)  # whoever asked to warn
    level = 2  # that frame, as warnings.warn called here counts it
    while frame is not None and not _is_user(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        level += 1
    # Only wattprint's frames (a thread of its own): attribute it to the caller.
    warnings.warn(message, category, stacklevel=level if frame is not None else 2)
