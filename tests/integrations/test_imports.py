"""Optional framework imports fail with the extra to install, or with the framework's own reason."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wattprint import MissingExtraError
from wattprint.integrations._imports import require


def test_missing_framework_names_the_extra():
    with pytest.raises(MissingExtraError, match=r"pip install 'wattprint\[lightning\]'") as caught:
        require("wattprint_absent_framework.sub", "lightning")
    assert caught.value.extra == "lightning"


def test_a_framework_missing_its_own_dependency_says_so(tmp_path, monkeypatch):
    (tmp_path / "brokenfw.py").write_text("import wattprint_absent_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        require("brokenfw", "brokenfw")
    assert not isinstance(caught.value, MissingExtraError)
    assert caught.value.name == "wattprint_absent_dependency"


def test_keras_without_its_backend_says_how_to_pick_one(tmp_path):
    pytest.importorskip("keras")
    if __import__("importlib").util.find_spec("tensorflow") is not None:
        pytest.skip("tensorflow is installed here")
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    proc = subprocess.run([sys.executable, "-c", "import wattprint.integrations.keras"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "KERAS_BACKEND" in proc.stderr and "'tensorflow'" in proc.stderr
