"""Plain rows read straight into the figures the report sums: the same report as decoding every row.

``wattprint report`` reads a plain wattprint row (no formula-guarded cell, an epoch cell that is a
number or ``N/A``, readable figures) by position into :class:`~wattprint.report.figures.Figures`
and decodes the others in full. Both must give the same report, byte for byte, and the rows kept
for the suggestions must be the rows the full decoder gives.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from wattprint.core import csvformat
from wattprint.core.merge import combine
from wattprint.core.record import EnergyRecord
from wattprint.report import summarise
from wattprint.report.figures import Figures
from wattprint.report.jsonout import iter_json
from wattprint.report.load import iter_figures, iter_files, load_file
from wattprint.report.runrecords import RowsKept
from wattprint.report.text import render_text

from .helpers import ECO2AI_CSV, wattprint, write_tracker_csv

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _record(**changes) -> EnergyRecord:
    fields = {"project_name": "p", "experiment_description": "x", "run_id": "r", "window": "epoch", "index": 0,
              "start_time": T0, "duration_s": 60.0, "energy_kwh_by_domain": {"cpu": 1e-3, "gpu": 5e-3, "ram": 1e-4},
              "method_by_domain": {"cpu": "estimated", "gpu": "counter", "ram": "estimated"}, "pue": 1.2,
              "intensity_g_per_kwh": 44.0, "intensity_key": "FR", "intensity_name": "France", "host": "n1"}
    fields.update(changes)
    return EnergyRecord(**fields)


def _varied_csv(path) -> None:
    """Rows of many kinds: ranks side by side, a process killed before its run row, an epoch written
    twice, a live intensity, rows without one, guarded and quoted cells, steps, hand-edited cells."""
    records = []
    for e in range(12):
        for rank in range(3):
            if rank == 2 and e > 7:
                continue  # killed: no more epochs and no run row
            records.append(_record(run_id="ddp", index=e, rank=rank, start_time=T0 + timedelta(minutes=e),
                                   duration_s=50.0 + rank + e % 5, interrupted=e == 7 and rank == 2,
                                   energy_kwh_by_domain={"cpu": 1e-3 * (e + 1), "gpu": 2e-3 * (rank + 1)},
                                   method_by_domain={"cpu": "estimated", "gpu": "sampled" if e % 4 == 1 else "counter"},
                                   failed_domains=("ram",) if e == 3 else ()))
    records += [_record(run_id="ddp", window="run", index=None, rank=rank, duration_s=900.0) for rank in (0, 1)]
    for k, e in enumerate((0, 1, 2, 1, 2, 3)):  # an epoch written again, later (a resumed training)
        records.append(_record(run_id="resumed", index=e, duration_s=10.0 + k, start_time=T0 + timedelta(minutes=k),
                               cost=0.25, currency="EUR"))
    for e in range(6):
        records.append(_record(run_id="live", index=e, intensity_g_per_kwh=100.0 + e, intensity_basis="lifecycle",
                               pue=1.0 + e / 10))
        records.append(_record(run_id="bare", index=e, intensity_g_per_kwh=None, intensity_key="", intensity_name=""))
    records += [_record(run_id="guarded", project_name="=cmd", experiment_description="a, b", index=e) for e in range(3)]
    records += [_record(run_id="steps", window="step", index=s, duration_s=1.0) for s in range(4)]
    records.append(_record(run_id="cmd", window="run", index=None, exit_status=2, scope="process", duration_s=-0.0))
    lines = [csvformat.encode_row(r) for r in records]
    cells = lines[0].rstrip("\n").split(",")
    column = {c: i for i, c in enumerate(csvformat.COLUMNS)}

    def edited(**changes) -> str:
        row = list(cells)
        for name, value in changes.items():
            row[column[name]] = value
        return ",".join(row) + "\n"

    lines += [
        edited(id="hand", epoch=" 4"), edited(id="hand", epoch="007"), edited(id="hand", epoch="8", energy_kwh_cpu=" 1e-3"),
        edited(id="hand", epoch="9", interrupted="TRUE", rank=" 1", method_cpu=" sampled "),
        edited(id="hand", epoch="10", energy_kwh_gpu="nan", energy_kwh_ram="-1", cost="x"),
        edited(id="hand", epoch="11", start_time="2026-03-01T00:00:00+02:00", exit_status="x"),
        edited(id="", epoch="12"), edited(id="hand", epoch="13", **{"duration(s)": "-1"}),
        lines[0],  # the same row again: a duplicate
    ]
    path.write_text(csvformat.line(csvformat.COLUMNS) + "".join(lines))


def _reports(paths):
    names = [str(p) for p in paths]
    full = summarise(iter_files(paths, damaged=[]), names)
    plain = summarise(iter_figures(paths, damaged=[]), names)
    return full, plain


def test_the_plain_reader_gives_the_full_decoders_report_byte_for_byte(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "eco2ai.csv"
    _varied_csv(a)
    write_tracker_csv(b, epochs=4)
    c.write_text(ECO2AI_CSV)
    paths = [a, b, c, a]  # a read twice: every row of it a duplicate
    full, plain = _reports(paths)
    assert "".join(iter_json(plain)) == "".join(iter_json(full))
    assert render_text(plain) == render_text(full)
    assert {r.run_id for r in plain.runs} >= {"ddp", "resumed", "live", "bare", "guarded", "steps", "cmd", "hand"}
    # ...and most rows were read plain: all but those that need the full decoder.
    figures = list(iter_figures([a], damaged=[]))
    decoded = [f for f in figures if f.row is not None]
    assert len(figures) == 68 and len(decoded) < 25
    assert all(f.row is not None for f in figures if f.project == "=cmd" or f.window == "step" or f.label == " 4")


def test_sums_are_those_of_the_rows_when_epochs_are_summed_once(tmp_path):
    path = tmp_path / "e.csv"
    _varied_csv(path)
    rows = [r for r in load_file(path, damaged=[]) if r.record.labels.run_id in ("ddp", "resumed")]
    report = summarise(iter_figures([path], damaged=[]))
    for run in report.runs:
        if run.run_id not in ("ddp", "resumed"):
            continue
        mine = [r.record for r in rows if r.record.labels.run_id == run.run_id]
        by_process = {}
        for record in mine:
            by_process.setdefault((record.labels.host, record.labels.rank), []).append(record)
        # A process with run rows counts them; one without (killed rank 2, "resumed") its epoch rows, in order.
        parts = [combine([r for r in recs if r.labels.window == "run"] or recs) for recs in by_process.values()]
        assert run.total == combine(parts, parallel=True)
        assert run.counted_from == ("mixed" if run.run_id == "ddp" else "epochs")
        assert run.epochs_total == combine(e.totals for e in run.epochs)
        assert list(run.epoch_sums.dicts()) == [e.as_dict() for e in run.epochs]
        for line in run.epochs:
            epoch = [r for r in mine if r.labels.window == "epoch" and r.labels.index == line.index]
            if run.run_id == "resumed":  # the same index written twice: the two rows summed side by side
                assert line.totals == combine(epoch, parallel=True)


@pytest.mark.parametrize("keep_epochs", [False, True])
def test_rows_kept_for_the_suggestions_are_the_full_decoders(tmp_path, keep_epochs):
    path = tmp_path / "e.csv"
    _varied_csv(path)
    kept = []
    for rows in (iter_files([path], damaged=[]), iter_figures([path], damaged=[])):
        rows_kept = RowsKept(keep_epochs=keep_epochs)
        bases: set[str] = set()
        summarise(rows_kept.tee(rows, bases))
        kept.append((rows_kept.rows(), bases))
    assert kept[0] == kept[1]
    assert any(r.record.labels.window == "epoch" for r in kept[1][0])  # the killed rank's, the runs without run rows


def test_a_damaged_line_is_reported_the_same_way(tmp_path):
    path = tmp_path / "e.csv"
    _varied_csv(path)
    damaged_full, damaged_plain = [], []
    list(iter_files([path], damaged=damaged_full))
    list(iter_figures([path], damaged=damaged_plain))
    assert damaged_plain == damaged_full and len(damaged_full) == 1
    assert "duration(s) is '-1'" in damaged_full[0].reason


def test_of_row_and_decoded_round_trip(tmp_path):
    path = tmp_path / "e.csv"
    write_tracker_csv(path, epochs=3)
    rows = load_file(path)
    figures = list(iter_figures([path]))
    assert [f.decoded() for f in figures] == rows
    assert [Figures.of_row(r).key for r in rows] == [f.key for f in figures]


def test_cli_reports_are_unchanged_by_the_plain_reader(tmp_path, monkeypatch):
    _varied_csv(tmp_path / "e.csv")
    result = wattprint("report", "--json", "e.csv", cwd=tmp_path)
    assert result.returncode == 3, result.stderr  # the damaged line
    monkeypatch.chdir(tmp_path)
    full, _ = _reports(["e.csv"])
    data = json.loads(result.stdout)
    assert data["total"] == json.loads(json.dumps(full.total.as_dict()))
    assert [r["run_id"] for g in data["groups"] for r in g["runs"]] == [r.run_id for r in full.runs]
    text = wattprint("report", "e.csv", cwd=tmp_path)
    assert text.stdout.startswith(render_text(full))


def test_the_summed_fields_are_what_the_sums_take_in_their_order():
    import inspect

    from wattprint.core.merge import Sums
    from wattprint.report.figures import SUMMED

    taken = list(inspect.signature(Sums.new_with).parameters)[1:-1]  # less self and rows
    assert list(Figures._fields[SUMMED]) == taken
    assert list(inspect.signature(Sums.add_figures).parameters)[2:-1] == taken
