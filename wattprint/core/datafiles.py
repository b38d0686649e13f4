"""Reading the data files shipped inside the package.

A plain file read next to the module: ``importlib.resources`` would cost ~9 ms of imports at the
first lookup, which lands in ``Tracker.start()``; wattprint is always installed unzipped.
"""

from __future__ import annotations

import os


def read_data(module_file: str, name: str) -> str:
    """UTF-8 text of ``data/<name>`` in the directory of ``module_file`` (pass ``__file__``)."""
    path = os.path.join(os.path.dirname(os.path.abspath(module_file)), "data", name)
    with open(path, encoding="utf-8") as f:
        return f.read()
