"""wattprint: energy (kWh) and CO2e (kg) of machine-learning training, per epoch.

    import wattprint
    tracker = wattprint.Tracker(project_name="My_ML_Project", experiment_description="Training ResNet-50")
    tracker.start(); train(); record = tracker.stop()

Framework callbacks live in ``wattprint.integrations.{lightning,keras,transformers}``.
"""

from __future__ import annotations

import logging

from wattprint.core.errors import (
    CarbonDataError,
    ConfigError,
    MissingExtraError,
    SensorError,
    StateError,
    WattprintError,
)
from wattprint.core.distributed import RankInfo
from wattprint.core.record import EnergyRecord
from wattprint.core.tracker import Tracker, Window
from wattprint.decorators import track

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CarbonDataError",
    "ConfigError",
    "EnergyRecord",
    "MissingExtraError",
    "RankInfo",
    "SensorError",
    "StateError",
    "Tracker",
    "WattprintError",
    "Window",
    "__version__",
    "track",
]
