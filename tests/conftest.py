"""Shared fixtures. Tests never read the machine's real location or write to the working directory."""

from __future__ import annotations

import os

import pytest

# Location and launcher variables of the machine running the tests must not leak into them.
from wattprint.core.carbon.location import CLOUD_HINTS

_ISOLATED_PREFIXES = ("WATTPRINT_", "TZ", *(name for name, _ in CLOUD_HINTS))
_LAUNCHER_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID",
                  "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_TASKS_PER_NODE",
                  "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES) or name in _LAUNCHER_VARS:
            # Includes TZ: a test without a location must not pick up this machine's time zone.
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    # wattprint.eco2ai remembers parameters in the user's configuration directory: never the real one.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
