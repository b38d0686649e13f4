"""Linux RAPL energy counters read through powercap sysfs (``energy_uj``, microjoules).

Which zones count
    Zones are recognised by their ``name`` file, never by their directory number:
    ``package-N`` and ``package-N-die-M`` are the ``cpu`` domain, ``dram`` zones the ``ram``
    domain (DRAM is *not* part of the package even though its directory sits under it). ``psys``
    (the whole platform, which contains the package), ``core`` and ``uncore`` (parts of the
    package) are never added: they would count the same joules twice. ``intel-rapl-mmio``
    publishes a second copy of a package counter; a package (and a dram zone, by its package) is
    read once, preferring the ``intel-rapl`` copy, which carries the package's children.

Wraparound
    ``energy_uj`` wraps to zero after ``max_energy_range_uj`` (about 262 kJ for Intel packages,
    65.5 kJ for AMD packages and Intel server DRAM: under three minutes at 400 W), so the sensors
    set ``needs_polling`` and the sampler reads them every period; :class:`~.base.Unwrapper`
    adds one range per decrease.

Access
    Since the PLATYPUS fix (Linux 5.10, November 2020) ``energy_uj`` is readable by root only,
    and container runtimes mask ``/sys/devices/virtual/powercap``. Then no RAPL sensor is made
    and a note says how to grant access; the CPU and RAM estimates take over. A container that
    bind-mounts the host's tree elsewhere names it with ``WATTPRINT_POWERCAP_ROOT``.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple
from collections.abc import Callable, Mapping

from wattprint._log import getLogger
from wattprint.core.errors import SensorError
from wattprint.core.measurement import COUNTER, CPU, RAM
from wattprint.core.sensors.base import Discovery, Sensor, Unwrapper
from wattprint.core.units import uj_to_j

log = getLogger(__name__)

DEFAULT_ROOT = "/sys/class/powercap"
ROOT_ENV = "WATTPRINT_POWERCAP_ROOT"

#: Reads a whole sysfs file and returns its text; injectable so tests can refuse access.
Reader = Callable[[str], str]

_ZONE_DIR_RE = re.compile(r"^[A-Za-z0-9_-]+(?::\d+)+$")
_PACKAGE_RE = re.compile(r"^package-\d+(?:-die-\d+)?$")
_DRAM = "dram"
# sysfs device directories link back to their class ("subsystem") and hold runtime-PM state
# ("power"): following them would loop or waste time.
_NOT_CONTROL_TYPES = frozenset({"power", "subsystem", "device", "driver"})
_MAX_DEPTH = 3
_MMIO_CONTROL_TYPE = "intel-rapl-mmio"
_CONTAINER_HINT = (
    "; in a container, which masks powercap, bind-mount the host's /sys/class/powercap and "
    "/sys/devices/virtual/powercap read-only under one directory (e.g. /host/sys/class/powercap "
    f"and /host/sys/devices/virtual/powercap) and set {ROOT_ENV} to the class/powercap one"
)


def read_sysfs(path: str) -> str:
    """The text of a sysfs file (opened afresh each time, so a vanished zone is noticed)."""
    with open(path, encoding="ascii") as handle:
        return handle.read()


class RaplZone(namedtuple("RaplZone", ("path", "dirname", "name"))):
    """A powercap zone as found on disk: its directory, directory name and ``name`` file."""

    __slots__ = ()
    path: str
    dirname: str
    name: str

    @property
    def control_type(self) -> str:
        return self.dirname.split(":", 1)[0]

    @property
    def parent_dirname(self) -> str | None:
        head, _, _ = self.dirname.rpartition(":")
        return head if ":" in head else None


class RaplSensor(Sensor):
    """Cumulative joules of one RAPL zone, unwrapped across counter wraps.

    ``energy_j()`` raises :class:`SensorError` when ``energy_uj`` can no longer be read (the
    zone vanished with its driver, or access was revoked).
    """

    method = COUNTER
    needs_polling = True

    def __init__(
        self,
        zone: RaplZone,
        domain: str,
        *,
        first_raw_uj: int,
        max_range_uj: int | None,
        reader: Reader = read_sysfs,
        label: str | None = None,
    ) -> None:
        super().__init__()
        self.zone = zone
        self.domain = domain
        self.name = f"RAPL {label or zone.name}"
        self.key = f"rapl:{zone.dirname}"
        self.max_range_uj = max_range_uj
        wrap = f"wraps at {max_range_uj} µJ" if max_range_uj else "wrap range unknown"
        self.note = f"RAPL counter {zone.dirname} ({zone.name}); {wrap}, polled to unwrap"
        self._energy_path = os.path.join(zone.path, "energy_uj")
        self._reader = reader
        self._unwrapper = Unwrapper(first_raw_uj, max_range_uj)

    def _read_j(self) -> float:
        try:
            raw = _read_int(self._energy_path, self._reader)
        except (OSError, ValueError) as exc:
            raise SensorError(f"{self.name}: cannot read {self._energy_path} ({exc})") from exc
        return uj_to_j(self._unwrapper.update(raw))


def discover_rapl(
    root: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    reader: Reader = read_sysfs,
) -> Discovery:
    """RAPL sensors for the packages (domain ``cpu``) and DRAM (domain ``ram``) of this machine.

    ``root`` defaults to ``$WATTPRINT_POWERCAP_ROOT``, then ``/sys/class/powercap``; the nested
    ``/sys/devices/virtual/powercap`` layout works too. ``reader`` reads a file's text (tests
    inject one that raises ``PermissionError``). Never raises: what could not be used is
    explained in ``Discovery.notes``. A domain is counted whole or not at all: if one package
    is unreadable, no package sensor is returned, so the estimate covers the CPU instead of a
    counter covering half of it.
    """
    env = os.environ if environ is None else environ
    base = os.fspath(root) if root is not None else env.get(ROOT_ENV) or DEFAULT_ROOT
    if not os.path.isdir(base):
        return Discovery(notes=[f"RAPL: {base} absent (not Linux, or a VM){_CONTAINER_HINT}"])
    zones = _scan(base, reader)
    if not zones:
        return Discovery(
            notes=[f"RAPL: no powercap zone with an energy counter under {base}{_CONTAINER_HINT}"]
        )

    by_dirname = {zone.dirname: zone for zone in zones}
    packages: dict[str, list[RaplZone]] = {}
    drams: dict[str, list[RaplZone]] = {}
    ignored: set[str] = set()
    for zone in zones:
        if _PACKAGE_RE.match(zone.name):
            packages.setdefault(zone.name, []).append(zone)
        elif zone.name == _DRAM:
            parent = by_dirname.get(zone.parent_dirname or "")
            drams.setdefault(parent.name if parent else zone.dirname, []).append(zone)
        else:
            ignored.add(zone.name)

    found = Discovery()
    denied: list[str] = []
    for domain, groups in ((CPU, packages), (RAM, drams)):
        sensors, failures = _open_domain(domain, groups, reader, found.notes)
        if not failures:
            found.sensors.extend(sensors)
            continue
        for path, exc in failures:
            if isinstance(exc, PermissionError):
                denied.append(path)
            else:
                found.notes.append(f"RAPL: cannot read {path} ({exc}); {domain} energy not taken from RAPL")
        for sensor in sensors:  # counted whole or not at all
            sensor.close()

    if denied:
        found.notes.insert(0, _permission_note(denied))
    if found.sensors:
        found.notes.append(_summary_note(found.sensors, packages, drams, ignored))
    elif not denied and not packages and not drams:
        found.notes.append(
            f"RAPL: no package or dram zone under {base} (found: {', '.join(sorted(ignored))})"
        )
    return found


def _open_domain(
    domain: str,
    groups: Mapping[str, list[RaplZone]],
    reader: Reader,
    notes: list[str],
) -> tuple[list[RaplSensor], list[tuple[str, Exception]]]:
    """One sensor per group (the first readable copy of the zone), and the reads that failed."""
    sensors: list[RaplSensor] = []
    failures: list[tuple[str, Exception]] = []
    for group_key, copies in sorted(groups.items()):
        copies = sorted(copies, key=_preference)
        errors: list[tuple[str, Exception]] = []
        for zone in copies:
            path = os.path.join(zone.path, "energy_uj")
            try:
                first_raw = _read_int(path, reader)
            except (OSError, ValueError) as exc:
                errors.append((path, exc))
                continue
            max_range = _read_range(zone, reader, notes)
            label = zone.name if domain == CPU else f"{zone.name} ({group_key})"
            sensors.append(
                RaplSensor(
                    zone, domain, first_raw_uj=first_raw, max_range_uj=max_range, reader=reader, label=label
                )
            )
            break
        else:
            failures.extend(errors)
    return sensors, failures


def _preference(zone: RaplZone) -> tuple[int, str]:
    # The MSR copy comes first: it is the long-standing interface and has the dram/core children.
    return (1 if zone.control_type == _MMIO_CONTROL_TYPE else 0, zone.dirname)


def _read_int(path: str, reader: Reader) -> int:
    return int(reader(path).strip())


def _read_range(zone: RaplZone, reader: Reader, notes: list[str]) -> int | None:
    path = os.path.join(zone.path, "max_energy_range_uj")
    try:
        value = _read_int(path, reader)
    except (OSError, ValueError) as exc:
        value, reason = 0, str(exc)
    else:
        reason = f"value {value}"
    if value > 0:
        return value
    notes.append(
        f"RAPL: {path} unusable ({reason}); a counter wrap in {zone.dirname} will be counted as a reset"
    )
    return None


def _scan(base: str, reader: Reader) -> list[RaplZone]:
    """Every zone under ``base`` that has a ``name`` and an ``energy_uj``, each directory once."""
    zones: list[RaplZone] = []
    seen: set[str] = set()

    def visit(directory: str, depth: int) -> None:
        try:
            # Zones before control types, so zones are named by their flat /sys/class path.
            entries = sorted(os.scandir(directory), key=lambda e: (":" not in e.name, e.name))
        except OSError:
            return
        for entry in entries:
            is_zone = bool(_ZONE_DIR_RE.match(entry.name))
            if not is_zone and (depth > 0 or ":" in entry.name or entry.name in _NOT_CONTROL_TYPES):
                continue
            try:
                if not entry.is_dir():
                    continue
                real = os.path.realpath(entry.path)
            except OSError:
                continue
            if real in seen:  # /sys/class/powercap links to the same zones as the nested tree
                continue
            seen.add(real)
            if is_zone and os.path.exists(os.path.join(entry.path, "energy_uj")):
                try:
                    name = reader(os.path.join(entry.path, "name")).strip()
                except OSError as exc:
                    log.debug("skipping powercap zone %s: %s", entry.path, exc)
                else:
                    zones.append(RaplZone(entry.path, entry.name, name))
            if depth < _MAX_DEPTH:
                visit(entry.path, depth + 1)

    visit(base, 0)
    return zones


def _permission_note(paths: list[str]) -> str:
    shown = ", ".join(sorted(paths)[:2]) + (f" and {len(paths) - 2} more" if len(paths) > 2 else "")
    return (
        f"RAPL: permission denied reading {shown}: energy_uj is readable by root only since the "
        "PLATYPUS fix (Linux 5.10), so CPU/RAM energy is estimated instead. To measure it, run as "
        "root, or have an administrator grant read access to a trusted group with a udev rule such as "
        '`ACTION=="add", SUBSYSTEM=="powercap", RUN+="/bin/chgrp powercap /sys%p/energy_uj", '
        'RUN+="/bin/chmod g+r /sys%p/energy_uj"` (lasting), or `sudo chmod a+r '
        "/sys/class/powercap/*/energy_uj` (until reboot). Either re-opens the PLATYPUS power side "
        "channel to those users: avoid it on machines shared with untrusted users."
    )


def _summary_note(
    sensors: list[Sensor],
    packages: Mapping[str, list[RaplZone]],
    drams: Mapping[str, list[RaplZone]],
    ignored: set[str],
) -> str:
    parts = [f"RAPL: counting {', '.join(s.name.removeprefix('RAPL ') for s in sensors)}"]
    copies = sum(len(group) - 1 for group in (*packages.values(), *drams.values()))
    if copies:
        parts.append(f"ignoring {copies} duplicate copy(ies) of these zones (intel-rapl-mmio)")
    if ignored:
        parts.append(f"not adding {', '.join(sorted(ignored))} (they overlap the package)")
    return "; ".join(parts)
