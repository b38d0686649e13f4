"""``wattprint report``'s suggestions, computed on known runs, and ``--model-card``."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.carbon.service import serving, uk_periods
from tests.cli.helpers import ECO2AI_CSV, wattprint
from wattprint import Tracker
from wattprint.core.carbon.table import lookup
from wattprint.report import load_file
from wattprint.report.suggest import suggest
from wattprint.testing import FakeClock, FakeSensor

yaml = pytest.importorskip("yaml")

GPU_W, CPU_W = 300.0, 50.0
EPOCH_S, TAIL_S = 1800.0, 60.0
RUN_S = 2 * EPOCH_S + TAIL_S
IT_KWH = (GPU_W + CPU_W) * RUN_S / 3.6e6


def write_run(path, *, pue=1.0, **location) -> Tracker:
    clock = FakeClock()
    sensors = [FakeSensor("gpu", power_w=GPU_W, clock=clock, name="NVIDIA A100-SXM4-80GB"),
               FakeSensor("cpu", power_w=CPU_W, clock=clock, method="estimated")]
    tracker = Tracker("bert", "finetune", sensors=sensors, clock=clock, pue=pue, output_file=path, **location)
    tracker.start()
    for i in range(2):
        with tracker.window("epoch", index=i):
            clock.advance(EPOCH_S)
    clock.advance(TAIL_S)
    tracker.stop()
    return tracker


def records(path):
    return [row.record for row in load_file(path)]


def test_cleanest_regions_of_the_same_cloud_on_the_same_basis_and_the_pue(tmp_path):
    path = tmp_path / "wattprint.csv"
    write_run(path, cloud="gcp:us-central1", pue=1.58)
    result = suggest(records(path))
    here = lookup("gcp:us-central1").g_per_kwh  # 412.72, Google 2024, direct
    facility = IT_KWH * 1.58
    regions = [s for s in result.suggestions if s.kind == "region"]
    assert [s.action.split(" instead")[0] for s in regions] == [
        "run in GCP europe-north2 (Stockholm)", "run in GCP northamerica-northeast1 (Montréal)",
        "run in GCP europe-west6 (Zürich)"]
    for s, key in zip(regions, ["gcp:europe-north2", "gcp:northamerica-northeast1", "gcp:europe-west6"]):
        g = lookup(key).g_per_kwh
        assert s.saving_kg == pytest.approx(facility * (here - g) / 1000, rel=1e-12)
        assert s.co2_kg_after == pytest.approx(facility * g / 1000, rel=1e-12)
        assert f"x ({here:g} - {g:g}) gCO2e/kWh" in s.arithmetic and "direct" in s.basis
    (pue,) = [s for s in result.suggestions if s.kind == "pue"]
    assert pue.saving_kg == pytest.approx(IT_KWH * (1.58 - 1.10) * here / 1000, rel=1e-9)
    assert "x (1.58 - 1.1) x 412.7 gCO2e/kWh" in pue.arithmetic
    savings = [s.saving_kg for s in result.suggestions]
    assert savings == sorted(savings, reverse=True)  # ranked by saving


def test_aws_alternatives_stay_on_the_lifecycle_basis(tmp_path):
    path = tmp_path / "wattprint.csv"
    write_run(path, cloud="aws:us-east-1")
    result = suggest(records(path))
    regions = [s for s in result.suggestions if s.kind == "region"]
    assert regions and all(s.action.startswith("run in AWS ") for s in regions)
    assert all("lifecycle" in s.basis for s in regions)
    assert not [s for s in result.suggestions if s.kind == "pue"]
    assert any("PUE 1.0 was assumed" in n and "--pue aws" in n for n in result.notes)


def test_nothing_is_suggested_where_the_data_cannot_support_it(tmp_path):
    path = tmp_path / "wattprint.csv"
    write_run(path, country="FR")  # not a cloud region; PUE 1.0 off the cloud; no forecast asked
    assert suggest(records(path)).suggestions == []
    (tmp_path / "eco2ai.csv").write_text(ECO2AI_CSV)  # ECO2AI rows: no PUE recorded
    for result in [suggest([r for r in records(tmp_path / "eco2ai.csv") if r.run_id == rid])
                   for rid in {r.run_id for r in records(tmp_path / "eco2ai.csv")}]:
        assert not [s for s in result.suggestions if s.kind == "pue"]


def test_the_cleanest_region_itself_gets_no_region_suggestion(tmp_path):
    path = tmp_path / "wattprint.csv"
    write_run(path, cloud="gcp:europe-north2")
    assert not [s for s in suggest(records(path)).suggestions if s.kind == "region"]


@pytest.fixture
def neso():
    with serving() as svc:
        yield svc


def test_best_start_from_a_forecast(tmp_path, neso):
    from wattprint.core.carbon.forecast.uk import UKForecast

    t0 = 1_768_899_600.0
    neso.set("/intensity/*", {"data": uk_periods(t0, [300, 300, 40, 40, 40, 300] + [300] * 90)})
    path = tmp_path / "wattprint.csv"
    write_run(path, country="GB")
    provider = UKForecast(base_url=neso.url, environ={}, clock=FakeClock(wall_start=t0))
    result = suggest(records(path), forecast=provider, deadline_s=12 * 3600, now=t0)
    (time_shift,) = [s for s in result.suggestions if s.kind == "time"]
    # The run's 1 h 01 min fits in the 40 g/kWh window 10:00-11:30; started now: 1 h at 300,
    # then 1 min at 40, weighted by the epochs' and the tail's energy (same power throughout).
    now_g = (3600 * 300 + 60 * 40) / RUN_S
    assert time_shift.saving_kg == pytest.approx(IT_KWH * (now_g - 40) / 1000, rel=1e-9)
    assert time_shift.co2_kg_after == pytest.approx(IT_KWH * 40 / 1000, rel=1e-9)
    assert "start the next run at " in time_shift.action and "NESO" in time_shift.basis


def test_report_text_and_json_show_the_suggestions(tmp_path):
    write_run(tmp_path / "wattprint.csv", cloud="gcp:us-central1", pue=1.58)
    text = wattprint("report", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    block = text.stdout.split("Suggestions, computed from each run's own energy (largest saving first):")[1]
    assert "1. run in GCP europe-north2 (Stockholm) instead of GCP us-central1 (Iowa):" in block
    assert "x (412.72 - 2.73) gCO2e/kWh" in block
    assert "No start-time suggestions" in block
    data = json.loads(wattprint("report", "--json", cwd=tmp_path).stdout)
    (run,) = data["suggestions"]
    assert [s["kind"] for s in run["suggestions"]] == ["region", "region", "region", "pue"]


def test_report_forecast_errors_are_notes_not_failures(tmp_path, neso):
    neso.set("/intensity/*", {}, status=500)
    write_run(tmp_path / "wattprint.csv", country="GB")
    env = {**os.environ, "WATTPRINT_UK_CARBON_INTENSITY_URL": neso.url}
    out = wattprint("report", "--forecast", "uk", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "note: no start-time suggestion: uk forecast unavailable: " in out.stdout and "HTTP 500" in out.stdout


# -- the model card ----------------------------------------------------------------------------

def test_model_card_block_parses_as_yaml_with_the_hub_field_names(tmp_path):
    write_run(tmp_path / "wattprint.csv", country="FR", pue=1.2)
    out = wattprint("report", "--model-card", "--training-type", "pre-training", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    block = yaml.safe_load(out.stdout)["co2_eq_emissions"]
    assert list(block) == ["emissions", "source", "training_type", "geographical_location", "hardware_used"]
    grams = IT_KWH * 1.2 * lookup("FR").g_per_kwh
    assert block["emissions"] == pytest.approx(grams, rel=1e-5)
    assert isinstance(block["emissions"], float)
    assert block["training_type"] == "pre-training"
    assert block["geographical_location"] == "France"
    assert block["hardware_used"].startswith("GPU: NVIDIA A100-SXM4-80GB; CPU: ")
    assert "PUE 1.2" in block["source"] and "44.18 gCO2e/kWh (Ember" in block["source"]


def test_model_card_sums_every_run_or_takes_one(tmp_path):
    path = tmp_path / "wattprint.csv"
    first = write_run(path, country="FR").last_record
    write_run(path, country="FR")
    both = yaml.safe_load(wattprint("report", "--model-card", cwd=tmp_path).stdout)["co2_eq_emissions"]
    one = yaml.safe_load(wattprint("report", "--model-card", "--run", first.run_id[:8], cwd=tmp_path).stdout)
    assert both["emissions"] == pytest.approx(2 * one["co2_eq_emissions"]["emissions"], rel=1e-5)
    assert "training_type" not in both  # unknown: left as a comment, not guessed


def test_model_card_leaves_unknown_fields_as_comments(tmp_path):
    write_run(tmp_path / "wattprint.csv", carbon_intensity=100.0)
    out = wattprint("report", "--model-card", cwd=tmp_path).stdout
    assert "  # training_type: pre-training or fine-tuning" in out
    assert "  # geographical_location: not known" in out
    assert "geographical_location" not in yaml.safe_load(out)["co2_eq_emissions"]


@pytest.mark.parametrize("args, message", [
    (["--model-card", "--run", "nope"], "--run 'nope' matches 0 runs"),
    (["--model-card", "--training-type", "training"], "invalid choice"),
    (["--deadline", "soon"], "--deadline must be a duration"),
])
def test_model_card_and_suggestion_errors(tmp_path, args, message):
    write_run(tmp_path / "wattprint.csv", country="FR")
    out = wattprint("report", *args, cwd=tmp_path)
    assert out.returncode == 2 and message in out.stderr


def test_runs_in_one_place_share_one_forecast_request(tmp_path):
    with serving() as svc:
        first = time.time() // 1800 * 1800
        svc.set("/intensity/*", {"data": uk_periods(first, [300, 300, 40, 40, 40, 300] + [300] * 90)})
        for _ in range(3):
            write_run(tmp_path / "wattprint.csv", country="GB")
        env = {**os.environ, "WATTPRINT_UK_CARBON_INTENSITY_URL": svc.url}
        data = json.loads(wattprint("report", "--json", "--forecast", "uk", cwd=tmp_path, env=env).stdout)
        assert len(data["suggestions"]) == 3
        assert all(any(s["kind"] == "time" for s in run["suggestions"]) for run in data["suggestions"])
        assert len(svc.requests) == 1


def test_model_card_of_an_eco2ai_file(tmp_path):
    (tmp_path / "eco2ai.csv").write_text(ECO2AI_CSV)
    out = wattprint("report", "eco2ai.csv", "--model-card", cwd=tmp_path)
    block = yaml.safe_load(out.stdout)["co2_eq_emissions"]
    total = sum(r.co2_kg for r in records(tmp_path / "eco2ai.csv"))
    assert block["emissions"] == pytest.approx(total * 1000, rel=1e-5)
    assert block["geographical_location"] == "Germany" and "Tesla T4" in block["hardware_used"]


def test_records_by_run_are_each_runs_records_in_order(tmp_path):
    from tests.cli.helpers import write_tracker_csv
    from wattprint.report.load import load_files
    from wattprint.report.runrecords import records_by_run, records_of, run_ids

    write_tracker_csv(tmp_path / "a.csv", epochs=2)
    write_tracker_csv(tmp_path / "b.csv", epochs=3)
    (tmp_path / "c.csv").write_text(ECO2AI_CSV)
    rows = load_files([tmp_path / "a.csv", tmp_path / "c.csv", tmp_path / "b.csv", tmp_path / "a.csv"])
    by_run = records_by_run(rows)
    assert list(by_run) == run_ids(rows) and len(by_run) == 4
    assert by_run == {run_id: records_of(rows, run_id) for run_id in run_ids(rows)}
