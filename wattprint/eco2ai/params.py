"""ECO2AI's remembered defaults (``set_params`` / ``get_params``), kept in the user's configuration.

ECO2AI keeps them in a file inside its installed package, which a read-only or shared install
cannot hold; here they live in ``$XDG_CONFIG_HOME/wattprint/eco2ai.json`` (``~/.config`` when
the variable is unset, ``%APPDATA%`` on Windows), one JSON object, replaced atomically.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError

#: What ``set_params`` fills in for a name it is not given (ECO2AI's values).
SET_DEFAULTS: dict[str, Any] = {
    "project_name": "default project name",
    "experiment_description": "default experiment description",
    "file_name": "emission.csv",
    "measure_period": 10,
    "pue": 1,
}
#: What ``get_params`` returns before anything was set (ECO2AI's values, capitals included).
UNSET: dict[str, Any] = {
    "project_name": "Default project name",
    "experiment_description": "no experiment description",
    "file_name": "emission.csv",
    "measure_period": 10,
    "pue": 1,
}


def config_path() -> Path:
    """The file the parameters are kept in."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    if not base:
        appdata = os.environ.get("APPDATA", "").strip() if sys.platform == "win32" else ""
        base = appdata or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "wattprint" / "eco2ai.json"


def set_params(**params: Any) -> None:
    """Remember Tracker defaults: ``project_name``, ``experiment_description``, ``file_name``,
    ``measure_period`` (s) and ``pue``. As in ECO2AI, a name left out is reset to ECO2AI's
    default, and other names are kept but not used.

    Raises:
        ConfigError: the configuration file cannot be written (the message names it).
    """
    values = {**SET_DEFAULTS, **params}
    path = config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".eco2ai-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(values, f, default=str)
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigError(
            f"cannot save the ECO2AI parameters to {path} ({exc.strerror or exc}); "
            "set XDG_CONFIG_HOME to a writable directory"
        ) from None


def get_params() -> dict[str, Any]:
    """The remembered Tracker defaults (ECO2AI's own until :func:`set_params` is called).

    An unreadable or damaged file warns once and reads as nothing set.
    """
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return dict(UNSET)
    except (OSError, UnicodeDecodeError) as exc:
        warnings.warn(f"wattprint.eco2ai: cannot read {path} ({exc}); using ECO2AI's defaults",
                      RuntimeWarning, stacklevel=2)
        return dict(UNSET)
    if not text.strip():
        return dict(UNSET)
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        warnings.warn(f"wattprint.eco2ai: {path} is not a JSON object; using ECO2AI's defaults",
                      RuntimeWarning, stacklevel=2)
        return dict(UNSET)
    return values
