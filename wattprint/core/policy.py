"""What an error inside measurement does to the training around it: ``on_error="warn"`` or ``"raise"``.

``warn`` (the callbacks' default): the first error warns, later ones go to the DEBUG log, and
the work that failed is skipped; training goes on. ``raise``: the error propagates.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from wattprint._log import getLogger
from wattprint.core.naming import PYTHON, Naming

T = TypeVar("T")


class ErrorPolicy:
    """Runs work under ``on_error``; ``logger`` is where later errors go at DEBUG level."""

    def __init__(self, on_error: str, logger: str, naming: Naming = PYTHON) -> None:
        self.on_error = on_error
        self._log = getLogger(logger)
        self._naming = naming
        self._warned = False

    def attempt(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[bool, T | None]:
        """Run ``fn``; returns ``(True, result)``, or ``(False, None)`` after reporting an error."""
        try:
            return True, fn(*args, **kwargs)
        except Exception as exc:
            if self.on_error == "raise":
                raise
            self.report(what, exc)
            return False, None

    def report(self, what: str, exc: BaseException) -> None:
        """Tell the user ``what`` failed: a warning the first time, the DEBUG log after that."""
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"wattprint: {what} failed ({type(exc).__name__}: {exc}); training goes on, without "
                f"energy metrics where they could not be measured. Further errors of this callback "
                f"are logged at DEBUG level (logger {self._log.name!r}). Pass "
                f"{self._naming.example('on_error', 'raise')} to stop instead.",
                RuntimeWarning,
                stacklevel=4,
            )
        self._log.debug("wattprint: %s failed", what, exc_info=exc)
