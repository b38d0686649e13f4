"""The bundled carbon-intensity tables and :func:`lookup`.

The CSV files in ``data/`` (see ``data/README.md`` for sources and licences) are parsed with the
stdlib ``csv`` module on the first lookup and cached, so importing wattprint reads nothing.

Keys:
    country: ISO 3166 alpha-2 (``"FR"``), alpha-3 (``"FRA"``) or English name (``"France"``),
        case-, accent- and punctuation-insensitive; canonical key is alpha-2.
    region: ISO 3166-2 codes of US states and DC (``"US-CA"``) and Indian states (``"IN-MH"``),
        and Electricity Maps zone keys (``"CA-QC"``, ``"AU-NSW"``, ``"SE-SE3"``, ``"IT-NO"``).
    cloud: ``provider:region`` with provider ``aws``, ``gcp`` or ``azure`` (``"aws:us-east-1"``,
        ``"gcp:europe-west1"``, ``"azure:westeurope"``); a bare region name is accepted when only
        one provider uses it.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, replace

from wattprint.core.carbon.intensity import WORLD_AVERAGE, Intensity
from wattprint.core.datafiles import read_data
from wattprint.core.errors import CarbonDataError
from wattprint.core.naming import PYTHON, Naming

__all__ = ["KINDS", "Row", "Source", "lookup", "normalise", "row_for", "rows", "sources", "suggest"]

KINDS = ("country", "region", "cloud")
_CLOUD_PROVIDERS = ("aws", "gcp", "azure")
_WORLD_KEYS = ("world", "global")


@dataclass(frozen=True)
class Source:
    """One dataset the tables draw from (a row of ``data/sources.csv``)."""

    id: str
    name: str
    basis: str
    licence: str
    url: str


@dataclass(frozen=True)
class Row:
    """One bundled figure. ``zone`` is the Electricity Maps zone the figure is for, if any."""

    kind: str
    key: str
    name: str
    country_iso3: str
    g_per_kwh: float
    year: int
    source: Source
    zone: str = ""
    iso2: str = ""
    aliases: tuple[str, ...] = ()

    def intensity(self, located_by: str = "argument") -> Intensity:
        source = self.source.name
        if self.kind == "cloud" and self.zone:
            source = f"{source}, zone {self.zone}"
        return Intensity(
            g_per_kwh=self.g_per_kwh,
            key=self.key,
            name=self.name,
            source=source,
            year=self.year,
            basis=self.source.basis,
            licence=self.source.licence,
            located_by=located_by,
        )


class _Tables:
    """The parsed tables. A plain class: a dataclass here costs import time for nothing."""

    def __init__(self, sources: dict[str, Source], by_kind: dict[str, tuple[Row, ...]],
                 index: dict[str, dict[str, Row]], by_key: dict[str, Row]) -> None:
        self.sources = sources
        self.by_kind = by_kind
        self.index = index  # kind -> normalised spelling -> row
        self.by_key = by_key  # canonical key -> row (keys are unique across kinds)


_lock = threading.Lock()
_tables: _Tables | None = None


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Fold case, accents, spaces and punctuation: ``"Côte d'Ivoire"`` -> ``"cotedivoire"``."""
    if not text.isascii():  # most keys are ASCII: skip the slow Unicode decomposition for them
        import unicodedata  # deferred: a few milliseconds of import that ASCII keys never need

        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_ALNUM.sub("", text.casefold())


