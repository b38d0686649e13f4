"""ECO2AI's public API, measured by wattprint: ``import wattprint.eco2ai as eco2ai`` is the only change.

    import wattprint.eco2ai as eco2ai

    tracker = eco2ai.Tracker(project_name="YourProjectName", experiment_description="training the model",
                             alpha_2_code="US", region="California")
    tracker.start()
    ...
    tracker.stop()                                   # a row in emission.csv, ECO2AI's format
    eco2ai.summary("emission.csv")                   # needs pandas

``Tracker`` (``start``/``stop``, ``start_training``/``new_epoch``/``stop_training``, the
accessors), ``track``, ``set_params``/``get_params`` (kept in the user's configuration
directory), ``summary`` and ``available_devices``, with ECO2AI's exception names. What differs
from ECO2AI, and why, is in :class:`Tracker`'s docstring. The files it writes are ECO2AI's,
which ``wattprint report`` reads.
"""

from __future__ import annotations

from wattprint.eco2ai.devices import (
    all_available_cpu,
    all_available_gpu,
    available_devices,
)
from wattprint.eco2ai.errors import (
    FileDoesNotExistsError,
    IncorrectMethodSequenceError,
    IncorrectPricingDict,
    NoCountryCodeError,
    NotNeededExtensionError,
)
from wattprint.eco2ai.params import get_params, set_params
from wattprint.eco2ai.summary import summary
from wattprint.eco2ai.tracker import Tracker, track

__all__ = [
    "FileDoesNotExistsError",
    "IncorrectMethodSequenceError",
    "IncorrectPricingDict",
    "NoCountryCodeError",
    "NotNeededExtensionError",
    "Tracker",
    "all_available_cpu",
    "all_available_gpu",
    "available_devices",
    "get_params",
    "set_params",
    "summary",
    "track",
]
