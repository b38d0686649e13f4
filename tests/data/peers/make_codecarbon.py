"""Writes codecarbon-3.3.2-*.csv with the real CodeCarbon, offline (see README.md in this folder)."""

import time

from codecarbon import OfflineEmissionsTracker

for i in range(2):  # two runs in one file
    tracker = OfflineEmissionsTracker(project_name="cc-fixture", experiment_id=f"exp-{i}", country_iso_code="FRA",
                                      output_file="emissions.csv", measure_power_secs=1, log_level="error")
    tracker.start()
    sum(i * i for i in range(3_000_000))
    time.sleep(1.5)
    print("kg", tracker.stop(), "kWh", tracker.final_emissions_data.energy_consumed)

tracker = OfflineEmissionsTracker(project_name="cc-single", country_iso_code="USA", region="california",
                                  output_file="one-run.csv", measure_power_secs=1, log_level="error")
tracker.start()
time.sleep(1.2)
print("kg", tracker.stop(), "kWh", tracker.final_emissions_data.energy_consumed)
