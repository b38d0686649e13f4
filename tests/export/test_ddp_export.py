"""A real two-process DDP training (CPU, gloo) pushing to a real Pushgateway: one group per rank
under the run id the ranks agreed on, host domains from local rank 0 only, and the groups add up
to the CSV's run row (the callbacks' sum over ranks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.export.test_cli_exports import J_PER_KWH
from tests.rows import read_rows

pytestmark = pytest.mark.ddp
pytest.importorskip("lightning")
pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families

SCRIPT = Path(__file__).parent / "ddp_scripts" / "lightning_ddp_push.py"


def test_ddp_ranks_push_their_own_groups_and_add_up_to_the_csv(pushgateway, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), pushgateway.url], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    run_ids = {(tmp_path / f"rank{r}.txt").read_text() for r in (0, 1)}
    assert len(run_ids) == 1  # the ranks agreed on one run id
    (run_id,) = run_ids

    energy: dict[tuple[str, str], float] = {}
    co2e: dict[str, float] = {}
    groups = set()
    for family in text_string_to_metric_families(pushgateway.get("/metrics").decode()):
        for s in family.samples:
            if s.labels.get("job") != "ddp":
                continue
            if s.name == "push_time_seconds":
                groups.add((s.labels["instance"], s.labels["run_id"]))
            elif s.name == "wattprint_energy_joules_total":
                energy[(s.labels["rank"], s.labels["domain"])] = s.value
                assert s.labels["run_id"] == run_id and s.labels["instance"].endswith(f"-rank{s.labels['rank']}")
            elif s.name == "wattprint_co2e_grams_total":
                co2e[s.labels["rank"]] = s.value
    # One group per rank, under the agreed run id only (a group pushed before the ranks agreed is gone).
    assert {run for _, run in groups} == {run_id} and len(groups) == 2
    # This machine has no GPU: rank 1 measures nothing of its own, local rank 0 the host's CPU and RAM.
    assert {rank for rank, _ in energy} == {"0"} and {d for _, d in energy} >= {"cpu", "ram"}
    assert set(co2e) == {"0", "1"} and co2e["1"] == 0.0
    (row,) = [r for r in read_rows(tmp_path / "wattprint.csv") if r["window"] == "run"]
    assert row["id"] == run_id
    assert sum(energy.values()) == pytest.approx(float(row["power_consumption(kWh)"]) * J_PER_KWH, rel=1e-9)
    assert sum(co2e.values()) == pytest.approx(float(row["CO2_emissions(kg)"]) * 1000, rel=1e-9)
