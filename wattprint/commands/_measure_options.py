"""The Tracker options the measuring commands (``run``, ``monitor``) take from the command line,
declared once: where the grid is, the PUE, where the row goes and how often power is sampled.

Each argument is named after its option (``--carbon-intensity`` is ``carbon_intensity``), so
:func:`options` reads them back by name and :class:`~wattprint.core.settings.Settings` checks them
with the command line's spelling of each.
"""

from __future__ import annotations

import argparse
from typing import Any

from wattprint.core.settings import DEFAULT_OUTPUT_FILE

#: The options :func:`add_arguments` declares, by their Settings names.
NAMES = ("country", "region", "cloud", "carbon_intensity", "pue", "output_file", "measure_period")


def number_or_name(text: str) -> float | str:
    """``--pue 1.2`` is the number 1.2; ``--pue aws`` a preset name (the settings check both)."""
    try:
        return float(text)
    except ValueError:
        return text


def add_location(p: argparse.ArgumentParser, *, intensity: bool = True) -> None:
    """``--country``, ``--region``, ``--cloud`` (the grid) and, with ``intensity``,
    ``--carbon-intensity`` (gCO2e/kWh)."""
    p.add_argument("--country", metavar="KEY", help='grid location: ISO code or name ("FR", "France")')
    p.add_argument("--region", metavar="KEY", help='sub-national grid ("US-CA", "SE-SE3")')
    p.add_argument("--cloud", metavar="KEY", help='cloud region ("aws:us-east-1", "gcp:europe-west1")')
    if intensity:
        p.add_argument("--carbon-intensity", type=float, metavar="G",
                       help="a fixed grid intensity in gCO2e/kWh, instead of a location")


def add_arguments(p: argparse.ArgumentParser, *, output_help: str = "CSV to append to") -> None:
    """The location, ``--pue``, ``--output-file`` and ``--measure-period`` (s)."""
    add_location(p)
    p.add_argument("--pue", type=number_or_name, default=1.0, metavar="N",
                   help="power usage effectiveness: a number >= 1 or a preset (aws, gcp, azure, industry); default 1.0")
    p.add_argument("--output-file", default=DEFAULT_OUTPUT_FILE, metavar="PATH",
                   help=f"{output_help} (default: {DEFAULT_OUTPUT_FILE})")
    p.add_argument("--measure-period", type=float, default=1.0, metavar="S", help="sampling period in seconds (default 1.0)")


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The values of the arguments :func:`add_arguments` declared, by option name."""
    return {name: getattr(args, name) for name in NAMES}
