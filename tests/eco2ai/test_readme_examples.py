"""ECO2AI's README examples, as its README writes them, with only the import changed."""

from __future__ import annotations

import csv
from pathlib import Path

import wattprint.eco2ai as eco2ai  # noqa: PLR0402 -- the one line ECO2AI code changes


def rows(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def work() -> int:
    return sum(i * i for i in range(200_000))  # "<your gpu &(or) cpu calculations>"


def test_simplest_usage_writes_one_row_to_emission_csv():
    tracker = eco2ai.Tracker(project_name="YourProjectName", experiment_description="training the <your model> model")

    tracker.start()

    work()

    tracker.stop()

    (row,) = rows("emission.csv")
    assert (row["project_name"], row["experiment_description"], row["epoch"]) == (
        "YourProjectName", "training the <your model> model", "N/A")
    assert float(row["power_consumption(kWh)"]) > 0 and float(row["CO2_emissions(kg)"]) > 0


def test_decorator_writes_to_emission_csv():
    from wattprint.eco2ai import track

    @track
    def train_func(model, dataset, optimizer, epochs):
        return work()

    assert train_func("model", "dataset", "optimizer", 2) == work()
    (row,) = rows("emission.csv")
    assert row["epoch"] == "N/A" and float(row["duration(s)"]) > 0


def test_custom_parameters_are_remembered_for_the_next_tracker():
    tracker = eco2ai.Tracker(
        project_name="YourProjectName",
        experiment_description="training <your model> model",
        file_name="emission.csv"
        )

    tracker.start()
    work()
    tracker.stop()

    # now, we want to create a new tracker for new calculations
    tracker = eco2ai.Tracker()
    tracker.start()
    work()
    tracker.stop()

    first, second = rows("emission.csv")
    assert (second["project_name"], second["experiment_description"]) == ("YourProjectName", "training <your model> model")
    assert first["id"] != second["id"]


def test_set_params_sets_the_next_trackers_defaults():
    from wattprint.eco2ai import Tracker, set_params

    set_params(
        project_name="My_default_project_name",
        experiment_description="We trained...",
        file_name="my_emission_file.csv"
    )

    tracker = Tracker()
    tracker.start()
    work()
    tracker.stop()

    (row,) = rows("my_emission_file.csv")
    assert (row["project_name"], row["experiment_description"]) == ("My_default_project_name", "We trained...")
    assert not Path("emission.csv").exists()


def test_training_api_as_the_docstrings_show_it():
    tracker = eco2ai.Tracker(project_name="p", experiment_description="e", alpha_2_code="FR")
    tracker.start_training(start_epoch=1)
    for epoch in range(3):
        work()
        tracker.new_epoch({"loss": 0.5, "accuracy": 0.9})
    tracker.stop_training()
    epochs = rows("emission.csv")
    assert [r["epoch"] for r in epochs] == [f"epoch: {n}, loss: 0.5, accuracy: 0.9, " for n in (1, 2, 3)]
    assert len({r["id"] for r in epochs}) == 1
