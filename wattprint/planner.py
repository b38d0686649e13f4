"""When to run: the start time with the lowest expected CO2e before a deadline, from a forecast.

    import wattprint
    plan = wattprint.plan(duration="3h", power_w=300, country="GB", deadline="12h")
    plan.start_time, plan.co2_kg_now, plan.co2_kg_start, plan.saving_kg
    plan.slurm_begin            # "--begin=2026-12-06T14:30:00" (local time, as sbatch reads it)

The job is an energy profile (:class:`~wattprint.core.carbon.forecast.Segment` s: constant power
for a given duration, or the epochs of a previous run read from its CSV) laid on the forecast's
step curve; its grams are exact sums of overlaps. Among the starts from now to ``deadline -
duration`` (and within the forecast), the cheapest wins, the earlier of equal ones. Without a
forecast (no provider for the location, the service down, a forecast shorter than the job) the
plan is "start now", and ``reason`` says why.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from wattprint.core.carbon.forecast.curve import (
    Forecast,
    ForecastUnavailable,
    Segment,
    cheapest_start,
)
from wattprint.core.errors import ConfigError
from wattprint.core.naming import PYTHON, Naming
from wattprint.core.units import G_PER_KG, J_PER_KWH

__all__ = ["Plan", "best_start", "parse_deadline", "parse_duration", "plan", "profile_from_csv", "profile_of"]

#: A forecast that starts this much after now (the next full hour) is taken to hold from now.
LEAD_IN_S = 3600.0
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|min|m|hr|h|day|d)", re.IGNORECASE)


@dataclass(frozen=True)
class Plan:
    """The planned start and what it saves. Times are Unix seconds (UTC); energy in kWh of
    facility energy (PUE included); CO2e in kg; intensities in gCO2e/kWh, energy-weighted over
    the job. Energy and CO2e are None when the job's power is unknown (the start is then chosen
    by intensity alone, which gives the same start).

    ``reason`` is empty when the start comes from a forecast, else why the plan is "start now".
    """

    now: float
    start: float
    duration_s: float
    deadline: float
    energy_kwh: float | None
    g_per_kwh_now: float | None
    g_per_kwh_start: float | None
    location_key: str = ""
    location_name: str = ""
    source: str = ""
    basis: str = ""
    signal: str = "average"
    reason: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def planned(self) -> bool:
        """True when a forecast chose the start."""
        return not self.reason

    @property
    def wait_s(self) -> float:
        return max(0.0, self.start - self.now)

    @property
    def end(self) -> float:
        return self.start + self.duration_s

    @property
    def start_time(self) -> datetime:
        """The planned start, UTC."""
        return datetime.fromtimestamp(self.start, timezone.utc)

    @property
    def deadline_time(self) -> datetime:
        """When the job must have finished, UTC."""
        return datetime.fromtimestamp(self.deadline, timezone.utc)

    def _kg(self, g: float | None) -> float | None:
        return None if g is None or self.energy_kwh is None else self.energy_kwh * g / G_PER_KG

    @property
    def co2_kg_now(self) -> float | None:
        return self._kg(self.g_per_kwh_now)

    @property
    def co2_kg_start(self) -> float | None:
        return self._kg(self.g_per_kwh_start)

    @property
    def saving_kg(self) -> float | None:
        now, then = self.co2_kg_now, self.co2_kg_start
        return None if now is None or then is None else now - then

    @property
    def saving_fraction(self) -> float | None:
        now, then = self.g_per_kwh_now, self.g_per_kwh_start
        return None if not now or then is None else (now - then) / now

    @property
    def slurm_begin(self) -> str:
        """``--begin=YYYY-MM-DDTHH:MM:SS`` in this machine's local time, as ``sbatch`` reads it."""
        return "--begin=" + _local(self.start).strftime("%Y-%m-%dT%H:%M:%S")

    @property
    def at_command(self) -> str:
        """``at -t [[CC]YY]MMDDhhmm[.ss]`` (POSIX) in local time; ``at`` has no finer grain."""
        return "at -t " + _local(self.start).strftime("%Y%m%d%H%M.%S")

    def as_dict(self) -> dict[str, Any]:
        def iso(t: float) -> str:
            return _local(t).isoformat(timespec="seconds")

        return {
            "planned": self.planned, "reason": self.reason or None,
            "now": iso(self.now), "start": iso(self.start), "end": iso(self.end), "deadline": iso(self.deadline),
            "start_unix": self.start, "wait_s": self.wait_s, "duration_s": self.duration_s,
            "energy_kwh": self.energy_kwh,
            "g_per_kwh_now": self.g_per_kwh_now, "g_per_kwh_start": self.g_per_kwh_start,
            "co2_kg_now": self.co2_kg_now, "co2_kg_start": self.co2_kg_start,
            "saving_kg": self.saving_kg, "saving_fraction": self.saving_fraction,
            "location": {"key": self.location_key, "name": self.location_name},
            "source": self.source, "basis": self.basis, "signal": self.signal,
            "slurm_begin": self.slurm_begin, "at": self.at_command, "notes": list(self.notes),
        }


def _local(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc).astimezone()


