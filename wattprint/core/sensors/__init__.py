"""Energy sensors: one module per source, all behind :class:`~wattprint.core.sensors.base.Sensor`."""

from wattprint.core.measurement import COUNTER, CPU, ESTIMATED, GPU, RAM, SAMPLED
from wattprint.core.sensors.base import (
    Discovery,
    IntegratingSensor,
    PowerSampledSensor,
    Sensor,
    Unwrapper,
)

__all__ = [
    "COUNTER",
    "CPU",
    "ESTIMATED",
    "GPU",
    "RAM",
    "SAMPLED",
    "Discovery",
    "IntegratingSensor",
    "PowerSampledSensor",
    "Sensor",
    "Unwrapper",
]
