"""Optional framework imports that fail with the pip extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from wattprint.core.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``; if it (or its top-level package) is absent, raise MissingExtraError.

    Any other import failure (a broken install, a missing backend of the framework itself)
    propagates unchanged: its own message says more than ours would.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module == missing or module.startswith(missing + "."):
            raise MissingExtraError(module, extra) from exc
        raise
