"""The built wheel installs into a fresh virtual environment and works there, as a user's project
would get it: the ``wattprint`` command, the bundled tables, and a callback in a real training.

Offline: the wheel is built from a copy of the tracked sources with this environment's
setuptools, and installed with ``--no-index --no-deps``. Its dependencies and the frameworks
come from this environment's site-packages through a ``.pth`` line (its own ``.pth`` files,
among them the editable install of the source tree, are not read from there), so the
``wattprint`` that runs is the wheel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | os.PathLike[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME") and not k.startswith("WATTPRINT_")}
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env,
                            check=False)
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know the tracked sources")
    pytest.importorskip("setuptools")
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    files = subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", base / "dist",
         source, cwd=base)
    (wheel,) = (base / "dist").glob("wattprint-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "wattprint/core/carbon/data/countries.csv" in names and "wattprint/py.typed" in names
    assert not any(n.startswith(("tests/", "examples/", "benchmarks/")) for n in names)

    env_dir = base / "venv"
    _run(sys.executable, "-m", "venv", env_dir, cwd=base)
    python = env_dir / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", wheel, cwd=base)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=base).stdout.strip())
    # This environment's packages (psutil, nvidia-ml-py, the frameworks) after the venv's own.
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def test_the_installed_wheel_is_what_runs(venv, tmp_path):
    python = venv / "bin" / "python"
    where = _run(python, "-c", "import wattprint; print(wattprint.__file__, wattprint.__version__)", cwd=tmp_path).stdout
    assert where.startswith(str(venv)) and str(ROOT) not in where


def test_wattprint_info_and_the_bundled_tables_from_the_wheel(venv, tmp_path):
    info = _run(venv / "bin" / "wattprint", "info", "--country", "FR", cwd=tmp_path).stdout
    assert "Measured domains:" in info and "France (FR): 44.18 gCO2e/kWh" in info
    assert "CPU:" in info and "logical CPUs visible" in info
    assert _run(venv / "bin" / "wattprint", "intensity", "Deutschland", cwd=tmp_path).stdout.startswith("Germany (DE)")


def test_a_callback_example_trains_with_the_wheel(venv, tmp_path):
    pytest.importorskip("lightning")
    script = ROOT / "examples" / "lightning_quickstart.py"
    code = (
        "import runpy, sys, wattprint\n"
        f"assert wattprint.__file__.startswith({str(venv)!r}), wattprint.__file__\n"
        f"sys.argv = [{str(script)!r}, '--epochs', '2', '--country', 'FR', '--output', 'out.csv', '--logs', 'logs']\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    result = _run(venv / "bin" / "python", "-c", code, cwd=tmp_path)
    assert "rows appended to out.csv" in result.stdout
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert len(rows) == 4  # the header, two epochs and the run
