"""Energy and CO2e of a plain PyTorch loop with the framework-free Tracker API.

    python examples/plain_pytorch.py [--epochs 3] [--country FR] [--output wattprint.csv]

One ``Tracker`` for the run and one window per epoch: each closed window is a row in the CSV
and an ``EnergyRecord`` in hand. Trains a small MLP on synthetic data on the CPU.
"""

from __future__ import annotations

import argparse

import torch

import wattprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--country", default=None, help="ISO code such as FR; default: detected (WATTPRINT_COUNTRY, a cloud runtime, the time zone), else the world average with a warning")
    parser.add_argument("--output", default="wattprint.csv", help="CSV appended to")
    args = parser.parse_args()

    g = torch.Generator().manual_seed(0)
    x = torch.randn(4096, 32, generator=g)
    y = x[:, :1] * 2 + 0.1 * torch.randn(4096, 1, generator=g)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    tracker = wattprint.Tracker("wattprint-examples", "plain PyTorch MLP", country=args.country, output_file=args.output)
    print(f"{'epoch':>5} {'loss':>8} {'energy_kWh':>11} {'CO2_kg':>10} {'power_W':>8}  methods")
    with tracker:
        for epoch in range(args.epochs):
            with tracker.window("epoch", index=epoch) as window:
                for i in range(0, len(x), 64):
                    loss = torch.nn.functional.mse_loss(model(x[i : i + 64]), y[i : i + 64])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
            r = window.record
            methods = ", ".join(f"{d}={m}" for d, m in sorted(r.method_by_domain.items()))
            print(f"{epoch:>5} {loss.item():>8.4f} {r.energy_kwh:>11.3e} {r.co2_kg:>10.3e} {r.power_w:>8.2f}  {methods}")
    run = tracker.last_record
    print(f"run: {run.energy_kwh:.3e} kWh, {run.co2_kg:.3e} kg CO2e at {run.intensity_g_per_kwh:.0f} g/kWh "
          f"({run.intensity_name}); rows appended to {args.output}")


if __name__ == "__main__":
    main()
