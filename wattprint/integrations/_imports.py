"""Optional framework imports: the integration module always imports; using it without its framework
raises one short :class:`~wattprint.MissingExtraError` naming the extra to install.

Every integration follows the same pattern::

    keras = optional("keras")
    class EmissionsCallback(EmissionsCallbackBase, keras.callbacks.Callback if keras else missing("keras", "keras")):
        ...
"""

from __future__ import annotations

import importlib
from types import ModuleType

from wattprint.core.errors import MissingExtraError


def optional(module: str) -> ModuleType | None:
    """``module`` imported, or None if it (or its top-level package) is not installed.

    Any other import failure (a broken install, a missing dependency of the framework itself)
    propagates unchanged: its own message says more than ours would.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing_name = exc.name or ""
        if module == missing_name or module.startswith(missing_name + "."):
            return None
        raise


def missing(module: str, extra: str) -> type:
    """A stand-in base class for an absent framework: creating an instance raises the install hint.

    From ``__new__``, before any ``__init__`` runs: the traceback is the user's line and this one.
    """

    class Missing:
        def __new__(cls, *args: object, **kwargs: object) -> Missing:
            raise MissingExtraError(module, extra)

    Missing.__qualname__ = Missing.__name__ = f"Missing_{module.replace('.', '_')}"
    return Missing
