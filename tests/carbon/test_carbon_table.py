"""Bundled tables: pinned figures, internal consistency, key spellings, unknown keys."""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter

import pytest

from wattprint.core.carbon import WORLD_AVERAGE, lookup
from wattprint.core.carbon.table import KINDS, rows, sources, suggest
from wattprint.core.errors import CarbonDataError

# Figures cross-checked against a second source when the tables were compiled (see data/README.md).
KNOWN = [
    # key, kind, g/kWh, year, basis, licence, source starts with
    ("FR", "country", 44.18, 2024, "lifecycle", "CC BY 4.0", "Ember Yearly Electricity Data (2025"),
    ("US", "country", 383.55, 2024, "lifecycle", "CC BY 4.0", "Ember Yearly"),
    ("IN", "country", 708.32, 2024, "lifecycle", "CC BY 4.0", "Ember Yearly"),
    ("DE", "country", 344.14, 2024, "lifecycle", "CC BY 4.0", "Ember Yearly"),
    ("GB", "country", 210.89, 2024, "lifecycle", "CC BY 4.0", "Ember Yearly"),
    ("PL", "country", 614.98, 2024, "lifecycle", "CC BY 4.0", "Ember Yearly"),
    ("LS", "country", 20.83, 2022, "lifecycle", "CC BY 4.0", "Ember Yearly"),
    ("TM", "country", 1306.3, 2023, "lifecycle", "CC BY 4.0", "Ember Yearly"),
    ("US-CA", "region", 199.67, 2024, "direct", "CC BY 4.0", "Ember US state"),
    ("CA-QC", "region", 41.0, 2025, "lifecycle", "ODbL 1.0", "Electricity Maps"),
    ("AU-NSW", "region", 525.0, 2025, "lifecycle", "ODbL 1.0", "Electricity Maps"),
    ("SE-SE3", "region", 20.0, 2025, "lifecycle", "ODbL 1.0", "Electricity Maps"),
    ("IT-NO", "region", 275.0, 2025, "lifecycle", "ODbL 1.0", "Electricity Maps"),
    ("aws:us-east-1", "cloud", 418.0, 2025, "lifecycle", "ODbL 1.0", "Electricity Maps"),
    ("azure:westeurope", "cloud", 253.0, 2025, "lifecycle", "ODbL 1.0", "Electricity Maps"),
    ("gcp:europe-west1", "cloud", 103.37, 2024, "direct", "Apache-2.0", "Google Cloud region"),
]


@pytest.mark.parametrize("key, kind, g, year, basis, licence, source", KNOWN)
def test_known_figures(key, kind, g, year, basis, licence, source):
    hit = lookup(key, kind)
    assert (hit.key, hit.g_per_kwh, hit.year, hit.basis, hit.licence) == (key, g, year, basis, licence)
    assert hit.source.startswith(source)
    assert hit.located_by == "argument"


def test_row_counts_match_the_reference_tables():
    counts = Counter((r.kind, r.source.id) for r in rows())
    assert counts[("country", "ember-2025")] == 208
    assert counts[("region", "ember-us-2025")] == 52
    assert counts[("region", "ember-india-2025")] == 36
    assert counts[("region", "electricitymaps-2025")] == 145
    assert counts[("cloud", "google-2024")] == 44
    assert counts[("cloud", "electricitymaps-2025")] == 88
    assert sum(counts.values()) == 208 + 233 + 132


def test_every_row_is_complete_and_plausible():
    for row in rows():
        assert row.key and row.name and row.country_iso3, row
        assert 2020 <= row.year <= 2026, row
        assert math.isfinite(row.g_per_kwh) and 0 < row.g_per_kwh <= 2000, row
        assert row.source.basis in ("lifecycle", "direct"), row
        assert row.source.licence and row.source.name and row.source.url.startswith("https://")


def test_keys_are_unique_across_all_tables():
    keys = [r.key for r in rows()]
    assert len(keys) == len(set(keys))
    assert len({k.casefold() for k in keys}) == len(keys)


def test_odbl_rows_are_only_electricity_maps():
    for row in rows():
        assert (row.source.licence == "ODbL 1.0") == (row.source.id == "electricitymaps-2025")


def test_every_region_and_cloud_row_names_a_known_country():
    iso3 = {r.country_iso3 for r in rows("country")}
    for row in rows("region") + rows("cloud"):
        assert row.country_iso3 in iso3, row


def test_every_source_is_used():
    used = {r.source.id for r in rows()}
    assert used == set(sources())


def test_canadian_provinces_and_australian_states_present():
    regions = {r.key for r in rows("region")}
    canada = {"CA-AB", "CA-BC", "CA-MB", "CA-NB", "CA-NL", "CA-NS", "CA-NT", "CA-NU", "CA-ON",
              "CA-PE", "CA-QC", "CA-SK", "CA-YT"}
    assert canada <= regions
    assert {"AU-NSW", "AU-VIC", "AU-QLD", "AU-SA", "AU-TAS", "AU-WA", "AU-NT"} <= regions


@pytest.mark.parametrize("spelling", ["FR", "fr", "FRA", "fra", "France", "FRANCE", " france "])
def test_country_spellings(spelling):
    assert lookup(spelling, "country").key == "FR"


