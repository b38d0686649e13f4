"""RAPL through powercap sysfs, on fake trees laid out like Linux's (see tests/fakes/powercap.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.powercap import (
    INTEL_RANGE_UJ,
    SMALL_RANGE_UJ,
    DeniedReader,
    PowercapTree,
    Zone,
    amd_multi_die,
    client_laptop,
    two_socket_server,
)
from wattprint.core.errors import SensorError
from wattprint.core.measurement import COUNTER, CPU, RAM
from wattprint.core.sensors.rapl import ROOT_ENV, RaplSensor, discover_rapl


def _by_key(discovery):
    return {sensor.key: sensor for sensor in discovery.sensors}


@pytest.mark.parametrize("root", ["class_root", "devices_root"])
def test_laptop_counts_package_and_dram_only(tmp_path, root):
    tree = client_laptop(tmp_path)
    found = discover_rapl(getattr(tree, root), environ={})

    sensors = _by_key(found)
    assert set(sensors) == {"rapl:intel-rapl:0", "rapl:intel-rapl:0:2"}
    assert sensors["rapl:intel-rapl:0"].domain == CPU
    assert sensors["rapl:intel-rapl:0"].name == "RAPL package-0"
    assert sensors["rapl:intel-rapl:0:2"].domain == RAM
    assert sensors["rapl:intel-rapl:0:2"].name == "RAPL dram (package-0)"
    assert all(s.method == COUNTER and s.needs_polling for s in found.sensors)
    summary = found.notes[-1]
    assert "not adding core, psys, uncore" in summary
    assert "duplicate" in summary


def test_energy_is_the_package_and_dram_delta_not_psys_or_subzones(tmp_path):
    tree = client_laptop(tmp_path)
    found = discover_rapl(tree.class_root, environ={})
    for dirname, delta_uj in [
        ("intel-rapl:0", 30_000_000),  # package: 30 J
        ("intel-rapl-mmio:0", 30_000_000),  # the same package again through MMIO
        ("intel-rapl:0:0", 20_000_000),  # core, inside the package
        ("intel-rapl:0:1", 5_000_000),  # uncore, inside the package
        ("intel-rapl:0:2", 2_000_000),  # dram: 2 J, outside the package
        ("intel-rapl:1", 45_000_000),  # psys: the whole platform
    ]:
        tree.add_energy(dirname, delta_uj)

    by_domain = {CPU: 0.0, RAM: 0.0}
    for sensor in found.sensors:
        by_domain[sensor.domain] += sensor.energy_j()
    assert by_domain == {CPU: pytest.approx(30.0), RAM: pytest.approx(2.0)}


def test_two_socket_server_counts_both_packages_and_both_drams(tmp_path):
    tree = two_socket_server(tmp_path)
    found = discover_rapl(tree.class_root, environ={})

    names = sorted((s.domain, s.name) for s in found.sensors)
    assert names == [
        (CPU, "RAPL package-0"),
        (CPU, "RAPL package-1"),
        (RAM, "RAPL dram (package-0)"),
        (RAM, "RAPL dram (package-1)"),
    ]
    dram = _by_key(found)["rapl:intel-rapl:1:0"]
    assert isinstance(dram, RaplSensor)
    assert dram.max_range_uj == SMALL_RANGE_UJ


def test_multi_die_packages_are_all_counted_and_core_is_not(tmp_path):
    tree = amd_multi_die(tmp_path)
    found = discover_rapl(tree.class_root, environ={})

    assert sorted(s.name for s in found.sensors) == ["RAPL package-0-die-0", "RAPL package-0-die-1"]
    tree.add_energy("intel-rapl:0", 1_000_000)
    tree.add_energy("intel-rapl:1", 3_000_000)
    tree.add_energy("intel-rapl:0:0", 900_000)
    assert sum(s.energy_j() for s in found.sensors) == pytest.approx(4.0)


def test_mmio_copy_is_used_when_it_is_the_only_readable_one(tmp_path):
    tree = client_laptop(tmp_path)
    found = discover_rapl(tree.class_root, environ={}, reader=DeniedReader(["intel-rapl:0/energy_uj"]))

    assert set(_by_key(found)) == {"rapl:intel-rapl-mmio:0", "rapl:intel-rapl:0:2"}
    assert not any("permission" in note.lower() for note in found.notes)


def test_counter_wraparound_is_unwrapped_across_reads(tmp_path):
    tree = PowercapTree(
        tmp_path, [Zone("intel-rapl:0", "package-0", SMALL_RANGE_UJ - 1_000_000, SMALL_RANGE_UJ)]
    )
    (sensor,) = discover_rapl(tree.class_root, environ={}).sensors

    raw = tree.add_energy("intel-rapl:0", 3_000_000)  # crosses the wrap
    assert raw == 2_000_000
    assert sensor.energy_j() == pytest.approx(3.0)
    for _ in range(4):  # ~16 s at 4 kW each: four more wraps, read once per wrap period
        tree.add_energy("intel-rapl:0", SMALL_RANGE_UJ - 1)
        sensor.energy_j()
    assert sensor.energy_j() == pytest.approx(3.0 + 4 * (SMALL_RANGE_UJ - 1) / 1e6)


@settings(max_examples=60, deadline=None)
@given(deltas=st.lists(st.integers(min_value=0, max_value=INTEL_RANGE_UJ - 1), min_size=1, max_size=25))
def test_unwrapped_energy_equals_the_sum_of_increments(tmp_path_factory, deltas):
    base = tmp_path_factory.mktemp("powercap")
    tree = PowercapTree(base, [Zone("intel-rapl:0", "package-0", 12_345)])
    (sensor,) = discover_rapl(tree.class_root, environ={}).sensors
    for delta in deltas:
        tree.add_energy("intel-rapl:0", delta)
        sensor.energy_j()
    assert sensor.energy_j() == pytest.approx(sum(deltas) / 1e6)


def test_permission_denied_gives_no_sensor_and_one_note_saying_how_to_grant_access(tmp_path):
    tree = two_socket_server(tmp_path)
    found = discover_rapl(tree.class_root, environ={}, reader=DeniedReader())

    assert found.sensors == []
    permission_notes = [note for note in found.notes if "permission" in note.lower()]
    assert len(permission_notes) == 1  # the caller turns each such note into a warning
    note = permission_notes[0]
    for advice in ("root", "udev", "chmod a+r", "side channel"):
        assert advice in note
    assert "intel-rapl:0/energy_uj" in note


def test_one_unreadable_dram_drops_the_ram_domain_but_keeps_the_packages(tmp_path):
    tree = two_socket_server(tmp_path)
    found = discover_rapl(tree.class_root, environ={}, reader=DeniedReader(["intel-rapl:0:0/energy_uj"]))

    assert sorted(s.domain for s in found.sensors) == [CPU, CPU]
    assert any("intel-rapl:0:0/energy_uj" in note and "permission" in note for note in found.notes)


def test_a_zone_removed_mid_run_raises_sensor_error(tmp_path):
    tree = two_socket_server(tmp_path)
    sensor = _by_key(discover_rapl(tree.class_root, environ={}))["rapl:intel-rapl:1"]
    tree.add_energy("intel-rapl:1", 1_000_000)
    assert sensor.energy_j() == pytest.approx(1.0)

    tree.remove_energy_file("intel-rapl:1")
    with pytest.raises(SensorError, match="intel-rapl:1"):
        sensor.energy_j()


def test_garbage_in_energy_uj_raises_sensor_error(tmp_path):
    tree = PowercapTree(tmp_path, [Zone("intel-rapl:0", "package-0", 10)])
    (sensor,) = discover_rapl(tree.class_root, environ={}).sensors
    (tree.zone_dir("intel-rapl:0") / "energy_uj").write_text("")
    with pytest.raises(SensorError):
        sensor.energy_j()


def test_unreadable_counter_for_another_reason_is_a_note_not_a_permission_warning(tmp_path):
    tree = PowercapTree(tmp_path, [Zone("intel-rapl:0", "package-0", 10)])
    (tree.zone_dir("intel-rapl:0") / "energy_uj").write_text("not a number\n")
    found = discover_rapl(tree.class_root, environ={})

    assert found.sensors == []
    assert any("cannot read" in note and "cpu" in note for note in found.notes)
    assert not any("permission" in note.lower() for note in found.notes)


def test_missing_range_still_counts_and_says_a_wrap_would_be_a_reset(tmp_path):
    tree = PowercapTree(tmp_path, [Zone("intel-rapl:0", "package-0", 5_000_000)])
    (tree.zone_dir("intel-rapl:0") / "max_energy_range_uj").unlink()
    found = discover_rapl(tree.class_root, environ={})

    (sensor,) = found.sensors
    assert any("max_energy_range_uj" in note for note in found.notes)
    tree.set_energy("intel-rapl:0", 1_000_000)  # went back: without a range, a reset
    assert sensor.energy_j() == pytest.approx(1.0)


def test_absent_root_gives_a_note_and_no_sensor(tmp_path):
    found = discover_rapl(tmp_path / "nope", environ={})
    assert found.sensors == []
    assert str(tmp_path / "nope") in found.notes[0]
    assert ROOT_ENV in found.notes[0]  # the container hint names the variable


def test_root_comes_from_the_environment_and_an_argument_beats_it(tmp_path):
    tree = two_socket_server(tmp_path / "host")
    found = discover_rapl(environ={ROOT_ENV: str(tree.class_root)})
    assert len(found.sensors) == 4

    found = discover_rapl(tmp_path / "elsewhere", environ={ROOT_ENV: str(tree.class_root)})
    assert found.sensors == []


def test_platform_only_tree_counts_nothing_and_says_what_it_saw(tmp_path):
    tree = PowercapTree(tmp_path, [Zone("intel-rapl:0", "psys", 10)])
    found = discover_rapl(tree.class_root, environ={})
    assert found.sensors == []
    assert "psys" in found.notes[-1]


def test_empty_powercap_directory_is_a_note(tmp_path):
    (tmp_path / "powercap").mkdir()
    found = discover_rapl(tmp_path / "powercap", environ={})
    assert found.sensors == []
    assert "no powercap zone" in found.notes[0]
