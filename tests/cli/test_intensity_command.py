"""``wattprint intensity``: one key, listings, JSON, unknown keys, the detected location."""

from __future__ import annotations

import argparse
import json

import pytest

from wattprint.commands import intensity
from wattprint.core.carbon.table import rows


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="wattprint")
    intensity.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["intensity", *argv])
    assert args.func is intensity.run
    return args.func(args)


def test_one_key(capsys):
    assert run("fra") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "France (FR)"
    for fragment in ("44.18 gCO2e/kWh", "lifecycle", "2024", "Ember Yearly Electricity Data", "CC BY 4.0"):
        assert fragment in out


def test_cloud_key_as_json(capsys):
    assert run("aws:us-east-1", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["g_per_kwh"] == 418.0 and data["licence"] == "ODbL 1.0"
    assert "US-MIDA-PJM" in data["source"]


def test_unknown_key_exits_2_with_matches_on_stderr(capsys):
    assert run("Frnace") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown location key 'Frnace'" in captured.err and "FR (France)" in captured.err


def test_kind_filter(capsys):
    assert run("FR", "--kind", "region") == 2
    assert "country key" in capsys.readouterr().err
    assert run("SE-SE3", "--kind", "region") == 0


@pytest.mark.parametrize("kind", ["country", "region", "cloud"])
def test_list_one_kind(capsys, kind):
    assert run("--list", kind) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"# {kind} ({len(rows(kind))})"
    assert len(lines) == 1 + len(rows(kind))


def test_list_everything_and_as_json(capsys):
    assert run("--list") == 0
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("#")]
    assert [h.split()[1] for h in headers] == ["country", "region", "cloud"]
    assert run("--list", "region", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == len(rows("region"))
    assert {"key", "g_per_kwh", "year", "basis", "source", "licence"} <= set(data[0])


@pytest.fixture(autouse=True)
def clean_location_environment(monkeypatch):
    for var in ("WATTPRINT_CARBON_INTENSITY", "WATTPRINT_CLOUD", "WATTPRINT_REGION", "WATTPRINT_COUNTRY"):
        monkeypatch.delenv(var, raising=False)


def test_no_key_shows_the_detected_location(capsys, monkeypatch):
    monkeypatch.setenv("WATTPRINT_COUNTRY", "Norway")
    assert run() == 0
    out = capsys.readouterr().out
    assert out.startswith("Norway (NO)") and "located by  the environment variable WATTPRINT_COUNTRY" in out


def test_no_key_with_a_bad_setting_exits_2(capsys, monkeypatch):
    monkeypatch.setenv("WATTPRINT_REGION", "US-XX")
    assert run() == 2
    assert "WATTPRINT_REGION" in capsys.readouterr().err


def test_bad_list_kind_is_an_argparse_error():
    with pytest.raises(SystemExit) as info:
        run("--list", "planet")
    assert info.value.code == 2


def test_azure_display_name_as_key(capsys):
    assert run("azure:West Europe") == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("(azure:westeurope)")


def test_no_location_names_the_command_line_options(capsys, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # a zone of no country, whatever this machine's /etc/localtime says
    assert run() == 0
    out = capsys.readouterr().out
    assert "located by  nothing (no location given or detected): the world average" in out
    assert "--country/--region/--cloud" in out and "country=/region=/cloud=" in out and "WATTPRINT_COUNTRY" in out


@pytest.mark.parametrize(("name", "line"), [
    ("Deutschland", "Germany (DE)"), ("España", "Spain (ES)"), ("Österreich", "Austria (AT)"),
    ("Nihon", "Japan (JP)"), ("日本", "Japan (JP)"), ("Россия", "Russia (RU)"), ("Sverige", "Sweden (SE)"),
])
def test_a_country_named_in_its_own_language_resolves(capsys, name, line):
    assert run(name) == 0
    assert capsys.readouterr().out.splitlines()[0] == line


def test_a_misspelt_native_name_suggests_that_country_first(capsys):
    assert run("Deutchland") == 2
    err = capsys.readouterr().err
    assert err.split("closest matches: ")[1].startswith("DE (Germany)")
    # `wattprint intensity` has no --carbon-intensity of its own: the advice says which command does.
    assert "--carbon-intensity (gCO2e/kWh) to `wattprint run`" in err


def test_every_endonym_names_a_bundled_country_and_shadows_no_other_key():
    from wattprint.core.carbon.table import normalise, read_csv

    countries = {r.key: r for r in rows("country")}
    spellings = {}
    for row in countries.values():
        for text in (row.key, row.country_iso3, row.name):
            spellings[normalise(text)] = row.key
    for r in read_csv("endonyms.csv"):
        assert r["iso2"] in countries
        for name in r["names"].split("|"):
            assert normalise(name), name
            assert spellings.get(normalise(name), r["iso2"]) == r["iso2"], name
