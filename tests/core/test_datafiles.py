"""The bundled tables' reader gives what the csv module gives, without importing it for plain tables."""

from __future__ import annotations

import csv
import glob
import io
import os

import pytest

import wattprint
from wattprint.core.carbon.table import read_csv
from wattprint.core.datafiles import _cells, csv_rows

PACKAGE = os.path.dirname(wattprint.__file__)
BUNDLED = sorted(glob.glob(os.path.join(PACKAGE, "core", "*", "data", "*.csv")))


def _csv_module(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]


@pytest.mark.parametrize("text", [
    "a,b,c\n1,2,3\n",
    'a,"b, with a comma",c',
    'a,"he said ""hi""",x',
    "a,\n,\n\n\nb",
    '"",""\na,""',
    '"a quote at the end """,b',
    ' , a ,"b" ',
    'a"b,c',  # a quote inside an unquoted cell: csv's rules
    '"ab"c,d',  # text after a closing quote: csv's rules
    '"a cell\nover two lines",x\ny,z',
    '"never closed,a',
])
def test_rows_are_what_the_csv_module_reads(text):
    assert csv_rows(text) == _csv_module(text)


def test_every_bundled_table_is_read_without_the_csv_module_and_the_same():
    assert len(BUNDLED) >= 9
    for path in BUNDLED:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert all(_cells(line) is not None for line in text.split("\n") if line), path
        assert csv_rows(text) == _csv_module(text), path


@pytest.mark.parametrize("name", [os.path.basename(p) for p in BUNDLED if os.sep + "carbon" + os.sep in p])
def test_carbon_tables_read_as_dict_reader_reads_them(name):
    with open(os.path.join(PACKAGE, "core", "carbon", "data", name), encoding="utf-8") as f:
        body = "".join(line for line in f if not line.startswith("#"))
    assert read_csv(name) == list(csv.DictReader(io.StringIO(body)))


def test_a_line_with_a_carriage_return_is_read_by_the_csv_module():
    text = "a,b\r\n1,2\r\n"  # a file written with Windows line ends, read without newline translation
    assert csv_rows(text) == _csv_module(text) == [["a", "b"], ["1", "2"]]
