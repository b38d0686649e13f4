"""Writes eco2ai-0.3.12-emission.csv with the real ECO2AI (see README.md in this folder)."""

import time

import eco2ai

tracker = eco2ai.Tracker(project_name="fixture", experiment_description="start/stop", file_name="emission.csv",
                         alpha_2_code="US", region="California", ignore_warnings=True, measure_period=1)
tracker.start()
sum(i * i for i in range(3_000_000))
time.sleep(1.2)
tracker.stop()

tracker = eco2ai.Tracker(project_name="fixture", experiment_description="training", file_name="emission.csv",
                         alpha_2_code="FR", ignore_warnings=True, measure_period=1)
tracker.start_training()
for epoch in range(2):
    sum(i * i for i in range(2_000_000))
    tracker.new_epoch({"loss": 0.5 - epoch / 10, "accuracy": 0.9})
tracker.stop_training()
print(eco2ai.summary("emission.csv"))
