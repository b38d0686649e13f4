"""Builders shared by the command-line tests: the CLI as a subprocess, and CSVs with known numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wattprint import Tracker
from wattprint.testing import FakeClock, FakeSensor

#: Watts of the fake sensors and the fixed intensity: an epoch of 60 s uses exactly
#: (20 + 300 + 5) W x 60 s = 19,500 J = 5.41666... Wh.
CPU_W, GPU_W, RAM_W = 20.0, 300.0, 5.0
TOTAL_W = CPU_W + GPU_W + RAM_W
G_PER_KWH = 100.0
EPOCH_S = 60.0
TAIL_S = 10.0  # after the last epoch, before stop(): in the run row, in no epoch row


def wattprint(*args: str, cwd: Path, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """``python -m wattprint ARGS`` as a user would type it; text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "wattprint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def write_tracker_csv(path: Path, *, project: str = "resnet", experiment: str = "baseline", epochs: int = 3,
                      pue: float = 1.0) -> Tracker:
    """A CSV as the Tracker writes it: ``epochs`` epoch rows of EPOCH_S each, then the run row."""
    clock = FakeClock()
    sensors = [
        FakeSensor("cpu", power_w=CPU_W, clock=clock, method="estimated"),
        FakeSensor("gpu", power_w=GPU_W, clock=clock, method="counter"),
        FakeSensor("ram", power_w=RAM_W, clock=clock, method="estimated"),
    ]
    tracker = Tracker(project, experiment, sensors=sensors, clock=clock, carbon_intensity=G_PER_KWH,
                      output_file=path, pue=pue)
    tracker.start()
    for i in range(epochs):
        with tracker.window("epoch", index=i, parameters={"loss": round(1.0 / (i + 1), 3)}):
            clock.advance(EPOCH_S)
    clock.advance(TAIL_S)
    tracker.stop()
    return tracker


ECO2AI_HEADER = (
    "id,project_name,experiment_description,epoch,start_time,duration(s),power_consumption(kWh),"
    "CO2_emissions(kg),CPU_name,GPU_name,OS,region/country,cost\n"
)

#: Rows as ECO2AI's Tracker writes them: training mode ("epoch: N, <params>, ", one row per
#: new_epoch, no run row) and plain mode ("N/A", one row per run). CPU_name holds a comma.
ECO2AI_CSV = ECO2AI_HEADER + (
    '7c1e0f3a-0000-4000-8000-000000000001,eco_project,fine-tune,"epoch: 1, loss: 0.52, accuracy: 0.81, ",'
    '2024-05-01 10:00:00,120.5,0.002,0.0008,"Intel(R) Xeon(R) CPU @ 2.20GHz/1 device(s), TDP:120.0",'
    "Tesla T4 1 device(s),Linux,Germany/,0\n"
    '7c1e0f3a-0000-4000-8000-000000000001,eco_project,fine-tune,"epoch: 2, loss: 0.41, accuracy: 0.86, ",'
    '2024-05-01 10:02:00,119.5,0.003,0.0012,"Intel(R) Xeon(R) CPU @ 2.20GHz/1 device(s), TDP:120.0",'
    "Tesla T4 1 device(s),Linux,Germany/,0\n"
    "7c1e0f3a-0000-4000-8000-000000000002,eco_project,inference,N/A,2024-05-01 11:00:00,30.0,0.0005,0.0002,"
    '"Intel(R) Xeon(R) CPU @ 2.20GHz/1 device(s), TDP:120.0",Tesla T4 1 device(s),Linux,Germany/,0\n'
)
