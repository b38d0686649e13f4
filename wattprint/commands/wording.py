"""Error and warning texts in command-line words.

The core's messages advise in Python (``country='FR'``, ``carbon_intensity=``), which is right
for the API and wrong on a command line. :func:`as_options` rewrites that advice into the
commands' options (``--country FR``, ``--carbon-intensity``).
"""

from __future__ import annotations

import re

__all__ = ["as_options"]

# name='value', name=1.5, a bare name= (followed by "/", a space, ")" or the end), or a name
# that a message is about ("measure_period must be > 0").
_NAMES = "country|region|cloud|pue|scope|carbon_intensity|measure_period|project_name|experiment_description|output_file"
_ADVICE = re.compile(rf"\b({_NAMES})(?:=(?:'([^']*)'|([0-9][0-9.]*))?|(?= must\b))")


def as_options(text: str) -> str:
    """``"pass it as country='FR'"`` -> ``"pass it as --country FR"``."""

    def option(match: re.Match[str]) -> str:
        name = "--" + match.group(1).replace("_", "-")
        value = match.group(2) if match.group(2) is not None else match.group(3)
        return f"{name} {value}" if value else name

    return _ADVICE.sub(option, text)
