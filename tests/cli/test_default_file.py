"""wattprint's default CSV is its own: a folder where CodeCarbon wrote ``emissions.csv`` and
ECO2AI wrote ``emission.csv`` is one where every default run of wattprint works."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from wattprint import Tracker
from wattprint.core.settings import DEFAULT_OUTPUT_FILE
from wattprint.integrations.lightning import EmissionsCallback
from wattprint.report import load_file

from .helpers import wattprint

PEERS = Path(__file__).resolve().parent.parent / "data" / "peers"


def _other_tools_files(folder: Path) -> dict[Path, bytes]:
    codecarbon = shutil.copy(PEERS / "codecarbon-3.3.2-emissions.csv", folder / "emissions.csv")
    eco2ai = shutil.copy(PEERS / "eco2ai-0.3.12-emission.csv", folder / "emission.csv")
    return {Path(p): Path(p).read_bytes() for p in (codecarbon, eco2ai)}


def test_default_runs_work_next_to_codecarbon_and_eco2ai_files(tmp_path):
    assert DEFAULT_OUTPUT_FILE not in ("emissions.csv", "emission.csv")
    theirs = _other_tools_files(tmp_path)
    tracker = Tracker(project_name="ours", country="FR")
    tracker.start()
    tracker.stop()
    EmissionsCallback(project_name="ours", country="FR")  # the callbacks' default is the same file
    result = wattprint("run", "--country", "FR", "--", sys.executable, "-c", "pass", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r.record.project_name for r in load_file(tmp_path / DEFAULT_OUTPUT_FILE)] == ["ours", "wattprint"]
    assert {p: p.read_bytes() for p in theirs} == theirs  # never written to


def test_report_reads_all_three_tools_files_side_by_side(tmp_path):
    _other_tools_files(tmp_path)
    tracker = Tracker(project_name="ours", country="FR")
    tracker.start()
    tracker.stop()
    result = wattprint("report", DEFAULT_OUTPUT_FILE, "emissions.csv", "emission.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for label in ("wattprint", "codecarbon", "eco2ai"):
        assert label in result.stdout
