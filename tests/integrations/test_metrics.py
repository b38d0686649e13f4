"""The one function that names the logged keys for every framework."""

from __future__ import annotations

import pytest

from wattprint.core.footprint import Footprint
from wattprint.core.measurement import Measurement
from wattprint.core.merge import Total
from wattprint.core.metrics import epoch_metrics
from wattprint.core.progress import RunningTotals


def _metrics(prefix="emissions/", duration_s=36.0, energy_kwh=0.002, by_domain=None, predicted=None):
    by_domain = {"gpu": 0.0015, "cpu": 0.0004, "ram": 0.0001} if by_domain is None else by_domain
    epoch = Total(Measurement(duration_s, energy_kwh, by_domain), Footprint(energy_kwh, 0.0005), count=1)
    totals = RunningTotals(energy_kwh=0.006, co2_kg=0.0015, epochs=3)
    return epoch_metrics(prefix, epoch, totals, predicted)


def test_keys_values_and_units():
    m = _metrics(predicted=0.01)
    assert list(m) == [
        "emissions/energy_kwh",
        "emissions/co2_kg",
        "emissions/energy_kwh_total",
        "emissions/co2_kg_total",
        "emissions/power_w",
        "emissions/energy_kwh_cpu",
        "emissions/energy_kwh_gpu",
        "emissions/energy_kwh_ram",
        "emissions/co2_kg_predicted",
    ]
    assert m["emissions/energy_kwh"] == 0.002
    assert m["emissions/co2_kg"] == 0.0005
    assert m["emissions/co2_kg_total"] == 0.0015
    # 0.002 kWh in 36 s is 7.2 kJ / 36 s = 200 W.
    assert m["emissions/power_w"] == pytest.approx(200.0)
    assert m["emissions/energy_kwh_gpu"] == 0.0015
    assert m["emissions/co2_kg_predicted"] == 0.01
    assert all(type(v) is float for v in m.values())


def test_only_measured_domains_and_no_prediction_without_one():
    m = _metrics(by_domain={"cpu": 0.002})
    assert "emissions/energy_kwh_cpu" in m
    assert "emissions/energy_kwh_gpu" not in m
    assert "emissions/energy_kwh_ram" not in m
    assert "emissions/co2_kg_predicted" not in m


def test_prefix_is_applied_verbatim_and_checked():
    assert set(_metrics(prefix="")) >= {"energy_kwh", "co2_kg", "power_w"}
    assert all(k.startswith("train/co2.") for k in _metrics(prefix="train/co2."))
    with pytest.raises(TypeError):
        _metrics(prefix=None)


def test_zero_duration_gives_zero_power():
    assert _metrics(duration_s=0.0, energy_kwh=0.0)["emissions/power_w"] == 0.0
