"""benchmarks/append_cost.py: its probe appends real rows in a fresh interpreter."""

from __future__ import annotations

from .conftest import load


def test_the_probe_appends_rows_and_reports_a_cost(tmp_path):
    append_cost = load("append_cost")
    per_row_us = append_cost.probe(None, 5, str(tmp_path))
    assert per_row_us > 0
    assert list(tmp_path.iterdir()) == []  # its temporary directory is gone
