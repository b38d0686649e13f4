"""ECO2AI's ``electricity_pricing``: prices per time of day, ``{"8:30-19:00": 0.2, "19:00-8:30": 0.1}``.

The intervals (local time, ``h:mm-h:mm``) must follow each other without gaps or overlaps and
cover 24 hours; an interval may run past midnight. ECO2AI prices each of its samples at the
price of the moment it was taken; here a row's energy is spread evenly over its duration and
each part priced at the interval it fell in, which is the same for a constant power and needs
no sampling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from wattprint.eco2ai.errors import IncorrectPricingDict

_DAY_MIN = 24 * 60
_INTERVAL = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


class Pricing:
    """A validated price table; :meth:`cost` prices energy drawn between two instants."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        if not isinstance(table, Mapping) or not table:
            raise IncorrectPricingDict(f"electricity_pricing= must be a dict such as {{'0:00-24:00': 0.2}}, got {table!r}")
        self.spans: list[tuple[int, int, float]] = []  # (start minute, length in minutes, price per kWh)
        for key, price in table.items():
            m = _INTERVAL.fullmatch(str(key))
            if m is None:
                raise IncorrectPricingDict(f"electricity_pricing= interval {key!r} is not 'hh:mm-hh:mm'")
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if h1 >= 24 or h2 >= 24:
                raise IncorrectPricingDict("Hour must be in 0..23")
            if m1 >= 60 or m2 >= 60:
                raise IncorrectPricingDict("Minutes must be in 0..59")
            if isinstance(price, bool) or not isinstance(price, (int, float)) or not price >= 0 or price == float("inf"):
                raise IncorrectPricingDict(f"electricity_pricing= price of {key!r} must be a number >= 0, got {price!r}")
            start, end = h1 * 60 + m1, h2 * 60 + m2
            self.spans.append((start, (end - start) % _DAY_MIN or _DAY_MIN, float(price)))
        total = sum(length for _, length, _ in self.spans)
        if total != _DAY_MIN:
            raise IncorrectPricingDict(
                f"Total duration of time intervals in hours must be 24 hours! Now, total duration equals: {total / 60:g}"
            )
        for (start, _, _), (prev_start, prev_len, _) in zip(self.spans, self.spans[-1:] + self.spans[:-1]):
            if (prev_start + prev_len) % _DAY_MIN != start:
                raise IncorrectPricingDict("Time intervals mustn't overlap and they should be sorted by time")

    def price_at(self, minute_of_day: float) -> float:
        """The price per kWh at a time of day, in minutes after midnight."""
        for start, length, price in self.spans:
            if (minute_of_day - start) % _DAY_MIN < length:
                return price
        raise AssertionError("the spans cover the day")  # checked in __init__

    def cost(self, start: datetime, end: datetime, kwh: float) -> float:
        """The price of ``kwh`` drawn evenly from ``start`` to ``end`` (local times)."""
        seconds = (end - start).total_seconds()
        if seconds <= 0:
            return kwh * self.price_at(start.hour * 60 + start.minute + start.second / 60)
        total, t = 0.0, start
        while t < end:
            minute = t.hour * 60 + t.minute + (t.second + t.microsecond / 1e6) / 60
            # The next boundary of any interval after t, or the end.
            step = min(((s - minute) % _DAY_MIN or _DAY_MIN) for s, _, _ in self.spans)
            following = min(end, t + timedelta(minutes=step))
            total += kwh * (following - t).total_seconds() / seconds * self.price_at(minute)
            t = following
        return total
