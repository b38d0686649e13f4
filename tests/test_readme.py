"""Every code block of the README runs: Python blocks as scripts, `wattprint` lines as commands."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
# Command-line examples that are cheap and self-contained; set-up lines (venv, pip) are not run here.
COMMANDS = [
    line.split("#")[0].strip()
    for lang, code in BLOCKS
    if lang == "console"
    for line in code.splitlines()
    if line.startswith("wattprint ") and " run " not in line and " report " not in line
]


def test_readme_has_examples():
    assert len(PYTHON) >= 5 and len(COMMANDS) >= 3


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_block_runs(code, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # wattprint's default file, or ECO2AI's for the wattprint.eco2ai example
    assert (tmp_path / "wattprint.csv").exists() or (tmp_path / "emission.csv").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_command_runs(command, tmp_path):
    args = shlex.split(command)
    proc = subprocess.run([sys.executable, "-m", "wattprint", *args[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()


def test_run_and_report_lines_work_end_to_end(tmp_path):
    # The README's `run` and `report` lines, with a tiny child instead of train.py.
    (tmp_path / "train.py").write_text("print('trained')\n")
    run = subprocess.run([sys.executable, "-m", "wattprint", "run", "--country", "FR", "--", sys.executable, "train.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    report = subprocess.run([sys.executable, "-m", "wattprint", "report", "wattprint.csv", "--html", "report.html", "--png", "report.png"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report.html").stat().st_size > 1000
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
