"""A carbon-intensity forecast as a step curve, and the CO2e of an energy profile laid on it.

Times are Unix seconds (UTC). A forecast is a run of contiguous periods, each with one
intensity (gCO2e/kWh) that holds from its start to its end; an energy profile is a list of
:class:`Segment` s (offset from the job's start, duration, energy), each drawn at constant power.
Both are step functions, so the grams a profile emits when it starts at ``t`` are an exact sum of
overlaps, and that sum is linear in ``t`` between the starts where a segment edge meets a period
edge: the best start is always one of those (see :func:`candidate_starts`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["Forecast", "ForecastUnavailable", "Period", "Segment", "parse_utc"]


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


def candidate_starts(forecast: Forecast, profile: Sequence[Segment], earliest: float, latest: float) -> list[float]:
    """Every start in ``[earliest, latest]`` at which a segment edge meets a period edge, plus the
    two ends: the grams are linear between consecutive candidates, so one of them is the minimum."""
    edges = {p.start for p in forecast.periods} | {forecast.end}
    offsets = {0.0}
    for seg in profile:
        offsets.add(seg.offset_s)
        offsets.add(seg.offset_s + max(seg.duration_s, 0.0))
    found = {earliest, latest}
    for edge in edges:
        for off in offsets:
            t = edge - off
            if earliest < t < latest:
                found.add(t)
    return sorted(found)


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
