"""What live exports cost the training thread: window closes while the sampler pushes.

For each case, a Tracker on fake sensors closes a window (``split_window``, what a callback
does at every epoch end) every 10 ms for ``--seconds``, while its sampler thread exports every
0.1 s. Cases: no export; a Pushgateway that accepts connections and never answers (each push
waits its full timeout on the sampler thread); a real Pushgateway, when the Debian binary is
installed; an OTLP endpoint that never answers. Rounds interleave the cases; the table gives
medians over rounds of each round's median and maximum close time, and of ``stop()``, which
makes the final push on the calling thread.

    python benchmarks/export_overhead.py --rounds 5 --seconds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from wattprint import Tracker
from wattprint.testing import FakeClock, FakeSensor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _blackhole() -> tuple[socket.socket, str]:
    """A listening socket nobody accepts from: connections open, requests are never answered."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(100)
    return s, f"http://127.0.0.1:{s.getsockname()[1]}"


def one(options: dict, seconds: float) -> tuple[float, float, float]:
    """(median close ms, max close ms, stop ms) of one run."""
    clock = FakeClock()
    tracker = Tracker(sensors=[FakeSensor("gpu", power_w=300.0, clock=clock)], clock=clock, carbon_intensity=100.0,
                      output_file=None, measure_period=0.1, export_period=0.1, **options)
    tracker.start()
    window = tracker.begin_window("step", index=0)
    closes = []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        time.sleep(0.01)
        clock.advance(0.01)
        i += 1
        t0 = time.perf_counter()
        _, window = tracker.split_window(window, index=i)
        closes.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    tracker.stop()
    stop_ms = (time.perf_counter() - t0) * 1000
    return statistics.median(closes) * 1000, max(closes) * 1000, stop_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the unreachable endpoints warn once per run, by design
    hole, hole_url = _blackhole()
    cases = {"no export": {}, "Pushgateway never answering": {"pushgateway_url": hole_url},
             "OTLP receiver never answering": {"otel_endpoint": hole_url}}
    gateway = None
    binary = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"
    if os.access(binary, os.X_OK):
        port = _free_port()
        gateway = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(1.0)
        cases["real Pushgateway"] = {"pushgateway_url": f"http://127.0.0.1:{port}"}
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            for _ in range(args.rounds):
                for name, options in cases.items():
                    results[name].append(one(options, args.seconds))
    finally:
        hole.close()
        if gateway is not None:
            gateway.terminate()
            gateway.wait(timeout=10)
    print(f"{args.rounds} rounds x {args.seconds:g} s, a window closed every 10 ms, exports every 0.1 s")
    print("| case | close, median | close, max (median of rounds) | stop() |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        med = statistics.median(r[0] for r in rows)
        worst = statistics.median(r[1] for r in rows)
        stop = statistics.median(r[2] for r in rows)
        print(f"| {name} | {med:.3f} ms | {worst:.2f} ms | {stop:.0f} ms |")


if __name__ == "__main__":
    main()
