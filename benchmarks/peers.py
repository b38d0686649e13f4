"""Virtual environments for the side-by-side benchmarks: wattprint, CodeCarbon and ECO2AI.

Run:  python benchmarks/peers.py [--force] [NAME ...]     (default: every environment)

Each tool gets its own environment under ``benchmarks/.venvs/`` (git-ignored through a
``.gitignore`` written there), installed from the package index with pip, so that import
time, memory and install size are measured on the same interpreter with nothing else in it:

=================  ======================================================================
``bare``           pip only: the baseline for install size and memory
``wattprint``      this repository, a regular (non-editable) install
``codecarbon``     ``codecarbon==3.3.2``
``eco2ai``         ``eco2ai==0.3.12`` with ``setuptools<82`` (it imports ``pkg_resources``,
                   gone from setuptools 82) and ``pandas<3`` (under pandas 3 its second CSV
                   write raises ``TypeError: Invalid value 'N/A' for dtype 'float64'``)
``codecarbon-ml``  ``--system-site-packages`` + ``codecarbon==3.3.2``: sees this machine's
                   torch, Lightning and transformers, so CodeCarbon runs in the same
                   interpreter as the training it measures
=================  ======================================================================

No environment pulls torch (none of the peers depends on it; ``codecarbon-ml`` reuses the
interpreter's own). ``python benchmarks/peers.py wheels DIR`` downloads CodeCarbon's wheels
for this interpreter, to install it where there is no package index (the GPU check).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENVS = HERE / ".venvs"

CODECARBON = "codecarbon==3.3.2"
ECO2AI = "eco2ai==0.3.12"


@dataclass(frozen=True)
class Env:
    """One benchmark environment: what is installed and whether it sees the system packages."""

    name: str
    requirements: tuple[str, ...]
    system_site_packages: bool = False
    note: str = ""
    pip_args: tuple[str, ...] = field(default=())


ENVS: dict[str, Env] = {
    e.name: e
    for e in (
        Env("bare", ()),
        Env("wattprint", (str(REPO),), note="this repository, non-editable", pip_args=("--force-reinstall", "--no-deps")),
        Env("codecarbon", (CODECARBON,)),
        Env(
            "eco2ai",
            (ECO2AI, "setuptools<82", "pandas<3"),
            note="setuptools<82 (pkg_resources), pandas<3 (CSV writes)",
        ),
        Env("codecarbon-ml", (CODECARBON,), system_site_packages=True, note="with the system's torch, lightning, transformers"),
    )
}


def path(name: str) -> Path:
    return VENVS / name


def python(name: str) -> Path:
    """The interpreter of environment ``name`` (which may not exist yet)."""
    return path(name) / "bin" / "python"


def _pip(name: str, *args: str) -> None:
    subprocess.run([str(python(name)), "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


def ensure(name: str, *, force: bool = False) -> Path:
    """Create and fill environment ``name`` unless it exists; returns its interpreter."""
    env = ENVS[name]
    VENVS.mkdir(parents=True, exist_ok=True)
    ignore = VENVS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# created by benchmarks/peers.py: nothing in here is part of the repository\n*\n")
    target = path(name)
    if force and target.exists():
        shutil.rmtree(target)
    fresh = not python(name).exists()
    if fresh:
        venv.EnvBuilder(with_pip=True, system_site_packages=env.system_site_packages, clear=True).create(target)
    if name == "wattprint":
        # the repository changes between runs: reinstall it every time
        _pip(name, "install", "psutil>=5.9", "nvidia-ml-py>=12.535")
        _pip(name, "install", *env.pip_args, *env.requirements)
    elif fresh and env.requirements:
        _pip(name, "install", *env.requirements)
    return python(name)


def versions(name: str) -> dict[str, str]:
    """Distribution name -> version, as pip lists them in environment ``name``."""
    args = [str(python(name)), "-m", "pip", "--disable-pip-version-check", "list", "--format", "json"]
    if ENVS[name].system_site_packages:
        args.append("--local")
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def site_packages(name: str) -> Path:
    out = subprocess.run(
        [str(python(name)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def tree_bytes(root: Path) -> int:
    """Bytes of the files under ``root`` (apparent size; links not followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def install_size(name: str, *, baseline: str = "bare") -> dict[str, float]:
    """What environment ``name`` adds to a bare one: MB on disk and number of distributions."""
    added = set(versions(name)) - set(versions(baseline))
    return {
        "mb": (tree_bytes(site_packages(name)) - tree_bytes(site_packages(baseline))) / 1e6,
        "distributions": len(added),
    }


def no_network_prefix() -> list[str]:
    """``unshare -rn`` where it works: peers then cannot reach any host, whatever they try."""
    exe = shutil.which("unshare")
    if exe is None:
        return []
    try:
        subprocess.run([exe, "-rn", "true"], check=True, capture_output=True, timeout=10)
    except (subprocess.SubprocessError, OSError):
        return []
    return [exe, "-rn"]


def download_wheels(dest: Path) -> None:
    """CodeCarbon and its dependencies as wheels for this interpreter (never torch)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "-d", str(dest), CODECARBON], check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"environments to set up (default: all): {', '.join(ENVS)}; or 'wheels DIR'")
    parser.add_argument("--force", action="store_true", help="recreate the environments from scratch")
    args = parser.parse_args()
    if args.names[:1] == ["wheels"]:
        if len(args.names) != 2:
            parser.error("usage: peers.py wheels DIR")
        download_wheels(Path(args.names[1]))
        return
    for name in args.names or list(ENVS):
        if name not in ENVS:
            parser.error(f"unknown environment {name!r}; choose from {', '.join(ENVS)}")
        ensure(name, force=args.force)
        v = versions(name)
        shown = {k: v[k] for k in ("wattprint", "codecarbon", "eco2ai", "pandas", "setuptools", "numpy") if k in v}
        print(f"{name}: {python(name)} {shown}")


if __name__ == "__main__":
    main()
