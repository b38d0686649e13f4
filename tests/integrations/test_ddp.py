"""Real two-process distributed trainings on CPU (gloo), launched in subprocesses.

Each rank dumps its own per-epoch figures; the logged values must be their sum, with the
host's CPU and RAM counted once, identical on both ranks, and only rank 0 writes the CSV.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..rows import read_rows

pytestmark = pytest.mark.ddp
pytest.importorskip("torch")

SCRIPTS = Path(__file__).parent / "ddp_scripts"
P = "emissions/"


def run(cmd: list[str], cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]


def load_ranks(out: Path) -> list[dict]:
    return [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]


def summed(ranks: list[dict], epoch: int) -> dict[str, float]:
    total: dict[str, float] = {}
    for r in ranks:
        for domain, kwh in r["epochs"][epoch]["energy_kwh_by_domain"].items():
            total[domain] = total.get(domain, 0.0) + kwh
    return total


def test_lightning_ddp_sums_ranks_and_counts_host_once(tmp_path):
    pytest.importorskip("lightning")
    run([sys.executable, str(SCRIPTS / "lightning_ddp.py"), str(tmp_path)], cwd=tmp_path)
    ranks = load_ranks(tmp_path)
    assert [r["measure_host"] for r in ranks] == [True, False]
    assert ranks[0]["run_id"] == ranks[1]["run_id"]  # agreed at the start: one run, however rows are written
    # This machine has no GPU: rank 1 measures nothing of its own, rank 0 the host.
    assert all(e["energy_kwh_by_domain"] == {} for e in ranks[1]["epochs"])
    assert all(e["energy_kwh_by_domain"]["cpu"] > 0 for e in ranks[0]["epochs"])

    with open(next(tmp_path.glob("csv/version_*/metrics.csv")), newline="") as f:
        logged = [row for row in csv.DictReader(f) if row.get(P + "energy_kwh")]
    assert len(logged) == 2
    running = 0.0
    for epoch, row in enumerate(logged):
        expected = summed(ranks, epoch)
        running += sum(expected.values())
        assert float(row[P + "energy_kwh"]) == pytest.approx(sum(expected.values()), rel=1e-12)
        assert float(row[P + "energy_kwh_cpu"]) == pytest.approx(expected["cpu"], rel=1e-12)
        assert float(row[P + "energy_kwh_total"]) == pytest.approx(running, rel=1e-12)
        co2 = sum(r["epochs"][epoch]["co2_kg"] for r in ranks)
        assert float(row[P + "co2_kg"]) == pytest.approx(co2, rel=1e-12)
    assert ranks[0]["logged"] == ranks[1]["logged"]  # every rank holds the global figures
    assert ranks[0]["logged"][P + "energy_kwh_total"] == pytest.approx(running, rel=1e-12)
    # 32 samples per rank and epoch: the job's 64.
    assert float(logged[0][P + "energy_j_per_sample"]) == pytest.approx(float(logged[0][P + "energy_kwh"]) * 3.6e6 / 64)

    # Step intervals (every optimizer step, log_every_n_steps=1) are summed over ranks like epochs.
    with open(next(tmp_path.glob("csv/version_*/metrics.csv")), newline="") as f:
        step_rows = [row for row in csv.DictReader(f) if row.get(P + "step/energy_kwh")]
    # 4 steps per rank and epoch, 2 epochs; each epoch's last interval (after its last step) comes
    # after its last step's row, at the same step of the axis.
    assert len(step_rows) == 10
    firsts = {}
    for row in step_rows:
        firsts.setdefault(row["step"], row)
    assert len(firsts) == 8
    for row in firsts.values():
        step = str(int(row["step"]) + 1)  # the loggers' step axis counts from 0
        expected = ranks[0]["steps"][step] + ranks[1]["steps"][step]
        assert float(row[P + "step/energy_kwh"]) == pytest.approx(expected, rel=1e-12)
        assert float(row[P + "step/energy_j_per_sample"]) == pytest.approx(expected * 3.6e6 / 16, rel=1e-9)

    rows = read_rows(tmp_path / "wattprint.csv")
    assert [(r["window"], r["epoch"]) for r in rows] == [("epoch", "0"), ("epoch", "1"), ("run", "N/A")]
    assert {(r["rank"], r["world_size"]) for r in rows} == {("0", "2")}


def test_hf_torchrun_sums_rank_gpus_and_host_once(tmp_path):
    pytest.importorskip("transformers")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(SCRIPTS / "hf_ddp.py"), str(tmp_path)]
    run(cmd, cwd=tmp_path)
    ranks = load_ranks(tmp_path)
    assert set(ranks[1]["epochs"][0]["energy_kwh_by_domain"]) == {"gpu"}
    assert ranks[0]["run_id"] == ranks[1]["run_id"]

    # 2 steps per epoch per rank at 1 s each: GPUs 100 W + 200 W, host 20 W + 5 W once.
    per_epoch_kwh = 2 * (100 + 200 + 20 + 5) / 3_600_000
    histories = [[e for e in r["log_history"] if P + "energy_kwh" in e] for r in ranks]
    assert histories[0] == histories[1]  # every rank logs the same global values
    for epoch, entry in enumerate(histories[0]):
        expected = summed(ranks, epoch)
        assert entry[P + "energy_kwh"] == pytest.approx(per_epoch_kwh, rel=1e-12)
        assert entry[P + "energy_kwh"] == pytest.approx(sum(expected.values()), rel=1e-12)
        assert entry[P + "energy_kwh_gpu"] == pytest.approx(2 * 300 / 3_600_000, rel=1e-12)
        assert entry[P + "energy_kwh_cpu"] == pytest.approx(2 * 20 / 3_600_000, rel=1e-12)
        assert entry[P + "energy_kwh_total"] == pytest.approx(per_epoch_kwh * (epoch + 1), rel=1e-12)
    assert [e["step"] for e in ranks[0]["log_history"] if "loss" in e] == [1, 2, 3, 4]

    # Step intervals on logging_steps=1, summed over ranks; tokens are the job's (the Trainer gathers them).
    steps = [[e for e in h if P + "step/energy_kwh" in e and P + "energy_kwh" not in e] for h in
             ([e for e in r["log_history"]] for r in ranks)]
    assert steps[0] == steps[1]
    assert [e["step"] for e in steps[0]] == [1, 2, 3, 4]
    for entry in steps[0]:
        assert entry[P + "step/energy_kwh"] == pytest.approx(per_epoch_kwh / 2, rel=1e-12)
        assert entry[P + "step/energy_j_per_token"] == pytest.approx(325.0 / (2 * 8 * 16), rel=1e-12)

    rows = read_rows(tmp_path / "wattprint.csv")
    assert [(r["window"], r["epoch"]) for r in rows] == [("epoch", "0"), ("epoch", "1"), ("run", "N/A")]
    assert float(rows[-1]["power_consumption(kWh)"]) == pytest.approx(2 * per_epoch_kwh, rel=1e-12)
    assert {(r["rank"], r["world_size"]) for r in rows} == {("0", "2")}
    assert all(json.loads(r["parameters"])["summed_over_ranks"] == 2 for r in rows)
