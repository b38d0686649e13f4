"""The report as JSON, written as it is encoded: one run's dict in memory at a time.

The same object as ``json.dumps(report.as_dict(), indent=2)`` with ``what_if`` (and any
``extra`` keys) added, laid out
the same way except that each epoch is one line (``{"index": 0, ...}``): a report of a
million epochs is then a million short lines, encoded by the json module's C encoder, where
the indented layout would take a dozen lines and ten times the time per epoch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from wattprint.report.summary import Report
from wattprint.report.whatif import Alternative

__all__ = ["iter_json", "write_json"]

_ONE_LINE_EACH = "epochs"  # lists whose items are written one per line
_BATCH = 256  # such lines per piece (a piece of a long run stays a few tens of kB)


class _Lazy:
    """A list made as it is written: the runs of a group, the groups of a report."""

    def __init__(self, make: Callable[[], Iterable[Any]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[Any]:
        return iter(self._make())


def iter_json(report: Report, alternatives: Sequence[Alternative] = (), extra: Mapping[str, Any] | None = None,
              nonfinite: list[Any] | None = None) -> Iterator[str]:
    """The JSON text in pieces, ending with a newline.

    A figure that is not finite (too large to add up) is written as ``null``, never as
    ``Infinity``/``NaN`` (not JSON); each one is appended to ``nonfinite`` if given.
    """

    def runs(group) -> _Lazy:
        return _Lazy(lambda: (r.as_dict() for r in group.runs))

    data = report.as_dict(groups=_Lazy(lambda: (g.as_dict(runs=runs(g)) for g in report.groups)))
    data["what_if"] = [a.as_dict() for a in alternatives]
    data.update(extra or {})
    yield from _pieces(data, 0, one_line_each=False, nonfinite=[] if nonfinite is None else nonfinite)
    yield "\n"


def write_json(report: Report, alternatives: Sequence[Alternative], write: Callable[[str], Any],
               extra: Mapping[str, Any] | None = None) -> int:
    """Pass :func:`iter_json`'s text to ``write`` in pieces of about 64 kB; returns how many
    figures were not finite (written as ``null``)."""
    buffer: list[str] = []
    size = 0
    nonfinite: list[Any] = []
    for piece in iter_json(report, alternatives, extra, nonfinite):
        buffer.append(piece)
        size += len(piece)
        if size > 1 << 16:
            write("".join(buffer))
            buffer.clear()
            size = 0
    write("".join(buffer))
    return len(nonfinite)


# What json.dumps(value, default=str, allow_nan=False) builds on every call, made once: the
# report writes one piece per epoch.
_ENCODE = json.JSONEncoder(default=str, allow_nan=False).encode


def _dumps(value: Any, nonfinite: list[Any]) -> str:
    try:
        return _ENCODE(value)
    except ValueError:  # rare: only then walk the value
        return _ENCODE(_finite(value, nonfinite))


def _lines(items: list[Any], inner: str, nonfinite: list[Any]) -> str:
    """The items' encodings, one a line (joined by a comma, a line end and ``inner``).

    Objects with the same first key, the epochs, are encoded as one list by the C encoder and
    cut between the items: ``}, {"key": `` cannot be inside a string, where every quote is
    escaped, nor inside an epoch, which holds no list of objects -- so it occurs exactly between
    items (checked: as many times as there are gaps). A call per item cost a third of the time.
    """
    first = items[0]
    key = next(iter(first), None) if type(first) is dict else None
    if type(key) is str and all(type(x) is dict and next(iter(x), None) == key for x in items):
        try:
            text = _ENCODE(items)
        except ValueError:  # a figure that is not finite: written one by one, as null
            pass
        else:
            head = "{" + _ENCODE(key) + ": "
            gap = "}, " + head
            if text.count(gap) == len(items) - 1:
                return text[1:-1].replace(gap, "},\n" + inner + head)
    return (",\n" + inner).join([_dumps(x, nonfinite) for x in items])


def _finite(value: Any, nonfinite: list[Any]) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        nonfinite.append(value)
        return None
    if isinstance(value, dict):
        return {k: _finite(v, nonfinite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, nonfinite) for v in value]
    return value


def _pieces(value: Any, level: int, *, one_line_each: bool, nonfinite: list[Any]) -> Iterator[str]:
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, dict):
        if not value:
            yield "{}"
            return
        sep = "{\n"
        for key, item in value.items():
            yield f"{sep}{inner}{json.dumps(str(key))}: "
            sep = ",\n"
            yield from _pieces(item, level + 1, one_line_each=key == _ONE_LINE_EACH, nonfinite=nonfinite)
        yield f"\n{outer}}}"
    elif isinstance(value, (list, tuple, _Lazy)):
        sep = "[\n"
        if one_line_each:
            # Lines in batches: each piece yielded here passes up through every enclosing
            # generator, which cost more than encoding the line itself.
            items = value if isinstance(value, list) else list(value)
            for start in range(0, len(items), _BATCH):
                yield sep + inner + _lines(items[start:start + _BATCH], inner, nonfinite)
                sep = ",\n"
        else:
            for item in value:
                yield sep + inner
                sep = ",\n"
                yield from _pieces(item, level + 1, one_line_each=False, nonfinite=nonfinite)
        yield "[]" if sep == "[\n" else f"\n{outer}]"
    else:
        yield _dumps(value, nonfinite)