def read_csv(name: str) -> list[dict[str, str]]:
    import csv  # deferred: import wattprint stays light

    text = read_data(__file__, name)
    # Leading '#' lines carry attribution (the ODbL file); csv has no comment syntax.
    body = "".join(line for line in io.StringIO(text) if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


def _load() -> _Tables:
    try:
        srcs = {
            r["id"]: Source(r["id"], r["name"], r["basis"], r["licence"], r["url"])
            for r in read_csv("sources.csv")
        }
        countries = read_csv("countries.csv")
        iso2_of = {r["iso3"]: r["iso2"] for r in countries}

        def row(kind: str, r: dict[str, str], key: str, iso3: str, **extra: object) -> Row:
            return Row(kind, key, r["name"], iso3, float(r["g_per_kwh"]), int(r["year"]),
                       srcs[r["source_id"]], iso2=iso2_of.get(iso3, ""), **extra)  # type: ignore[arg-type]

        out: dict[str, list[Row]] = {k: [] for k in KINDS}
        for r in countries:
            aliases = tuple(a for a in r["aliases"].split("|") if a)
            out["country"].append(row("country", r, r["iso2"], r["iso3"], aliases=aliases))
        for r in read_csv("regions.csv"):
            out["region"].append(row("region", r, r["key"], r["country_iso3"]))
        for r in read_csv("cloud.csv"):
            out["cloud"].append(row("cloud", r, r["key"], r["country_iso3"]))
        for r in read_csv("electricitymaps.csv"):
            out[r["kind"]].append(row(r["kind"], r, r["key"], r["country_iso3"], zone=r["zone"]))
    except (OSError, KeyError, ValueError) as exc:  # a broken install, not a user mistake
        raise CarbonDataError(
            f"the bundled carbon-intensity tables could not be read ({exc!r}); reinstall wattprint "
            "or pass carbon_intensity= (gCO2e/kWh)"
        ) from exc

    index: dict[str, dict[str, Row]] = {k: {} for k in KINDS}
    for row in out["country"]:
        for spelling in (row.key, row.country_iso3, row.name, *row.aliases):
            index["country"].setdefault(normalise(spelling), row)
    for row in out["region"]:
        index["region"][row.key.casefold()] = row
    bare: dict[str, list[Row]] = {}
    for row in out["cloud"]:
        index["cloud"][row.key.casefold()] = row
        bare.setdefault(row.key.split(":", 1)[1].casefold(), []).append(row)
    for name, matches in bare.items():
        if len(matches) == 1:
            index["cloud"].setdefault(name, matches[0])
    by_kind = {k: tuple(sorted(v, key=lambda r: r.key)) for k, v in out.items()}
    by_key = {r.key: r for k in KINDS for r in by_kind[k]}
    return _Tables(srcs, by_kind, index, by_key)


def _get() -> _Tables:
    global _tables
    if _tables is None:
        with _lock:
            if _tables is None:
                _tables = _load()
    return _tables


def rows(kind: str | None = None) -> tuple[Row, ...]:
    """Every bundled row of one kind (``"country"``, ``"region"``, ``"cloud"``) or of all kinds."""
    tables = _get()
    if kind is None:
        return tuple(r for k in KINDS for r in tables.by_kind[k])
    _check_kind(kind)
    return tables.by_kind[kind]


def row_for(key: str) -> Row | None:
    """The row behind a canonical key (``Intensity.key``), or ``None`` (``"world"``, ``"custom"``)."""
    return _get().by_key.get(key)


def sources() -> dict[str, Source]:
    """The datasets behind the tables, by id."""
    return dict(_get().sources)


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise CarbonDataError(f"kind must be one of {', '.join(KINDS)} or None, got {kind!r}")


def _find(key: str, kind: str) -> Row | None:
    index = _get().index[kind]
    if kind == "country":
        return index.get(normalise(key))
    spelling = key.strip().casefold()
    if kind == "cloud":
        spelling = re.sub(r"\s*[:/]\s*", ":", spelling, count=1)
    return index.get(spelling)


def suggest(key: str, kind: str | None = None, n: int = 5) -> list[str]:
    """Up to ``n`` close matches for a mistyped key, as ``"KEY (Name)"`` strings, best first."""
    import difflib

    _check_kind(kind)
    spelling = normalise(key)
    candidates: dict[str, Row] = {}
    for k in (KINDS if kind is None else (kind,)):
        for row in _get().by_kind[k]:
            for text in (row.key, row.name, *row.aliases):
                candidates.setdefault(normalise(text), row)
            if k == "cloud":
                candidates.setdefault(normalise(row.key.split(":", 1)[1]), row)
    found: list[str] = []
    for match in difflib.get_close_matches(spelling, list(candidates), n=n * 3, cutoff=0.6):
        row = candidates[match]
        label = f"{row.key} ({row.name})" if row.kind != "cloud" else row.key
        if label not in found:
            found.append(label)
    return found[:n]


def lookup(key: str, kind: str | None = None, naming: Naming = PYTHON) -> Intensity:
    """The bundled intensity for a location key.

    Args:
        key: a country, region or cloud key (see the module docstring); ``"world"`` gives
            :data:`WORLD_AVERAGE`.
        kind: ``"country"``, ``"region"``, ``"cloud"``, or ``None`` to try them in that order.
        naming: how the caller spells options, for the advice in the error message.

    Returns:
        An :class:`Intensity` with ``located_by="argument"``.

    Raises:
        CarbonDataError: the key is unknown; the message names the closest matches.
    """
    _check_kind(kind)
    if not isinstance(key, str) or not key.strip():
        raise CarbonDataError(f"a location key must be a non-empty string, got {key!r}")
    if kind in (None, "country") and normalise(key) in _WORLD_KEYS:
        return replace(WORLD_AVERAGE, located_by="argument")
    for k in (KINDS if kind is None else (kind,)):
        row = _find(key, k)
        if row is not None:
            return row.intensity()
    raise CarbonDataError(_unknown_message(key, kind, naming))


def _unknown_message(key: str, kind: str | None, naming: Naming) -> str:
    what = f"{kind} key" if kind else "location key"
    message = f"unknown {what} {key!r}"
    if kind is not None:
        for other in KINDS:
            if other != kind and _find(key, other) is not None:
                return f"{message}: {key!r} is a {other} key; pass it as {naming.example(other, key)}"
    close = suggest(key, kind)
    if close:
        message += "; closest matches: " + ", ".join(close)
    hint = f" --list {kind}" if kind else " --list"
    return message + f". See `wattprint intensity{hint}` for every key, or pass {naming('carbon_intensity')} (gCO2e/kWh)"
