"""Optional framework imports: the integration module imports; using it without its framework raises
one short error naming the extra, or the framework's own reason when the framework is broken."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from wattprint import MissingExtraError
from wattprint.integrations._imports import missing, optional


def test_missing_framework_names_the_extra():
    assert optional("wattprint_absent_framework.sub") is None

    class Callback(missing("wattprint_absent_framework", "lightning")):
        pass

    with pytest.raises(MissingExtraError, match=r"pip install 'wattprint\[lightning\]'") as caught:
        Callback()
    assert caught.value.extra == "lightning"
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_a_framework_missing_its_own_dependency_says_so(tmp_path, monkeypatch):
    (tmp_path / "brokenfw.py").write_text("import wattprint_absent_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        optional("brokenfw")
    assert not isinstance(caught.value, MissingExtraError)
    assert caught.value.name == "wattprint_absent_dependency"


# A process in which the frameworks are not importable, as on a machine without them.
_WITHOUT = textwrap.dedent(
    """
    import sys, traceback
    for name in ("lightning", "pytorch_lightning", "keras", "transformers"):
        sys.modules[name] = None
    import importlib
    module = importlib.import_module("wattprint.integrations." + sys.argv[1])
    try:
        module.EmissionsCallback()
    except Exception:
        traceback.print_exc()
        sys.exit(3)
    """
)


@pytest.mark.parametrize("integration, module, extra", [
    ("lightning", "lightning", "lightning"),
    ("pytorch_lightning", "pytorch_lightning", "lightning"),
    ("keras", "keras", "keras"),
    ("transformers", "transformers", "transformers"),
])
def test_using_an_integration_without_its_framework_is_one_short_error(tmp_path, integration, module, extra):
    proc = subprocess.run([sys.executable, "-c", _WITHOUT, integration], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.endswith(f"MissingExtraError: {module!r} is not installed; install it with: pip install 'wattprint[{extra}]'")
    # One error, not a chain: no "During handling" or "direct cause" between exceptions.
    assert proc.stderr.count("Traceback (most recent call last)") == 1
    # Short: the user's line and the one that raises, not a walk through wattprint's wrappers.
    assert len(proc.stderr.strip().splitlines()) <= 8, proc.stderr


def test_keras_without_its_backend_says_how_to_pick_one(tmp_path):
    pytest.importorskip("keras")
    if __import__("importlib").util.find_spec("tensorflow") is not None:
        pytest.skip("tensorflow is installed here")
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    proc = subprocess.run([sys.executable, "-c", "import wattprint.integrations.keras"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "KERAS_BACKEND" in proc.stderr and "'tensorflow'" in proc.stderr
