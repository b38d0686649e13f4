"""Load the scripts of ``benchmarks/`` (a folder of scripts, not a package) as modules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    if name in sys.modules and getattr(sys.modules[name], "__file__", "") == str(BENCHMARKS / f"{name}.py"):
        return sys.modules[name]
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gpu_check() -> ModuleType:
    return load("gpu_check")


@pytest.fixture(scope="session")
def compare() -> ModuleType:
    return load("compare")


@pytest.fixture(scope="session")
def peer_training() -> ModuleType:
    return load("peer_training")


@pytest.fixture(scope="session")
def estimates() -> ModuleType:
    return load("estimates")
