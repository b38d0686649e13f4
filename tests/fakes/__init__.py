"""Fakes for the hardware this test machine lacks: powercap trees, NVML and amdsmi.

Each fake mirrors the real interface's names and units (``energy_uj`` in µJ, NVML energy in mJ
and power in mW, amdsmi power in W) so that the code under test cannot tell the difference.
Time comes from :class:`wattprint.testing.FakeClock`, re-exported here.
"""

from __future__ import annotations

from wattprint.testing import FakeClock

__all__ = ["FakeClock"]
