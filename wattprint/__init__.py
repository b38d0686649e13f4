"""wattprint: energy (kWh) and CO2e (kg) of machine-learning training, per epoch.

    import wattprint
    tracker = wattprint.Tracker(project_name="My_ML_Project", experiment_description="Training ResNet-50")
    tracker.start(); train(); record = tracker.stop()

Framework callbacks live in ``wattprint.integrations.{lightning,keras,transformers}``.

The public names below are imported on first use, so that ``wattprint report`` and
``wattprint intensity`` (which read files and tables) never load the Tracker, psutil or the
host sensors.
"""

from __future__ import annotations

import importlib
import sys

from wattprint.core.errors import (
    CarbonDataError,
    ConfigError,
    MissingExtraError,
    SensorError,
    StateError,
    WattprintError,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    from wattprint.core.distributed import RankInfo
    from wattprint.core.record import EnergyRecord
    from wattprint.core.settings import Settings
    from wattprint.core.tracker import Tracker, Window
    from wattprint.decorators import track
    from wattprint.planner import Plan, plan

__version__ = "0.1.0"

if "logging" in sys.modules:  # already loaded: the package logger gets its NullHandler now, at no cost
    from wattprint import _log

    _log.end_at_null_handler(sys.modules["logging"])

#: Public name -> the module that defines it.
_LAZY = {
    "EnergyRecord": "wattprint.core.record",
    "Plan": "wattprint.planner",
    "RankInfo": "wattprint.core.distributed",
    "Settings": "wattprint.core.settings",
    "Tracker": "wattprint.core.tracker",
    "Window": "wattprint.core.tracker",
    "plan": "wattprint.planner",
    "track": "wattprint.decorators",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'wattprint' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CarbonDataError",
    "ConfigError",
    "EnergyRecord",
    "MissingExtraError",
    "Plan",
    "RankInfo",
    "SensorError",
    "Settings",
    "StateError",
    "Tracker",
    "WattprintError",
    "Window",
    "__version__",
    "plan",
    "track",
]