# -- arithmetic --------------------------------------------------------------------------------

def _duration_of(profile: Sequence[Segment]) -> float:
    return max((s.offset_s + max(s.duration_s, 0.0) for s in profile), default=0.0)


def best_start(forecast: Forecast, profile: Sequence[Segment], now: float, deadline: float,
               *, power_known: bool = True) -> Plan:
    """The start in ``[now, deadline - duration]`` with the fewest grams on ``forecast``.

    Raises:
        ConfigError: the deadline leaves less time than the job takes.
        ForecastUnavailable: the forecast does not cover the job started now.
    """
    duration = _duration_of(profile)
    if deadline - now < duration:
        raise ConfigError(f"the deadline is {_span(deadline - now)} away but the job takes {_span(duration)}")
    kwh = sum(s.kwh for s in profile)
    if kwh <= 0:
        raise ConfigError("the job's energy profile has no energy; give its power or a run with energy")
    fc = forecast.extended_back_to(now, LEAD_IN_S)
    if not fc.covers(now, now + duration):
        raise ForecastUnavailable(
            f"the forecast runs from {_clock(fc.start)} to {_clock(fc.end)}, which does not hold a "
            f"{_span(duration)} job started now")
    notes = []
    latest = deadline - duration
    if fc.end - duration < latest:
        notes.append(f"the forecast ends at {_clock(fc.end)}: starts after {_clock(fc.end - duration)} "
                     "could not be judged")
        latest = fc.end - duration
    start = cheapest_start(fc, profile, now, latest)  # ties: the earlier start
    return Plan(now=now, start=start, duration_s=duration, deadline=deadline,
                energy_kwh=kwh if power_known else None,
                g_per_kwh_now=fc.grams(now, profile) / kwh, g_per_kwh_start=fc.grams(start, profile) / kwh,
                location_key=fc.key, location_name=fc.name, source=fc.source, basis=fc.basis,
                signal=fc.signal, notes=tuple(notes))


# -- inputs ------------------------------------------------------------------------------------

def parse_duration(value: object, what: str = "duration") -> float:
    """Seconds from ``"90m"``, ``"1h30m"``, ``"2.5h"``, ``"1d"``, a ``timedelta``, or a number of seconds."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts).lower() != text.lower():
            raise ConfigError(f"{what} must be a duration such as 90m, 1h30m, 2.5h or 1d, got {value!r}")
        seconds = sum(float(n) * _UNITS[u.lower()] for n, u in parts)
    else:
        raise ConfigError(f"{what} must be a duration such as 90m or 2.5h, got {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{what} must be longer than zero, got {value!r}")
    return seconds


def parse_deadline(value: object, now: float, what: str = "deadline") -> float:
    """Unix seconds: a duration from ``now`` (``"12h"``, a ``timedelta``), a datetime, or an ISO time
    (``"2026-12-07T06:00"``, local time unless it carries an offset)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.astimezone()
        return moment.timestamp()
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{what} {value!r} is not a time such as 2026-12-07T06:00") from None
        deadline = (moment if moment.tzinfo else moment.astimezone()).timestamp()
        if deadline <= now:
            raise ConfigError(f"{what} {value!r} has passed")
        return deadline
    return now + parse_duration(value, what)


def profile_from_csv(paths: str | Iterable[str], run: str | None = None, *,
                     option: str = "run=") -> tuple[list[Segment], str]:
    """The energy profile of one run of a wattprint CSV: its epochs in order, then what the run
    row holds beyond them (set-up, evaluation, the tail), each at its own mean power. Facility
    energy (PUE included), summed over the processes that wrote the run.

    ``run`` is a run id or its first characters; default: the run of the file's last row.

    Raises:
        ConfigError: no such run, or a run without duration and energy.
        ReportError: a file that cannot be read.
    """
    from wattprint.report.load import load_files
    from wattprint.report.runrecords import choose_run, records_of

    files = [paths] if isinstance(paths, str) else list(paths)
    rows = load_files(files)
    chosen = choose_run(rows, run, ", ".join(files), option=option)
    mine = records_of(rows, chosen)
    segments = profile_of(mine)
    if _duration_of(segments) <= 0 or sum(s.kwh for s in segments) <= 0:
        raise ConfigError(f"run {chosen[:8]} in {', '.join(files)} has no duration or energy to plan with")
    first = mine[0].labels
    label = f"run {chosen[:8]} ({first.project_name}{': ' + first.experiment_description if first.experiment_description else ''})"
    return segments, label


