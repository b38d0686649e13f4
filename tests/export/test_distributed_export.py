"""Two ranks of one job on one host, each exporting its own series: Prometheus scrapes both
endpoints (port and port + local rank), and the README's PromQL sums the job without counting
anything twice."""

from __future__ import annotations

import pytest

from tests.export import engines
from tests.rows import read_rows
from wattprint import RankInfo, Tracker
from wattprint.core.carbon import StaticIntensity, custom_intensity
from wattprint.testing import FakeClock, FakeSensor

pytest.importorskip("prometheus_client")

J_PER_KWH = 3_600_000.0
# The README's queries (section "Prometheus and OpenTelemetry"), for one run.
ENERGY_QUERY = 'sum by (run_id) (last_over_time(wattprint_energy_joules_total{{run_id="{run}"}}[1h]))'
CO2E_QUERY = 'sum by (run_id) (last_over_time(wattprint_co2e_grams_total{{run_id="{run}"}}[1h]))'


def _two_free_ports() -> int:
    for _ in range(50):
        port = engines.free_port()
        if port < 65535:
            try:
                import socket

                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two consecutive free ports")


def test_each_rank_exports_its_own_series_and_the_sum_counts_nothing_twice(start_prometheus, tmp_path):
    port = _two_free_ports()
    clock = FakeClock()
    # Local rank 0 measures the host (CPU, RAM) and its GPU; local rank 1 only its own GPU.
    sensors = {0: [FakeSensor("cpu", power_w=20, clock=clock, method="estimated"),
                   FakeSensor("ram", power_w=5, clock=clock, method="estimated"),
                   FakeSensor("gpu", power_w=300, clock=clock)],
               1: [FakeSensor("gpu", power_w=250, clock=clock)]}
    trackers = [Tracker("ddp", "two ranks", sensors=sensors[r], clock=clock, intensity=StaticIntensity(custom_intensity(50.0)),
                        ranks=RankInfo(rank=r, local_rank=r, world_size=2, local_world_size=2),
                        output_file=str(tmp_path / f"rank{r}.csv"), prometheus_port=f"127.0.0.1:{port}",
                        export_period=0.1, measure_period=0.1) for r in (0, 1)]
    prom = start_prometheus(scrape=[f"127.0.0.1:{port}", f"127.0.0.1:{port + 1}"])
    for t in trackers:
        t.start()
    trackers[1].join_run(trackers[0].run_id)  # as the callbacks do: the job's ranks share one run id
    run = trackers[0].run_id
    clock.advance(10.0)
    expected_j = (20 + 5 + 300 + 250) * 10.0
    summed = prom.wait_for(ENERGY_QUERY.format(run=run), lambda r: r and r[0]["value"] == pytest.approx(expected_j))
    assert summed and summed[0]["value"] == pytest.approx(expected_j)
    for t in trackers:
        t.stop()

    series = prom.query(f'last_over_time(wattprint_energy_joules_total{{run_id="{run}"}}[1h])')
    by_rank = {}
    for s in series:
        by_rank.setdefault(s["metric"]["rank"], set()).add(s["metric"]["domain"])
    assert by_rank == {"0": {"cpu", "gpu", "ram"}, "1": {"gpu"}}  # host domains from local rank 0 only
    assert {s["metric"]["instance"] for s in series} == {f"127.0.0.1:{port}", f"127.0.0.1:{port + 1}"}
    rows = [r for rank in (0, 1) for r in read_rows(tmp_path / f"rank{rank}.csv") if r["window"] == "run"]
    assert {r["id"] for r in rows} == {run}
    (energy,) = prom.query(ENERGY_QUERY.format(run=run))
    assert energy["value"] == pytest.approx(sum(float(r["power_consumption(kWh)"]) for r in rows) * J_PER_KWH, rel=1e-9)
    (co2e,) = prom.query(CO2E_QUERY.format(run=run))
    assert co2e["value"] == pytest.approx(sum(float(r["CO2_emissions(kg)"]) for r in rows) * 1000, rel=1e-9)
