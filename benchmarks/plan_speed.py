"""How long the planner takes to find the best start, against trying every candidate start.

    python benchmarks/plan_speed.py [--repeats 5]

Forecasts of random intensities (30-minute steps for 48 h, as NESO publishes; 5-minute steps for
72 h, as WattTime does) and energy profiles of 1, 20 and 100 segments (a run's epochs). The
planner sweeps the candidate starts once (:func:`wattprint.core.carbon.forecast.curve.cheapest_start`);
the reference evaluates each candidate on its own, as a first version did, and is run only where
it finishes in seconds. Both must pick the same start; medians of the repeats, interleaved.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from wattprint.core.carbon.forecast import Forecast, Period, Segment
from wattprint.core.carbon.forecast.curve import cheapest_start

NOW = 1_768_899_600.0
CASES = [(96, 1800.0, 1, True), (864, 300.0, 1, True), (96, 1800.0, 20, True), (864, 300.0, 20, False),
         (864, 300.0, 100, False)]


def make(periods: int, step: float, segments: int, seed: int) -> tuple[Forecast, list[Segment]]:
    rng = random.Random(seed)
    fc = Forecast.of([Period(NOW + i * step, NOW + (i + 1) * step, rng.uniform(100, 500)) for i in range(periods)],
                     key="x", name="x", source="x")
    profile, offset = [], 0.0
    for _ in range(segments):
        d = rng.uniform(500, 700)
        profile.append(Segment(offset, d, rng.uniform(0.1, 0.2)))
        offset += d
    return fc, profile


def every_candidate(fc: Forecast, profile: list[Segment], earliest: float, latest: float) -> float:
    offsets = {0.0} | {s.offset_s for s in profile} | {s.offset_s + s.duration_s for s in profile}
    starts = sorted({earliest, latest} | {p.start - x for p in fc.periods for x in offsets}
                    | {fc.end - x for x in offsets})
    grams = {t: fc.grams(t, profile) for t in starts if earliest <= t <= latest}
    least = min(grams.values())
    return min(t for t, g in grams.items() if g <= least + 1e-9 * max(1.0, least))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| forecast | segments | sweep (median) | every candidate (median) | same start |")
    print("|---|---|---|---|---|")
    for periods, step, segments, reference in CASES:
        sweep, brute, same = [], [], True
        for r in range(args.repeats):
            fc, profile = make(periods, step, segments, seed=r)
            latest = fc.end - (profile[-1].offset_s + profile[-1].duration_s)
            t = time.perf_counter()
            a = cheapest_start(fc, profile, NOW, latest)
            sweep.append(time.perf_counter() - t)
            if reference:
                t = time.perf_counter()
                b = every_candidate(fc, profile, NOW, latest)
                brute.append(time.perf_counter() - t)
                same = same and a == b
        ref = f"{statistics.median(brute) * 1e3:.1f} ms" if brute else "not run (minutes)"
        print(f"| {periods} x {step / 60:g} min | {segments} | {statistics.median(sweep) * 1e3:.1f} ms | {ref} | "
              f"{('yes' if same else 'NO') if brute else '-'} |")


if __name__ == "__main__":
    main()
