"""``wattprint report`` on damaged and impossible files, and how it writes its own files."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from pathlib import Path

import pytest

from wattprint.core.sinks import CsvSink

from ..core.test_sinks import make_record
from .helpers import ECO2AI_CSV, EPOCH_S, TAIL_S, TOTAL_W, wattprint, write_tracker_csv

J_PER_KWH = 3.6e6
RUN_KWH = TOTAL_W * (3 * EPOCH_S + TAIL_S) / J_PER_KWH


def test_a_cut_off_row_is_skipped_with_a_warning_and_the_rest_is_totalled(tmp_path):
    path = tmp_path / "e.csv"
    write_tracker_csv(path, project="one", epochs=2)  # epochs 0 and 1 and a run row
    text = path.read_text()
    path.write_text(text[: text.rindex('"{') + 4])  # cut inside epoch 1's parameters: its quote never closes
    write_tracker_csv(path, project="two")  # appended after the cut: must be read whole
    result = wattprint("report", "e.csv", "--json", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    data = json.loads(result.stdout)
    assert [g["project"] for g in data["groups"]] == ["one", "two"]
    assert data["total"]["energy_kwh"] == pytest.approx(RUN_KWH + TOTAL_W * EPOCH_S / J_PER_KWH)
    (skipped,) = data["skipped_lines"]
    assert skipped["file"] == "e.csv" and skipped["line"] == 3
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "e.csv, line 3" in warnings[0] and "skipped" in warnings[0]
    assert "1 damaged line(s) skipped" in result.stderr
    assert any("1 damaged line(s) skipped" in n and "e.csv line 3" in n for n in data["notes"])


def test_a_not_a_number_cell_is_skipped_and_reported_in_the_text_report_too(tmp_path):
    (tmp_path / "eco.csv").write_text(ECO2AI_CSV.replace(",0.003,", ",lots,"))
    result = wattprint("report", "eco.csv", cwd=tmp_path)
    assert result.returncode == 3
    assert "eco.csv, line 3: power_consumption(kWh) is 'lots', not a number; skipped" in result.stderr
    assert "fine-tune" in result.stdout  # the rest is still reported
    assert "1 damaged line(s) skipped and left out of the totals (eco.csv line 3)" in result.stdout


def _with_figures(src: Path, dst: Path, **cells: str) -> None:
    rows = list(csv.reader(src.open(newline="")))
    header = rows[0]
    for row in rows[1:]:
        for column, value in cells.items():
            row[header.index(column)] = value
    with dst.open("w", newline="") as f:
        csv.writer(f).writerows(rows)


def test_impossibly_large_figures_are_damage_and_never_reach_the_json(tmp_path):
    write_tracker_csv(tmp_path / "good.csv")
    _with_figures(tmp_path / "good.csv", tmp_path / "huge.csv",
                  **{"power_consumption(kWh)": "1e300", "CO2_emissions(kg)": "1.7e308", "energy_kwh_cpu": "1e300"})
    result = wattprint("report", "good.csv", "huge.csv", "--json", cwd=tmp_path)
    assert result.returncode == 3
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    data = json.loads(result.stdout)
    assert data["total"]["energy_kwh"] == pytest.approx(RUN_KWH)
    assert len(data["skipped_lines"]) == 4 and "not a possible measurement" in data["skipped_lines"][0]["reason"]
    if importlib.util.find_spec("matplotlib") is not None:
        page = wattprint("report", "good.csv", "huge.csv", "--html", "r.html", "--png", "r.png", cwd=tmp_path, timeout=180)
        assert page.returncode == 3 and "Traceback" not in page.stderr, page.stderr
        assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_figures_whose_quotient_overflows_give_valid_json_and_charts(tmp_path):
    pytest.importorskip("matplotlib")
    write_tracker_csv(tmp_path / "good.csv")
    _with_figures(tmp_path / "good.csv", tmp_path / "odd.csv",
                  **{"duration(s)": "1e-320", "power_consumption(kWh)": "9e17", "energy_kwh_gpu": "9e17"})
    result = wattprint("report", "odd.csv", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    result = wattprint("report", "odd.csv", "--html", "r.html", "--png", "r.png", cwd=tmp_path, timeout=180)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


# -- the report's own files --------------------------------------------------------------------------


def test_html_over_a_link_replaces_the_target_by_rename_not_in_place(tmp_path):
    write_tracker_csv(tmp_path / "e.csv")
    target = tmp_path / "pages" / "latest.html"
    target.parent.mkdir()
    target.write_text("old page")
    keep = tmp_path / "old.html"
    os.link(target, keep)  # a second name for the old file: an in-place write would change it
    (tmp_path / "report.html").symlink_to(target)
    result = wattprint("report", "e.csv", "--html", "report.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert keep.read_text() == "old page"
    assert "<html" in target.read_text().lower() and (tmp_path / "report.html").is_symlink()
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary file left


def test_html_into_a_link_planted_by_another_user_in_a_sticky_directory_is_refused(tmp_path):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("planting a link owned by another user needs root")
    write_tracker_csv(tmp_path / "e.csv")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = shared / "report.html"
    link.symlink_to(victim)
    os.lchown(link, 65534, 65534)
    result = wattprint("report", "e.csv", "--html", str(link), cwd=tmp_path)
    assert result.returncode == 1 and "link owned by another user" in result.stderr
    assert victim.read_text() == "precious"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_html_onto_a_device_is_refused(tmp_path):
    write_tracker_csv(tmp_path / "e.csv")
    result = wattprint("report", "e.csv", "--html", "/dev/full", cwd=tmp_path)
    assert result.returncode == 1 and "character device" in result.stderr


def test_a_new_report_file_gets_the_usual_permissions(tmp_path):
    write_tracker_csv(tmp_path / "e.csv")
    result = wattprint("report", "e.csv", "--html", "r.html", cwd=tmp_path)
    assert result.returncode == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r.html").stat().st_mode & 0o777 == 0o666 & ~umask


def test_rows_written_after_a_cut_off_line_by_the_sink_are_all_reported(tmp_path):
    path = tmp_path / "e.csv"
    CsvSink(path).write(make_record(index=0))
    path.write_text(path.read_text()[:-30])
    for i in (1, 2):
        CsvSink(path).write(make_record(index=i))
    result = wattprint("report", "e.csv", "--json", cwd=tmp_path)
    assert result.returncode == 3
    (run,) = [r for g in json.loads(result.stdout)["groups"] for r in g["runs"]]
    assert [e["index"] for e in run["epochs"]] == [1, 2]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_given_as_input_is_refused_not_read_without_end(tmp_path):
    result = wattprint("report", "/dev/zero", cwd=tmp_path)
    assert result.returncode == 2 and "is a device" in result.stderr