@pytest.mark.parametrize("spelling, key", [
    ("UK", "GB"), ("United Kingdom", "GB"), ("Great Britain", "GB"),
    ("United States of America", "US"), ("USA", "US"),
    ("Côte d'Ivoire", "CI"), ("cote divoire", "CI"), ("Cote d'Ivoire", "CI"),
    ("Turkey", "TR"), ("Türkiye", "TR"), ("Czech Republic", "CZ"), ("Congo (DRC)", "CD"),
    ("Kosovo", "XK"), ("NA", "NA"), ("Namibia", "NA"),
])
def test_country_names_and_aliases(spelling, key):
    assert lookup(spelling).key == key


@pytest.mark.parametrize("spelling, key", [
    ("us-ca", "US-CA"), ("IN-MH", "IN-MH"), ("se-se3", "SE-SE3"), ("US-CAL-CISO", "US-CAL-CISO"),
    ("AWS:US-EAST-1", "aws:us-east-1"), ("gcp / europe-west1", "gcp:europe-west1"),
    ("Azure:WestEurope", "azure:westeurope"), ("eastus", "azure:eastus"),
    ("us-east-1", "aws:us-east-1"), ("europe-west9", "gcp:europe-west9"),
])
def test_region_and_cloud_spellings(spelling, key):
    assert lookup(spelling).key == key


def test_a_country_code_finds_the_row_every_spelling_would():
    # Codes are looked up before (and without) the index of every name and alias: both must agree.
    from wattprint.core.carbon import table

    tables = table._get("country")
    full = tables.spellings("country")
    assert len(tables.codes) > 400
    for spelling, row in tables.codes.items():
        assert full[spelling] is row, spelling


def test_a_code_read_from_its_own_line_is_the_row_of_the_full_table(monkeypatch):
    # country="FR" builds one row while the table is not loaded; it must be the table's row.
    from wattprint.core.carbon import table

    countries = table.rows("country")
    assert len(countries) > 200
    for row in countries:
        for code in (row.key, row.country_iso3, row.key.lower()):
            monkeypatch.setattr(table, "_code_rows", {})
            assert table._code_row(table.normalise(code)) == row, code
    for spelling in ("uk", "uae", "drc", "zz", "zzz"):  # aliases and unknown codes: the full table decides
        assert table._code_row(spelling) is None, spelling


def test_a_code_is_found_before_the_table_is_loaded(monkeypatch):
    from wattprint.core.carbon import table

    monkeypatch.setattr(table, "_tables", None)
    monkeypatch.setattr(table, "_code_rows", {})
    assert lookup("DE").name == "Germany" and lookup("deu").key == "DE"
    assert table._tables is None
    assert lookup("UK").key == "GB"  # an alias, not a code: the table is parsed
    assert table._tables is not None and "region" not in table._tables.by_kind


def test_kind_restricts_the_search():
    assert lookup("FR", "country").key == "FR"
    with pytest.raises(CarbonDataError, match="is a country key; pass it as country='FR'"):
        lookup("FR", "region")
    with pytest.raises(CarbonDataError, match="is a region key"):
        lookup("US-CA", "cloud")


def test_world_key():
    assert lookup("world").g_per_kwh == WORLD_AVERAGE.g_per_kwh == 473.0
    assert lookup("World", "country").key == "world"
    with pytest.raises(CarbonDataError):
        lookup("world", "region")


@pytest.mark.parametrize("key, kind, expected", [
    ("Frnace", None, "FR (France)"),
    ("Germny", "country", "DE (Germany)"),
    ("US-CAL", "region", "US-CA (California)"),
    ("aws:us-east-9", "cloud", "aws:us-east-1"),
    ("azure:westeurop", "cloud", "azure:westeurope"),
])
def test_unknown_key_names_closest_matches(key, kind, expected):
    with pytest.raises(CarbonDataError) as info:
        lookup(key, kind)
    message = str(info.value)
    assert f"{key!r}" in message and expected in message
    assert "wattprint intensity --list" in message


def test_unknown_key_without_close_match_still_says_what_to_do():
    with pytest.raises(CarbonDataError, match="carbon_intensity="):
        lookup("zz-nowhere-at-all")


@pytest.mark.parametrize("bad", ["", "   ", None, 42])
def test_empty_or_non_string_key(bad):
    with pytest.raises(CarbonDataError):
        lookup(bad)


def test_bad_kind():
    with pytest.raises(CarbonDataError, match="kind must be one of"):
        lookup("FR", "planet")
    assert KINDS == ("country", "region", "cloud")


def test_suggest_returns_labels_best_first():
    assert suggest("Sweeden", "country")[0] == "SE (Sweden)"
    assert suggest("qqqqqqq") == []


def test_import_reads_no_data_and_opens_no_http_module():
    code = (
        "import sys, wattprint, wattprint.core.carbon as c\n"
        "from wattprint.core.carbon import table\n"
        "assert table._tables is None, 'tables parsed at import'\n"
        "heavy = [m for m in ('urllib.request', 'http.client', 'ssl', 'wattprint.core.carbon.live',"
        " 'numpy', 'pandas', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert c.lookup('FR').key == 'FR'; assert table._tables is None, 'a code reads its own row only'\n"
        "assert c.lookup('France').key == 'FR'; assert table._tables is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
