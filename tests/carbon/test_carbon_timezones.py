"""The bundled time-zone table: link names map to the country of the place they name."""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path

import pytest

from wattprint.core.carbon import WORLD_AVERAGE, resolve_source
from wattprint.core.carbon.location import _timezones, timezone_country


@pytest.mark.parametrize("zone, iso2", [
    # Since tz 2022 these links point at a zone of another country with the same clocks.
    ("Iceland", "IS"), ("Atlantic/Jan_Mayen", "NO"), ("Africa/Asmera", "ER"), ("Africa/Timbuktu", "ML"),
    ("America/Coral_Harbour", "CA"), ("America/Virgin", "VI"), ("Pacific/Ponape", "FM"),
    ("Pacific/Truk", "FM"), ("Pacific/Yap", "FM"), ("Pacific/Johnston", "UM"), ("Antarctica/South_Pole", "AQ"),
    # Links whose target is in the same country stay as they were.
    ("Asia/Calcutta", "IN"), ("Europe/Kiev", "UA"), ("US/Samoa", "AS"), ("Europe/Belfast", "GB"),
    ("Eire", "IE"), ("Arctic/Longyearbyen", "SJ"),
])
def test_link_names_map_to_the_country_they_name(zone, iso2):
    assert timezone_country(zone) == iso2


@pytest.mark.parametrize("zone, key", [
    ("Iceland", "IS"), ("Atlantic/Jan_Mayen", "NO"), ("Africa/Asmera", "ER"), ("Africa/Timbuktu", "ML"),
    ("America/Coral_Harbour", "CA"), ("America/Virgin", "VI"),
])
def test_corrected_links_resolve_to_that_country(zone, key):
    hit = resolve_source(environ={}, timezone=zone).current()
    assert (hit.key, hit.located_by) == (key, f"timezone:{zone}")


@pytest.mark.parametrize("zone", ["Pacific/Ponape", "Pacific/Truk", "Antarctica/South_Pole",
                                  "GB-Eire", "W-SU", "Pacific/Samoa"])
def test_places_without_a_figure_or_a_single_country_fall_to_world(zone):
    # Micronesia and Antarctica have no bundled figure; GB-Eire, W-SU (western Soviet Union) and
    # Pacific/Samoa (independent Samoa or American Samoa) name no single country.
    with pytest.warns(UserWarning, match="world average"):
        assert resolve_source(environ={}, timezone=zone).current() == WORLD_AVERAGE


def test_table_shape():
    table = _timezones()
    assert len(table) > 500
    assert all(re.fullmatch(r"[A-Z]{2}", iso2) for iso2 in table.values())
    for name in ("GB-Eire", "W-SU", "Pacific/Samoa", "CET", "EET", "MET", "WET", "EST", "MST", "HST",
                 "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT", "UTC", "GMT", "Etc/UTC"):
        assert name not in table


def _zone_tab() -> dict[str, str]:
    for root in zoneinfo.TZPATH:
        path = Path(root) / "zone.tab"
        if path.is_file():
            rows = (line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
                    if line and not line.startswith("#"))
            return {fields[2]: fields[0] for fields in rows}
    pytest.skip("no zone.tab on this system")


def test_zones_agree_with_the_system_zone_tab():
    table = _timezones()
    tab = _zone_tab()
    wrong = {zone: (table[zone], iso2) for zone, iso2 in tab.items() if zone in table and table[zone] != iso2}
    assert not wrong
