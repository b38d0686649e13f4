"""A carbon-intensity forecast as a step curve, and the CO2e of an energy profile laid on it.

Times are Unix seconds (UTC). A forecast is a run of contiguous periods, each with one
intensity (gCO2e/kWh) that holds from its start to its end; an energy profile is a list of
:class:`Segment` s (offset from the job's start, duration, energy), each drawn at constant power.
Both are step functions, so the grams a profile emits when it starts at ``t`` are an exact sum of
overlaps, and that sum is linear in ``t`` between the starts where a segment edge meets a period
edge: the best start is always one of those (see :func:`cheapest_start`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import pairwise

__all__ = ["Forecast", "ForecastUnavailable", "Period", "Segment", "cheapest_start", "parse_utc"]


class ForecastUnavailable(Exception):
    """No usable forecast: the service failed, answered nothing, or does not cover the time asked.
    The message says why, in words fit for a user ("HTTP 503 Service Unavailable")."""


@dataclass(frozen=True)
class Period:
    """One forecast step: ``g_per_kwh`` from ``start`` to ``end`` (Unix seconds, UTC)."""

    start: float
    end: float
    g_per_kwh: float


@dataclass(frozen=True)
class Segment:
    """Part of a job: ``kwh`` of facility energy drawn evenly over ``duration_s`` seconds,
    starting ``offset_s`` seconds after the job starts."""

    offset_s: float
    duration_s: float
    kwh: float


@dataclass(frozen=True)
class Forecast:
    """A forecast for one location.

    Attributes:
        periods: contiguous, in time order (see :meth:`of`).
        key, name: the location (``"GB"``, ``"DK-DK1"``, ``"aws:eu-west-1"``...).
        source: the service and what it was asked (for the plan's text).
        basis: ``"lifecycle"``, ``"direct"`` or ``"unknown"``.
        signal: ``"average"`` (the grid mix) or ``"marginal"`` (WattTime's MOER).
        licence: terms of the figures.
    """

    periods: tuple[Period, ...]
    key: str
    name: str
    source: str
    basis: str = "unknown"
    signal: str = "average"
    licence: str = ""

    @classmethod
    def of(cls, periods: Iterable[Period], **labels: str) -> Forecast:
        """Sorted by start, duplicates dropped, cut at the first gap (a gap is not a forecast).

        Raises:
            ForecastUnavailable: no period is left.
        """
        ordered = sorted(periods, key=lambda p: p.start)
        kept: list[Period] = []
        for p in ordered:
            if not (math.isfinite(p.start) and math.isfinite(p.end)) or p.end <= p.start:
                continue
            if kept and p.start < kept[-1].end:  # the same step sent twice, or overlapping steps
                continue
            if kept and p.start > kept[-1].end:
                break
            kept.append(p)
        if not kept:
            raise ForecastUnavailable("the forecast has no periods")
        return cls(tuple(kept), **labels)

    @property
    def start(self) -> float:
        return self.periods[0].start

    @property
    def end(self) -> float:
        return self.periods[-1].end

    def covers(self, start: float, end: float) -> bool:
        return self.start <= start and end <= self.end

    def at(self, t: float) -> float:
        """The intensity in force at ``t`` (gCO2e/kWh)."""
        for p in self.periods:
            if p.start <= t < p.end:
                return p.g_per_kwh
        if t == self.end:
            return self.periods[-1].g_per_kwh
        raise ForecastUnavailable(f"the forecast does not cover {_iso(t)}")

    def grams(self, start: float, profile: Sequence[Segment]) -> float:
        """gCO2e of ``profile`` started at ``start``; the forecast must cover all of it."""
        total = 0.0
        for seg in profile:
            a = start + seg.offset_s
            b = a + seg.duration_s
            if seg.duration_s <= 0:
                total += seg.kwh * self.at(a)
                continue
            if not self.covers(a, b):
                raise ForecastUnavailable(f"the forecast ends at {_iso(self.end)}, before {_iso(b)}")
            per_s = seg.kwh / seg.duration_s
            for p in self.periods:
                overlap = min(b, p.end) - max(a, p.start)
                if overlap > 0:
                    total += per_s * overlap * p.g_per_kwh
        return total

    def extended_back_to(self, t: float, limit_s: float) -> Forecast:
        """The same forecast with its first step also holding from ``t``, when the forecast
        starts after ``t`` by at most ``limit_s`` (a service that starts at the next full hour)."""
        if t >= self.start or self.start - t > limit_s:
            return self
        first = self.periods[0]
        return Forecast((Period(t, first.end, first.g_per_kwh), *self.periods[1:]), self.key,
                        self.name, self.source, self.basis, self.signal, self.licence)


def cheapest_start(forecast: Forecast, profile: Sequence[Segment], earliest: float, latest: float) -> float:
    """The start in ``[earliest, latest]`` with the fewest grams for ``profile``; of equal ones,
    the earliest. The forecast must cover the profile from every start in the interval.

    Why it is exact and fast: with ``C(t)`` the integral of the intensity up to ``t``, a start
    ``s`` costs ``f(s) = sum over segments of rate x (C(s + end) - C(s + begin))``: piecewise
    linear in ``s``, its slope changing only where a segment edge meets a forecast edge. So the
    minimum is at one of those starts or at an end of the interval, and ``f`` there follows from
    one exact value and the slope changes, in one sweep over the sorted edges (a 72-hour forecast
    in 5-minute steps and a run of 100 epochs is some 90,000 starts).
    """
    weights: dict[float, float] = {}  # offset -> kWh/s entering (-) or leaving (+) the profile there
    for seg in profile:
        if seg.duration_s > 0 and seg.kwh:
            rate = seg.kwh / seg.duration_s
            weights[seg.offset_s] = weights.get(seg.offset_s, 0.0) - rate
            weights[seg.offset_s + seg.duration_s] = weights.get(seg.offset_s + seg.duration_s, 0.0) + rate
    terms = [(x, w) for x, w in weights.items() if w]
    if latest <= earliest or not terms:
        return earliest
    events: list[tuple[float, float]] = []
    periods = forecast.periods
    for before, after in pairwise(periods):
        jump = after.g_per_kwh - before.g_per_kwh
        if jump:
            for x, w in terms:
                s = after.start - x
                if earliest < s < latest:
                    events.append((s, w * jump))
    events.sort()
    grams = forecast.grams(earliest, profile)
    slope = sum(w * forecast.at(earliest + x) for x, w in terms)
    best_s, best_g = earliest, grams
    at = earliest
    tolerance = 1e-9 * max(1.0, abs(grams))
    i = 0
    while True:
        s = events[i][0] if i < len(events) else latest
        grams += slope * (s - at)
        at = s
        if grams < best_g - tolerance:  # strictly better: of equal starts the earlier stays
            best_s, best_g = s, grams
        if i >= len(events):
            return best_s
        while i < len(events) and events[i][0] == s:
            slope += events[i][1]
            i += 1


def parse_utc(text: object) -> float:
    """Unix seconds of an ISO 8601 time as the services write it (``2026-01-20T16:30Z``,
    ``...T19:00:00.000Z``, ``...+00:00``); a time without an offset is UTC."""
    if not isinstance(text, str):
        raise TypeError(f"a time must be text, got {type(text).__name__}")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
