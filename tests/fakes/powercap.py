"""Powercap sysfs trees built under a temporary directory, laid out as Linux lays them out.

Linux keeps the zones nested under ``/sys/devices/virtual/powercap/<control type>/<zone>/<subzone>``
and publishes a *flat* set of symlinks to every zone in ``/sys/class/powercap``; each zone and
control type also holds a ``subsystem`` symlink back to the class directory (a loop for a naive
walker) and a ``power/`` directory. :class:`PowercapTree` builds both halves under ``base``, so
``tree.class_root`` and ``tree.devices_root`` stand for the two real roots.

Reading a file as root ignores its mode bits, so a mode-000 ``energy_uj`` cannot reproduce the
"root-only since the PLATYPUS fix" failure in a test run as root. :class:`DeniedReader` does it
instead: pass it as ``reader=`` to ``discover_rapl`` and it raises ``PermissionError`` (EACCES)
for the file names it is given, exactly as ``open()`` does for an unprivileged user.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

#: ``max_energy_range_uj`` of an Intel package (energy unit 61 µJ: 2^32 x 61.03515625 µJ).
INTEL_RANGE_UJ = 262_143_328_850
#: ``max_energy_range_uj`` with 15.3 µJ units: AMD packages and Intel server DRAM.
SMALL_RANGE_UJ = 65_532_610_987


@dataclass
class Zone:
    """One powercap zone: its directory name (``intel-rapl:0:1``), ``name`` file and counter."""

    dirname: str
    name: str
    energy_uj: int = 0
    max_energy_range_uj: int = INTEL_RANGE_UJ

    @property
    def control_type(self) -> str:
        return self.dirname.split(":", 1)[0]

    @property
    def parent(self) -> str | None:
        parts = self.dirname.split(":")
        return ":".join(parts[:-1]) if len(parts) > 2 else None


class PowercapTree:
    """A powercap tree under ``base``; zones addressed by directory name."""

    def __init__(self, base: Path, zones: Iterable[Zone]) -> None:
        self.base = Path(base)
        self.class_root = self.base / "class" / "powercap"
        self.devices_root = self.base / "devices" / "virtual" / "powercap"
        self.zones = {zone.dirname: zone for zone in zones}
        self.class_root.mkdir(parents=True, exist_ok=True)
        self.devices_root.mkdir(parents=True, exist_ok=True)
        for control in sorted({zone.control_type for zone in self.zones.values()}):
            # Control types are class devices too: /sys/class/powercap/intel-rapl exists.
            self._make_device_dir(self.devices_root / control)
            (self.class_root / control).symlink_to(
                os.path.relpath(self.devices_root / control, self.class_root)
            )
        for zone in sorted(self.zones.values(), key=lambda z: z.dirname.count(":")):
            self._make_zone(zone)

    def zone_dir(self, dirname: str) -> Path:
        """The real (nested) directory of a zone."""
        zone = self.zones[dirname]
        parts = [zone.control_type]
        if zone.parent is not None:
            parts.append(zone.parent)
        parts.append(dirname)
        return self.devices_root.joinpath(*parts)

    def set_energy(self, dirname: str, energy_uj: int) -> None:
        """Write a raw counter value, as the hardware would (no wrap applied)."""
        self.zones[dirname].energy_uj = energy_uj
        (self.zone_dir(dirname) / "energy_uj").write_text(f"{energy_uj}\n")

    def add_energy(self, dirname: str, delta_uj: int) -> int:
        """Advance a counter by ``delta_uj`` µJ, wrapping at ``max_energy_range_uj``; return the raw value."""
        zone = self.zones[dirname]
        raw = (zone.energy_uj + delta_uj) % zone.max_energy_range_uj
        self.set_energy(dirname, raw)
        return raw

    def remove_energy_file(self, dirname: str) -> None:
        """Delete a zone's ``energy_uj`` (the driver was unloaded mid-run)."""
        (self.zone_dir(dirname) / "energy_uj").unlink()

    def _make_device_dir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "power").mkdir(exist_ok=True)
        (path / "uevent").write_text("")
        (path / "enabled").write_text("1\n")
        link = path / "subsystem"
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(self.class_root, path))

    def _make_zone(self, zone: Zone) -> None:
        path = self.zone_dir(zone.dirname)
        self._make_device_dir(path)
        (path / "name").write_text(f"{zone.name}\n")
        (path / "energy_uj").write_text(f"{zone.energy_uj}\n")
        (path / "max_energy_range_uj").write_text(f"{zone.max_energy_range_uj}\n")
        (path / "constraint_0_name").write_text("long_term\n")
        (path / "constraint_0_power_limit_uw").write_text("125000000\n")
        (self.class_root / zone.dirname).symlink_to(os.path.relpath(path, self.class_root))


def client_laptop(base: Path) -> PowercapTree:
    """Intel client: package with core, uncore and dram children, psys, and an MMIO package copy."""
    return PowercapTree(
        base,
        [
            Zone("intel-rapl:0", "package-0", 1_000_000),
            Zone("intel-rapl:0:0", "core", 600_000),
            Zone("intel-rapl:0:1", "uncore", 100_000),
            Zone("intel-rapl:0:2", "dram", 50_000),
            Zone("intel-rapl:1", "psys", 3_000_000),
            Zone("intel-rapl-mmio:0", "package-0", 1_000_100),
        ],
    )


def two_socket_server(base: Path) -> PowercapTree:
    """Intel 2-socket server: two packages, each with a dram child on the 15.3 µJ range."""
    return PowercapTree(
        base,
        [
            Zone("intel-rapl:0", "package-0", 5_000_000),
            Zone("intel-rapl:0:0", "dram", 1_000_000, SMALL_RANGE_UJ),
            Zone("intel-rapl:1", "package-1", 7_000_000),
            Zone("intel-rapl:1:0", "dram", 2_000_000, SMALL_RANGE_UJ),
        ],
    )


def amd_multi_die(base: Path) -> PowercapTree:
    """AMD Zen with per-die packages and core children; no dram, no psys."""
    return PowercapTree(
        base,
        [
            Zone("intel-rapl:0", "package-0-die-0", 10, SMALL_RANGE_UJ),
            Zone("intel-rapl:0:0", "core", 5, SMALL_RANGE_UJ),
            Zone("intel-rapl:1", "package-0-die-1", 20, SMALL_RANGE_UJ),
            Zone("intel-rapl:1:0", "core", 5, SMALL_RANGE_UJ),
        ],
    )


class DeniedReader:
    """A ``reader`` for ``discover_rapl`` that refuses files by name, like mode 0400 for a non-root user.

    ``denied`` holds file names (``"energy_uj"``) or directory-qualified names
    (``"intel-rapl:0:0/energy_uj"``). Other files are read for real; ``calls`` lists every path asked for.
    """

    def __init__(
        self, denied: Iterable[str] = ("energy_uj",), read: Callable[[str], str] | None = None
    ) -> None:
        self.denied = tuple(denied)
        self.calls: list[str] = []
        self._read = read or (lambda path: Path(path).read_text())

    def __call__(self, path: str) -> str:
        self.calls.append(path)
        if any(path == d or path.endswith(os.sep + d) for d in self.denied):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return self._read(path)
