"""Each example runs as a user would run it, in an empty directory, and writes its CSV."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..rows import read_rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "script, needs",
    [
        ("lightning_quickstart.py", "lightning"),
        ("keras_quickstart.py", "keras"),
        ("hf_trainer_quickstart.py", "transformers"),
        ("plain_pytorch.py", "torch"),
    ],
)
def test_example_prints_epochs_and_writes_csv(script, needs, tmp_path, tmp_path_factory):
    pytest.importorskip(needs)
    temporary = tmp_path_factory.mktemp("tmp")  # where the examples' log directories go
    env = dict(os.environ, KERAS_BACKEND="torch", HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore", TMPDIR=str(temporary),
               XDG_CONFIG_HOME=str(temporary / "config"))  # frameworks' own settings stay out of the run folder
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--epochs", "2", "--country", "FR", "--output", "out.csv"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["epoch"] and "energy_kWh" in line)
    table = [line for line in lines[header + 1:] if line.strip()[:1].isdigit()]
    assert len(table) == 2, proc.stdout  # the example's table: one line per epoch
    assert [line.split()[0] for line in table] in (["0", "1"], ["1", "2"])  # whole epochs, not 1.0, 2.0
    # The framework's own logs go to a temporary directory, not where the user ran it.
    # (.config is the test harness's own XDG_CONFIG_HOME, where the framework imported above writes.)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".config") == ["out.csv"]
    rows = read_rows(tmp_path / "out.csv")
    assert [r["window"] for r in rows] == ["epoch", "epoch", "run"]
    assert all(float(r["power_consumption(kWh)"]) > 0 and float(r["CO2_emissions(kg)"]) > 0 for r in rows)
    assert {r["region/country"] for r in rows} == {"France"}
    assert all(r["interrupted"] == "false" for r in rows)
