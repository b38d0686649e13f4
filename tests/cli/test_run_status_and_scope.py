"""``wattprint run`` records its command's exit status, and the report shows status and scope."""

from __future__ import annotations

import csv
import json
import sys

from wattprint.core.csvformat import COLUMNS
from wattprint.report import load_file

from .helpers import wattprint

FAST = ("--country", "FR", "--measure-period", "0.1")


def test_the_exit_status_is_a_column_and_the_report_shows_it_with_the_scope(tmp_path):
    failing = [sys.executable, "-c", "import sys; sys.exit(3)"]
    assert wattprint("run", *FAST, "--experiment-description", "job", "--", *failing, cwd=tmp_path).returncode == 3
    ok = [sys.executable, "-c", "pass"]
    assert wattprint("run", *FAST, "--experiment-description", "job", "--scope", "process", "--", *ok,
                     cwd=tmp_path).returncode == 0
    with open(tmp_path / "wattprint.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert COLUMNS[-1] == "exit_status"
    assert [(r["exit_status"], r["scope"]) for r in rows] == [("3", "machine"), ("0", "process")]
    assert [r.record.labels.exit_status for r in load_file(tmp_path / "wattprint.csv")] == [3, 0]

    text = wattprint("report", cwd=tmp_path).stdout
    failed, passed = [line for line in text.splitlines() if line.startswith("  run ")]
    assert "machine scope" in failed and "command exit status 3 (FAILED)" in failed
    assert "process scope" in passed and "command exit status 0" in passed and "FAILED" not in passed
    assert "runs of machine and process scope" in text  # the two are not simply added up
    data = json.loads(wattprint("report", "--json", cwd=tmp_path).stdout)
    runs = data["groups"][0]["runs"]
    assert [(r["scopes"], r["exit_statuses"]) for r in runs] == [(["machine"], [3]), (["process"], [0])]


def test_a_file_written_before_the_column_existed_still_reads_and_appends(tmp_path):
    old = tmp_path / "wattprint.csv"
    wattprint("run", *FAST, "--", sys.executable, "-c", "pass", cwd=tmp_path)
    with open(old, newline="", encoding="utf-8") as f:
        header, *body = list(csv.reader(f))
    cut = header.index("exit_status")
    with open(old, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([r[:cut] + r[cut + 1:] for r in [header, *body]])
    assert wattprint("run", *FAST, "--", sys.executable, "-c", "import sys; sys.exit(1)", cwd=tmp_path).returncode == 1
    records = [r.record for r in load_file(old)]
    assert [r.labels.exit_status for r in records] == [None, None]  # the old layout has no such column
    assert wattprint("report", cwd=tmp_path).returncode == 0
