"""Reading a CSV the way a user's own script would: every row as a dict of text cells."""

from __future__ import annotations

import csv


def read_rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
