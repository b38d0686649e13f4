"""Fixtures of the carbon tests: the loopback carbon service and a clock at a known time."""

from __future__ import annotations

import pytest

from tests.carbon.service import serving
from wattprint.testing import FakeClock

WALL_START = 1_768_901_000.0  # 2026-01-20 09:23:20 UTC


@pytest.fixture
def service():
    with serving() as svc:
        yield svc


@pytest.fixture
def clock():
    return FakeClock(wall_start=WALL_START)
