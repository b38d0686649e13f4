"""benchmarks/compare.py, peer_training.py and estimates.py: probes and tables, without the peers."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _cost(start_ms: dict[str, float], rss_mb: dict[str, float], cpu_pct: dict[str, float]) -> dict:
    """Canned raw cost results: one probe per tool, idle runs of 100 s."""
    bare_rss_kb = 10_000
    runs = {"bare": [{"import_s": 0.010}]}
    idle = {"bare": [{"cpu_s": 0.0, "wall_s": 100.0, "maxrss_kb": bare_rss_kb}]}
    periods = {"wattprint": 1.0, "codecarbon": 15.0, "eco2ai": 10.0}
    for name in ("wattprint", "codecarbon", "eco2ai"):
        runs[name] = [{"import_s": 0.050, "start_s": start_ms[name] / 1e3, "stop_s": 0.002, "heavy": [], "heavy_at_end": ["pandas"] if name != "wattprint" else []}]
        sample = {"cpu_s": cpu_pct[name], "wall_s": 100.0, "maxrss_kb": bare_rss_kb + rss_mb[name] * 1024}
        idle[f"{name}@{periods[name]:g}"] = [sample]
        idle[f"{name}@1"] = [sample]
    install = {n: {"mb": 1.0, "distributions": 2} for n in periods}
    return {"runs": runs, "idle": idle, "default_period_s": periods, "install": install, "repeats": 1, "idle_s": 100.0, "idle_rounds": 1}


def test_cost_table_ratios_and_targets(compare):
    cost = _cost(
        start_ms={"wattprint": 5.0, "codecarbon": 100.0, "eco2ai": 1000.0},
        rss_mb={"wattprint": 2.0, "codecarbon": 8.0, "eco2ai": 70.0},
        cpu_pct={"wattprint": 0.05, "codecarbon": 0.10, "eco2ai": 0.0},
    )
    summary = compare.cost_summary(cost)
    assert summary["wattprint"]["import_ms"] == pytest.approx(40.0)
    assert summary["codecarbon"]["rss_mb"] == pytest.approx(8.0)
    assert summary["wattprint"]["bg_cpu_pct_default"] == pytest.approx(0.05)

    table = compare.cost_table({"cost": cost})
    start = next(line for line in table if line.startswith("| construct + `start()`"))
    assert "| 5.0 | 100.0 | 20.0x | 1000.0 | 200.0x | >= 10x: met |" in start
    rss = next(line for line in table if line.startswith("| extra peak RSS"))
    assert "4.0x" in rss and ">= 5x less: **missed**" in rss
    cpu = next(line for line in table if line.startswith("| background CPU, % of one core, default"))
    assert "no higher: met" in cpu
    assert "n/a (wattprint ~0)" not in cpu
    heavy = next(line for line in table if line.startswith("| heavy modules after start"))
    assert heavy.startswith("| heavy modules after start + stop | none | pandas |")
    # every row has as many cells as the header
    assert len({line.count("|") for line in table}) == 1


def test_cost_table_without_eco2ai(compare):
    cost = _cost({"wattprint": 30.0, "codecarbon": 100.0, "eco2ai": 1.0}, {"wattprint": 1, "codecarbon": 9, "eco2ai": 1}, {"wattprint": 0.2, "codecarbon": 0.1, "eco2ai": 0})
    for part in ("runs",):
        del cost[part]["eco2ai"]
    table = compare.cost_table({"cost": cost})
    assert "ECO2AI" not in table[0]
    assert any(">= 10x: **missed**" in line for line in table)
    assert any("no higher: **missed**" in line for line in table)


def test_parse_result_finds_the_result_line(compare):
    assert compare.parse_result('noise\nRESULT {"a": 1}\nmore noise\n') == {"a": 1}
    with pytest.raises(RuntimeError, match="no result"):
        compare.parse_result("Traceback ...")


def test_wattprint_and_bare_probes_run_in_a_fresh_interpreter(compare, tmp_path):
    for tool in (None, compare.TOOLS["wattprint"]):
        code = compare.probe_code(tool, str(tmp_path), idle_s=0.05)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
        assert done.returncode == 0, done.stderr
        result = compare.parse_result(done.stdout)
        assert result["wall_s"] >= 0.05 and result["maxrss_kb"] > 0
        if tool is not None:
            assert 0 < result["start_s"] < 5 and 0 < result["stop_s"] < 5
            assert result["heavy"] == []  # `import wattprint` stays light
    assert (tmp_path / "wattprint.csv").read_text().startswith("id,project_name,")


@pytest.mark.parametrize("name", ["codecarbon", "eco2ai"])
def test_peer_probes_compile(compare, name):
    for period in (None, 1.0):
        compile(compare.probe_code(compare.TOOLS[name], "/nowhere", idle_s=1, period_s=period), name, "exec")
    assert compare.TOOLS[name].build(2.0).endswith(f"{compare.TOOLS[name].period_kw}=2.0)")


def test_training_tables(peer_training):
    training = {
        "repeats": 3,
        "steps": 300,
        "epochs": 3,
        "times_s": {
            "lightning": {  # (wall s, CPU s) pairs, as training_overhead.py's cases return them
                "lightning, no tracking": [[10.0, 19.0], [10.0, 19.0], [10.0, 19.0]],
                "lightning, EmissionsCallback": [[10.05, 19.0], [10.0, 19.19], [10.2, 19.0]],
                "lightning, CodeCarbon around fit": [[11.0, 20.9], [10.5, 19.95], [10.9, 20.9]],
            },
            "hf": {"hf, no tracking": [4.0, 4.0, 4.0], "hf, EmissionsCallback": [4.2, 4.1, 4.08]},  # wall s only
        },
    }
    lines = peer_training.training_tables(training)
    ours = next(line for line in lines if line.startswith("| lightning, EmissionsCallback"))
    assert "| +0.50 % (+0.0 .. +2.0 %) | +0.00 % (+0.0 .. +1.0 %) | < 1 %: met |" in ours
    cc = next(line for line in lines if line.startswith("| lightning, CodeCarbon"))
    assert "+9.00 %" in cc and "+10.00 %" in cc and "met" not in cc
    hf = next(line for line in lines if line.startswith("| hf, EmissionsCallback"))
    assert "| +2.50 % (+2.0 .. +5.0 %) | - | < 1 %: **missed** |" in hf


def test_estimates_probes_compile_and_table(estimates):
    for tool in estimates.SPECS:
        for mode in ("machine", "process"):
            compile(estimates.estimate_probe(tool, mode, 1.0), f"{tool}/{mode}", "exec")
    est = {
        "seconds": 20.0,
        "threads": 2,
        "country": "FR",
        "runs": {
            "wattprint/machine": {
                "cpu_kwh": 20 * 7.2 / 3.6e6, "ram_kwh": 0.0, "gpu_kwh": 0.0, "total_kwh": 20 * 7.2 / 3.6e6, "co2_kg": 1.6e-6,
                "intensity_g_per_kwh": 44.0, "duration_s": 20.0, "method": {"cpu": "estimated"}, "model": ["cpu: estimated (3.4 W/thread)"],
                "workload_cpu_share": 1.98,
            }
        },
    }
    row = estimates.estimates_table(est)[-1]
    assert row.startswith("| wattprint, machine | 0.0400 (7.20) |")
    assert "| 44 | 1.98 | cpu estimated: cpu: estimated (3.4 W/thread) |" in row


def test_wattprint_estimate_probe_reads_a_real_record(estimates, tmp_path):
    code = estimates.estimate_probe("wattprint", "process", 0.3, out=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    import json

    result = json.loads(line[len("RESULT ") :])
    assert result["cpu_kwh"] > 0 and result["method"]["cpu"] in ("counter", "estimated")
    assert result["total_kwh"] == pytest.approx(result["cpu_kwh"] + result["ram_kwh"] + result["gpu_kwh"])
    assert result["workload_cpu_share"] > 0.3  # two threads really ran
