"""Loggers made on first use, so that ``import wattprint`` and a tracker's start need no ``logging``.

Each module writes ``log = getLogger(__name__)`` with this module's :func:`getLogger`. The
object it returns imports :mod:`logging` and asks it for the standard logger of that name when
the first message is logged (most runs log none). Records then go through the standard logging
machinery under the same names as before (``wattprint.core.sampler``, ...), so
``logging.getLogger("wattprint")`` configures them as usual.
"""

from __future__ import annotations

PACKAGE = "wattprint"


class LazyLogger:
    """A named logger that becomes the ``logging`` one the first time it is used."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger = None

    @property
    def logger(self):
        """The standard :class:`logging.Logger` of this name (imports ``logging`` once)."""
        if self._logger is None:
            import logging

            end_at_null_handler(logging)
            self._logger = logging.getLogger(self.name)
        return self._logger

    # stacklevel + 1: the record names the caller of these methods, not this module.
    def debug(self, msg, *args, stacklevel: int = 1, **kwargs) -> None:
        self.logger.debug(msg, *args, stacklevel=stacklevel + 1, **kwargs)

    def info(self, msg, *args, stacklevel: int = 1, **kwargs) -> None:
        self.logger.info(msg, *args, stacklevel=stacklevel + 1, **kwargs)

    def warning(self, msg, *args, stacklevel: int = 1, **kwargs) -> None:
        self.logger.warning(msg, *args, stacklevel=stacklevel + 1, **kwargs)

    def error(self, msg, *args, stacklevel: int = 1, **kwargs) -> None:
        self.logger.error(msg, *args, stacklevel=stacklevel + 1, **kwargs)

    def exception(self, msg, *args, stacklevel: int = 1, **kwargs) -> None:
        self.logger.exception(msg, *args, stacklevel=stacklevel + 1, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)  # not made yet (copy, pickle): never the logger's privates
        # Anything else (isEnabledFor, handlers, setLevel, ...) is the standard logger's.
        return getattr(self.logger, name)

    def __reduce__(self):
        return getLogger, (self.name,)

    def __repr__(self) -> str:
        return f"<LazyLogger {self.name}>"


def end_at_null_handler(logging) -> None:
    """Give the ``wattprint`` logger its NullHandler (once), as a library's loggers have.

    Without a configured handler, Python's last-resort handler would print wattprint's
    warnings to stderr. ``logging`` is the module, passed by a caller that has it already.
    """
    package = logging.getLogger(PACKAGE)
    if not any(isinstance(h, logging.NullHandler) for h in package.handlers):
        package.addHandler(logging.NullHandler())


def getLogger(name: str) -> LazyLogger:
    """The logger named ``name``, made by ``logging`` when it first logs."""
    return LazyLogger(name)
