"""Per-epoch energy and CO2e of a Keras 3 fit, in History, CSVLogger and Keras' epoch lines.

    python examples/keras_quickstart.py [--epochs 3] [--country FR] [--output wattprint.csv]

Uses the torch backend unless KERAS_BACKEND says otherwise. Trains a small MLP on synthetic
data (a few seconds, nothing downloaded), prints the values EmissionsCallback added to each
epoch's logs, and appends one row per epoch plus one for the whole run to the CSV.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "torch")  # read once, when keras is first imported

import keras
import numpy as np

from wattprint.integrations.keras import EmissionsCallback

PREFIX = "emissions/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--country", default=None, help="ISO code such as FR; default: detected (WATTPRINT_COUNTRY, a cloud runtime, the time zone), else the world average with a warning")
    parser.add_argument("--output", default="wattprint.csv", help="CSV appended to")
    parser.add_argument("--logs", default=None, help="directory for the framework's own logs (default: a new temporary directory)")
    args = parser.parse_args()
    keras_log = os.path.join(args.logs or tempfile.mkdtemp(prefix="wattprint-keras-"), "keras_log.csv")

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 32)).astype("float32")
    y = (x[:, :1] * 2 + 0.1 * rng.standard_normal((4096, 1))).astype("float32")

    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(
        x,
        y,
        epochs=args.epochs,
        batch_size=64,
        validation_split=0.125,
        verbose=2,  # one line per epoch, the emissions keys included
        # EmissionsCallback first: Keras hands the epoch logs along in list order.
        callbacks=[
            EmissionsCallback("wattprint-examples", experiment_description="Keras MLP", country=args.country, output_file=args.output),
            keras.callbacks.CSVLogger(keras_log),
        ],
    ).history

    print(f"{'epoch':>5} {'loss':>8} {'energy_kWh':>11} {'CO2_kg':>10} {'power_W':>8} {'CO2_total_kg':>12} {'CO2_predicted_kg':>16}")
    for epoch in range(len(history["loss"])):
        h = {k: v[epoch] for k, v in history.items()}
        print(
            f"{epoch:>5} {h['loss']:>8.4f} {h[PREFIX + 'energy_kwh']:>11.3e} {h[PREFIX + 'co2_kg']:>10.3e} "
            f"{h[PREFIX + 'power_w']:>8.2f} {h[PREFIX + 'co2_kg_total']:>12.3e} {h[PREFIX + 'co2_kg_predicted']:>16.3e}"
        )
    print(f"rows appended to {args.output}; Keras' own per-epoch log in {keras_log}")


if __name__ == "__main__":
    main()
