"""``wattprint plan`` as a user runs it, against a loopback NESO forecast server."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.carbon.service import FakeService, serving, uk_periods
from tests.cli.helpers import wattprint, write_tracker_csv

HALF_HOUR = 1800.0


@pytest.fixture
def neso():
    """A forecast from the current half hour: 300 for an hour, then 50 for an hour, then 300."""
    with serving() as svc:
        first = time.time() // HALF_HOUR * HALF_HOUR
        svc.first = first
        svc.set("/intensity/*", {"data": uk_periods(first, [300, 300, 50, 50] + [300] * 92)})
        yield svc


def env_for(service: FakeService | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATTPRINT_", "ELECTRICITYMAPS", "WATTTIME"))}
    env["TZ"] = "UTC"
    if service is not None:
        env["WATTPRINT_UK_CARBON_INTENSITY_URL"] = service.url
    env.update(extra)
    return env


def test_plan_json_from_duration_and_power(neso, tmp_path):
    out = wattprint("plan", "--duration", "1h", "--power", "1000", "--country", "GB", "--deadline", "3h", "--json",
                    cwd=tmp_path, env=env_for(neso))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["planned"] and data["reason"] is None
    assert data["start_unix"] == neso.first + 3600
    assert data["co2_kg_start"] == pytest.approx(0.05) and data["energy_kwh"] == pytest.approx(1.0)
    assert data["co2_kg_now"] > data["co2_kg_start"] and data["saving_kg"] == pytest.approx(
        data["co2_kg_now"] - 0.05)
    begin = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(neso.first + 3600))
    assert data["slurm_begin"] == f"--begin={begin}"
    assert data["at"] == "at -t " + time.strftime("%Y%m%d%H%M.%S", time.gmtime(neso.first + 3600))
    assert neso.requests[0]["path"].endswith("/fw48h")


def test_plan_text(neso, tmp_path):
    out = wattprint("plan", "--duration", "1h", "--power", "1000", "--country", "GB", "--deadline", "3h",
                    cwd=tmp_path, env=env_for(neso))
    assert out.returncode == 0, out.stderr
    first, *rest = out.stdout.splitlines()
    start = time.strftime("%Y-%m-%d %H:%M", time.gmtime(neso.first + 3600))
    assert first.startswith(f"wattprint plan: start at {start} (in ")
    text = "\n".join(rest)
    assert "CO2e expected: 0.05000 kg if started then, " in text
    assert "sbatch --begin=" in text and "at -t " in text
    assert "NESO Carbon Intensity API forecast, Great Britain (direct)" in text


def test_plan_reuses_a_previous_run(neso, tmp_path):
    csv = tmp_path / "wattprint.csv"
    write_tracker_csv(csv, epochs=3)
    out = wattprint("plan", "--from-csv", str(csv), "--country", "GB", "--deadline", "3h", "--json",
                    cwd=tmp_path, env=env_for(neso))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["duration_s"] == 190.0 and data["planned"]
    # 190 s fit inside the first 50 g/kWh half hour, so the plan starts at its beginning.
    assert data["start_unix"] == neso.first + 3600 and data["g_per_kwh_start"] == pytest.approx(50.0)


def test_plan_without_a_forecast_says_why_and_starts_now(tmp_path):
    out = wattprint("plan", "--duration", "2h", "--power", "250", "--country", "FR", cwd=tmp_path, env=env_for())
    assert out.returncode == 0
    assert out.stdout.startswith("wattprint plan: start now (no forecast for France without a token")


def test_plan_with_the_service_down_starts_now(neso, tmp_path):
    neso.set("/intensity/*", {"error": "down"}, status=500)
    out = wattprint("plan", "--duration", "1h", "--country", "GB", "--json", cwd=tmp_path, env=env_for(neso))
    data = json.loads(out.stdout)
    assert not data["planned"] and "HTTP 500" in data["reason"] and data["wait_s"] == 0


@pytest.mark.parametrize("args, message", [
    (["--country", "GB"], "give the job's --duration (and --power), or --from-csv"),
    (["--duration", "2h", "--deadline", "1h", "--country", "GB"], "--deadline is 1 h away but the job takes 2 h"),
    (["--duration", "2", "--country", "GB"], "--duration must be a duration"),
    (["--duration", "1h", "--country", "Atlantis"], "Atlantis"),
    (["--duration", "1h", "--forecast", "nowhere"], "unknown forecast provider"),
    (["--duration", "1h", "--country", "FR", "--forecast", "uk"], "Great Britain only"),
    (["--duration", "1h", "--country", "DE", "--forecast", "electricitymaps"], "ELECTRICITYMAPS_TOKEN"),
])
def test_plan_errors_name_the_options(tmp_path, args, message):
    out = wattprint("plan", *args, cwd=tmp_path, env=env_for())
    assert out.returncode == 2
    assert message in out.stderr and out.stderr.startswith("wattprint plan: error: ")


def test_plan_from_a_csv_names_what_is_wrong(tmp_path):
    out = wattprint("plan", "--from-csv", "missing.csv", "--country", "GB", cwd=tmp_path, env=env_for())
    assert out.returncode == 2 and "missing.csv: no such file" in out.stderr
    write_tracker_csv(tmp_path / "wattprint.csv", epochs=1)
    out = wattprint("plan", "--from-csv", "wattprint.csv", "--run", "nope", "--country", "GB", cwd=tmp_path, env=env_for())
    assert out.returncode == 2 and "--run 'nope' matches 0 runs in wattprint.csv" in out.stderr
    out = wattprint("plan", "--from-csv", "wattprint.csv", "--power", "300", cwd=tmp_path, env=env_for())
    assert out.returncode == 2 and "pass either --from-csv or --duration and --power, not both" in out.stderr


def test_plan_with_a_regional_uk_forecast(tmp_path):
    with serving() as svc:
        first = time.time() // HALF_HOUR * HALF_HOUR
        block = {"regionid": 13, "shortname": "London", "postcode": "SW1A",
                 "data": uk_periods(first, [200, 20, 200, 200] + [200] * 92)}
        svc.set("/regional/intensity/*", {"data": block})
        out = wattprint("plan", "--duration", "30m", "--forecast", "uk:SW1A", "--deadline", "3h", "--json",
                        cwd=tmp_path, env=env_for(svc))
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["start_unix"] == first + HALF_HOUR and "London" in data["source"]
        assert svc.requests[0]["path"].endswith("/fw48h/postcode/SW1A")