def profile_of(records: Sequence[Any]) -> list[Segment]:
    """The energy profile of one run's records (see :func:`profile_from_csv`)."""
    epochs: dict[Any, list] = {}
    for rec in records:
        if rec.labels.window == "epoch":
            epochs.setdefault(rec.labels.index, []).append(rec)
    runs = [rec for rec in records if rec.labels.window == "run"]
    segments: list[Segment] = []
    offset = 0.0
    for _, parts in sorted(epochs.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        duration = max(p.measurement.duration_s for p in parts)
        segments.append(Segment(offset, duration, sum(p.footprint.facility_kwh for p in parts)))
        offset += duration
    if runs:
        run_s = max(r.measurement.duration_s for r in runs)
        run_kwh = sum(r.footprint.facility_kwh for r in runs)
        rest_kwh = run_kwh - sum(s.kwh for s in segments)
        rest_s = run_s - offset
        if rest_s > 0 or rest_kwh > 1e-12:
            segments.append(Segment(offset, max(rest_s, 0.0), max(rest_kwh, 0.0)))
    return _fold_instants(segments)


def _fold_instants(segments: list[Segment]) -> list[Segment]:
    """A segment of no duration (an epoch too short to time) has no power: its energy joins the
    segment before it (or after it, for the first)."""
    out: list[Segment] = []
    pending = 0.0
    for seg in segments:
        if seg.duration_s <= 0:
            if out:
                out[-1] = Segment(out[-1].offset_s, out[-1].duration_s, out[-1].kwh + seg.kwh)
            else:
                pending += seg.kwh
            continue
        out.append(Segment(seg.offset_s, seg.duration_s, seg.kwh + pending))
        pending = 0.0
    return out


def plan(
    *,
    duration: object = None,
    power_w: float | None = None,
    from_csv: str | Iterable[str] | None = None,
    run: str | None = None,
    deadline: object = "24h",
    country: str | None = None,
    region: str | None = None,
    cloud: str | None = None,
    forecast: Any = None,
    pue: float | str = 1.0,
    now: float | datetime | None = None,
    environ: Mapping[str, str] | None = None,
    naming: Naming = PYTHON,
) -> Plan:
    """The greenest start of a job before ``deadline``.

    Args:
        duration: how long the job runs (``"3h"``, seconds); not with ``from_csv``.
        power_w: its mean power draw (W, IT equipment); optional: without it the plan has
            intensities and the saving as a fraction, not kilograms.
        from_csv: a wattprint CSV whose run (``run=``, default the last) gives the profile.
        deadline: when the job must have finished: a duration from now (``"12h"``, default
            ``"24h"``) or a time (``"2026-12-07T06:00"``, a ``datetime``).
        country, region, cloud: the location, as for :class:`wattprint.Tracker`.
        forecast: ``"uk"``, ``"energidataservice"``, ``"electricitymaps"``, ``"watttime"`` or a
            provider object; default: the one that serves the location (see
            :func:`wattprint.core.carbon.forecast.forecaster_for`).
        pue: power usage effectiveness applied to ``power_w`` (number or preset name).
        now: the current time (tests; default the clock).

    Raises:
        ConfigError: bad or conflicting arguments, a deadline shorter than the job.
        CarbonDataError: an unknown location.
    """
    from wattprint.core.carbon.forecast import forecaster_for
    from wattprint.core.carbon.pue import validate_pue

    t_now = time.time() if now is None else now.timestamp() if isinstance(now, datetime) else float(now)
    power_known = True
    if from_csv is not None:
        if duration is not None or power_w is not None:
            raise ConfigError(f"pass either {naming('from_csv')} or {naming('duration')} and "
                              f"{naming('power_w')}, not both")
        profile, _label = profile_from_csv(from_csv, run, option=naming("run"))
    else:
        if duration is None:
            raise ConfigError(f"give the job's {naming('duration')} (and {naming('power_w')}), or {naming('from_csv')}")
        seconds = parse_duration(duration, naming("duration"))
        if power_w is None:
            power_known, watts = False, 1000.0  # any power picks the same start
        else:
            watts = float(power_w)
            if not math.isfinite(watts) or watts <= 0:
                raise ConfigError(f"{naming('power_w')} must be a number of watts > 0, got {power_w!r}")
        facility_w = watts * validate_pue(pue, naming("pue"))
        profile = [Segment(0.0, seconds, facility_w * seconds / J_PER_KWH)]
    end_by = parse_deadline(deadline, t_now, naming("deadline"))
    job_s = _duration_of(profile)
    if end_by - t_now < job_s:
        raise ConfigError(f"{naming('deadline')} is {_span(end_by - t_now)} away but the job takes {_span(job_s)}")
    choice = forecaster_for(forecast, country=country, region=region, cloud=cloud, environ=environ, naming=naming)
    located = choice.located
    reason = choice.reason
    if choice.provider is not None:
        try:
            fc = choice.provider.forecast(end_by - t_now)
            return best_start(fc, profile, t_now, end_by, power_known=power_known)
        except ForecastUnavailable as exc:
            reason = str(exc)
    kwh = sum(s.kwh for s in profile)
    return Plan(now=t_now, start=t_now, duration_s=job_s, deadline=end_by,
                energy_kwh=kwh if power_known else None,
                g_per_kwh_now=located.g_per_kwh, g_per_kwh_start=located.g_per_kwh,
                location_key=located.key, location_name=located.name,
                source=f"{located.source} (annual average)", basis=located.basis, reason=reason)


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    h, rem = divmod(round(seconds), 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} min" if m else f"{h} h"
    if m:
        return f"{m} min {s:02d} s" if s else f"{m} min"
    return f"{s} s"


def _clock(t: float) -> str:
    return _local(t).strftime("%Y-%m-%d %H:%M")
