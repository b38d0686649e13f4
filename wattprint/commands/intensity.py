"""``wattprint intensity``: bundled carbon-intensity figures with their provenance.

    wattprint intensity FR                  # one figure with basis, year, source and licence
    wattprint intensity aws:us-east-1 --json
    wattprint intensity --list [country|region|cloud]
    wattprint intensity                     # what this machine resolves to, and why

An unknown key prints the closest matches on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from wattprint.core.carbon.intensity import Intensity
from wattprint.core.carbon.location import locate, lookup_key
from wattprint.core.carbon.table import KINDS, rows
from wattprint.core.errors import CarbonDataError, ConfigError
from wattprint.core.naming import CLI

__all__ = ["add_parser", "located_by_words", "run"]

EXIT_OK = 0
EXIT_UNKNOWN_KEY = 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``intensity`` to an ``argparse`` subparsers object and return its parser.

    The parser's default ``func`` is :func:`run`: call ``args.func(args)``.
    """
    parser = subparsers.add_parser(
        "intensity",
        help="show the carbon intensity (gCO2e/kWh) of a country, region or cloud region",
        description="Show a bundled carbon-intensity figure with its basis, year, source and "
                    "licence, list the keys, or (with no key) show what this machine resolves to.",
    )
    parser.add_argument("key", nargs="?",
                        help="country (FR, FRA, France), region (US-CA, SE-SE3) or cloud "
                             "(aws:us-east-1, gcp:europe-west1, azure:westeurope)")
    parser.add_argument("--kind", choices=KINDS, default=None,
                        help="look the key up only among countries, regions or cloud regions")
    parser.add_argument("--list", dest="list_kind", nargs="?", const="all",
                        choices=(*KINDS, "all"), metavar="{country,region,cloud}",
                        help="list the bundled keys (all kinds when no kind is given)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``wattprint intensity``; returns the exit status (0, or 2 for an unknown key)."""
    list_kind = getattr(args, "list_kind", None)
    as_json = bool(getattr(args, "json", False))
    if list_kind is not None:
        _print_list(None if list_kind == "all" else list_kind, as_json)
        return EXIT_OK
    key = getattr(args, "key", None)
    try:
        intensity = lookup_key(key, getattr(args, "kind", None), CLI) if key else locate(naming=CLI)
    except (CarbonDataError, ConfigError) as exc:
        print(f"wattprint intensity: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN_KEY
    if as_json:
        print(json.dumps(asdict(intensity), ensure_ascii=False, indent=2))
    else:
        print(_describe(intensity, detected=not key))
    return EXIT_OK


def _describe(intensity: Intensity, detected: bool) -> str:
    lines = [
        f"{intensity.name} ({intensity.key})",
        f"  intensity   {intensity.g_per_kwh:g} gCO2e/kWh",
        f"  basis       {intensity.basis}",
        f"  year        {intensity.year if intensity.year is not None else '-'}",
        f"  source      {intensity.source}",
        f"  licence     {intensity.licence}",
    ]
    if detected:
        lines.append(f"  located by  {located_by_words(intensity.located_by)}")
        if intensity.located_by == "default":
            lines.append("  (no location found: set WATTPRINT_COUNTRY, WATTPRINT_REGION or "
                         "WATTPRINT_CLOUD, give --country/--region/--cloud to `wattprint run` "
                         "or `wattprint info`, or pass country=/region=/cloud= to the tracker)")
    return "\n".join(lines)


def located_by_words(located_by: str) -> str:
    """``Intensity.located_by`` for a person: ``"timezone:Europe/Paris"`` -> ``"the system time zone (Europe/Paris)"``."""
    how, _, detail = located_by.partition(":")
    words = {
        "argument": "a fixed intensity given on the command line" if detail else "a location given on the command line",
        "env": f"the environment variable {detail}",
        "timezone": f"the system time zone ({detail}); --country or WATTPRINT_COUNTRY sets it",
        "default": "nothing (no location given or detected): the world average",
    }
    return words.get(how, located_by)


def _print_list(kind: str | None, as_json: bool) -> None:
    selected = rows(kind)
    if as_json:
        print(json.dumps(
            [{"kind": r.kind, "key": r.key, "name": r.name, "g_per_kwh": r.g_per_kwh,
              "year": r.year, "basis": r.source.basis, "source": r.source.name,
              "licence": r.source.licence} for r in selected],
            ensure_ascii=False, indent=2))
        return
    width = max(len(r.key) for r in selected)
    for k in (KINDS if kind is None else (kind,)):
        of_kind = [r for r in selected if r.kind == k]
        print(f"# {k} ({len(of_kind)})")
        for r in of_kind:
            print(f"{r.key:<{width}}  {r.g_per_kwh:>8g}  {r.year}  {r.source.basis:<9}  {r.name}")
