"""The report as JSON, written as it is encoded: one run's dict in memory at a time.

The same object as ``json.dumps(report.as_dict(), indent=2)`` with ``what_if`` added, laid out
the same way except that each epoch is one line (``{"index": 0, ...}``): a report of a
million epochs is then a million short lines, encoded by the json module's C encoder, where
the indented layout would take a dozen lines and ten times the time per epoch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from wattprint.report.summary import Report
from wattprint.report.whatif import Alternative

__all__ = ["iter_json", "write_json"]

_ONE_LINE_EACH = "epochs"  # lists whose items are written one per line


class _Lazy:
    """A list made as it is written: the runs of a group, the groups of a report."""

    def __init__(self, make: Callable[[], Iterable[Any]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[Any]:
        return iter(self._make())


def iter_json(report: Report, alternatives: Sequence[Alternative] = ()) -> Iterator[str]:
    """The JSON text in pieces, ending with a newline."""

    def runs(group) -> _Lazy:
        return _Lazy(lambda: (r.as_dict() for r in group.runs))

    data = report.as_dict(groups=_Lazy(lambda: (g.as_dict(runs=runs(g)) for g in report.groups)))
    data["what_if"] = [a.as_dict() for a in alternatives]
    yield from _pieces(data, 0, one_line_each=False)
    yield "\n"


def write_json(report: Report, alternatives: Sequence[Alternative], write: Callable[[str], Any]) -> None:
    """Pass :func:`iter_json`'s text to ``write`` in pieces of about 64 kB."""
    buffer: list[str] = []
    size = 0
    for piece in iter_json(report, alternatives):
        buffer.append(piece)
        size += len(piece)
        if size > 1 << 16:
            write("".join(buffer))
            buffer.clear()
            size = 0
    write("".join(buffer))


def _pieces(value: Any, level: int, *, one_line_each: bool) -> Iterator[str]:
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, dict):
        if not value:
            yield "{}"
            return
        sep = "{\n"
        for key, item in value.items():
            yield f"{sep}{inner}{json.dumps(str(key))}: "
            sep = ",\n"
            yield from _pieces(item, level + 1, one_line_each=key == _ONE_LINE_EACH)
        yield f"\n{outer}}}"
    elif isinstance(value, (list, tuple, _Lazy)):
        sep = "[\n"
        for item in value:
            yield sep + inner
            sep = ",\n"
            if one_line_each:
                yield json.dumps(item, default=str)
            else:
                yield from _pieces(item, level + 1, one_line_each=False)
        yield "[]" if sep == "[\n" else f"\n{outer}]"
    else:
        yield json.dumps(value, default=str)
