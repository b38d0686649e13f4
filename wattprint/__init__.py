"""wattprint: energy (kWh) and CO2e (kg) of machine-learning training, per epoch.

    import wattprint
    tracker = wattprint.Tracker(project_name="My_ML_Project", experiment_description="Training ResNet-50")
    tracker.start(); train(); record = tracker.stop()
"""

from __future__ import annotations

__version__ = "0.1.0"
