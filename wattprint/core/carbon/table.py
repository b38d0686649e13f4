"""The bundled carbon-intensity tables and :func:`lookup`.

The CSV files in ``data/`` (see ``data/README.md`` for sources and licences) are parsed on the
first lookup (:func:`~wattprint.core.datafiles.csv_rows`) and cached, so importing wattprint
reads nothing.

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

import re
import threading
from collections import namedtuple
from collections.abc import Iterable
from dataclasses import replace

from wattprint.core.carbon.intensity import WORLD_AVERAGE, Intensity
from wattprint.core.datafiles import csv_rows, read_data
from wattprint.core.errors import CarbonDataError
from wattprint.core.naming import PYTHON, Naming

__all__ = ["KINDS", "Row", "Source", "lookup", "normalise", "row_for", "rows", "sources", "suggest"]

KINDS = ("country", "region", "cloud")
_CLOUD_PROVIDERS = ("aws", "gcp", "azure")
_WORLD_KEYS = ("world", "global")


# Named tuples, not dataclasses: hundreds of rows are built on the first lookup, and a named
# tuple is cheaper to define at import and to build per row; both are immutable. From
# collections, not typing.NamedTuple: a tracker's start does not import typing.
class Source(namedtuple("Source", ("id", "name", "basis", "licence", "url"))):
    """One dataset the tables draw from (a row of ``data/sources.csv``)."""

    __slots__ = ()

    id: str
    name: str
    basis: str
    licence: str
    url: str


_ROW_FIELDS = ("kind", "key", "name", "country_iso3", "g_per_kwh", "year", "source", "zone", "iso2", "aliases")


class Row(namedtuple("Row", _ROW_FIELDS, defaults=("", "", ()))):
    """One bundled figure. ``zone`` is the Electricity Maps zone the figure is for, if any."""

    __slots__ = ()
    kind: str
    key: str
    name: str
    country_iso3: str
    g_per_kwh: float
    year: int
    source: Source
    zone: str
    iso2: str
    aliases: tuple[str, ...]

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
    """The parsed tables, one kind at a time: a country lookup parses no region or cloud file.

    A plain class: a dataclass here costs import time for nothing.
    """

    # The files each kind needs; Electricity Maps' file holds region and cloud rows alike.
    FILES = {"country": ("countries.csv",), "region": ("regions.csv", "electricitymaps.csv"),
             "cloud": ("cloud.csv", "electricitymaps.csv")}

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self.by_kind: dict[str, tuple[Row, ...]] = {}  # the kinds parsed so far
        self.index: dict[str, dict[str, Row]] = {}  # kind -> normalised spelling -> row, on first use
        self.codes: dict[str, Row] = {}  # normalised ISO 3166 alpha-2 and alpha-3 code -> country row
        self.by_key: dict[str, Row] = {}  # canonical key -> row (keys are unique across kinds)
        self._rows: dict[str, list[Row]] = {k: [] for k in KINDS}
        self._files: set[str] = set()
        self._iso2_of: dict[str, str] = {}

    def load(self, kind: str) -> None:
        """Parse what ``kind`` needs (and the countries every kind refers to), then index it."""
        if not self.sources:
            self.sources = _read_sources()
        for name in ("countries.csv", *self.FILES[kind]):
            if name not in self._files:
                self._parse(name)
                self._files.add(name)
        if kind == "country":
            for row in self._rows[kind]:
                for code in (row.key, row.country_iso3):
                    self.codes.setdefault(normalise(code), row)
        self.by_key.update((r.key, r) for r in self._rows[kind])
        self.by_kind[kind] = tuple(sorted(self._rows[kind], key=lambda r: r.key))  # last: it marks the kind ready

    def spellings(self, kind: str) -> dict[str, Row]:
        """Every accepted spelling of ``kind``'s keys, normalised, to its row; indexed on first use."""
        index = self.index.get(kind)
        if index is None:  # two threads may both build it: the same dict, and either one is kept
            index = self.index[kind] = _index(kind, self._rows[kind])
        return index

    def _parse(self, name: str) -> None:
        records = read_csv(name)
        if name == "countries.csv":
            self._iso2_of = {r["iso3"]: r["iso2"] for r in records}
            endonyms = {r["iso2"]: r["names"].split("|") for r in read_csv("endonyms.csv")}
            for r in records:
                self._add("country", r, r["iso2"], r["iso3"], aliases=_aliases(r, endonyms.get(r["iso2"], ())))
            return
        for r in records:
            kind = r.get("kind") or ("region" if name == "regions.csv" else "cloud")
            self._add(kind, r, r["key"], r["country_iso3"], **({"zone": r["zone"]} if "zone" in r else {}))

    def _add(self, kind: str, r: dict[str, str], key: str, iso3: str, **extra: object) -> None:
        self._rows[kind].append(Row(kind, key, r["name"], iso3, float(r["g_per_kwh"]), int(r["year"]),
                                    self.sources[r["source_id"]], iso2=self._iso2_of.get(iso3, ""),
                                    **extra))  # type: ignore[arg-type]


def _read_sources() -> dict[str, Source]:
    return {r["id"]: Source(r["id"], r["name"], r["basis"], r["licence"], r["url"]) for r in read_csv("sources.csv")}


def _aliases(r: dict[str, str], endonyms: Iterable[str]) -> tuple[str, ...]:
    """A country's other names: the table's aliases, then names in its own languages ("Deutschland")."""
    return tuple(a for a in (*r["aliases"].split("|"), *endonyms) if a)


def _code_row(code: str) -> Row | None:
    """The country whose ISO 3166 alpha-2 or alpha-3 code is ``code`` (normalised), or None.

    Read from its own line of the table, with its line of endonyms: ``country="FR"``, the usual
    key, builds one row instead of every country's (0.2 MB of a tracker's start). The row equals
    the one the full table holds (a test compares every code).
    """
    if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
        return None
    if code not in _code_rows:  # two threads may both read it: equal rows, either one kept
        _code_rows[code] = _read_code_row(code)
    return _code_rows[code]


_code_rows: dict[str, Row | None] = {}


def _read_code_row(code: str) -> Row | None:
    lines = (line for line in read_data(__file__, "countries.csv").split("\n") if line and not line.startswith("#"))
    header = next(lines, "").split(",")
    if header[:2] != ["iso2", "iso3"]:
        return None  # the full table's reader says what is wrong
    for line in lines:
        iso2, _, rest = line.partition(",")
        if code in (iso2.casefold(), rest.partition(",")[0].casefold()):
            cells = csv_rows(line)[0]
            if len(cells) != len(header):
                return None
            r = dict(zip(header, cells))
            prefix = f"{r['iso2']},"
            own = next((x for x in read_data(__file__, "endonyms.csv").split("\n") if x.startswith(prefix)), "")
            endonyms = csv_rows(own)[0][1].split("|") if own else ()
            return Row("country", r["iso2"], r["name"], r["iso3"], float(r["g_per_kwh"]), int(r["year"]),
                       _read_sources()[r["source_id"]], iso2=r["iso2"], aliases=_aliases(r, endonyms))
    return None


def _index(kind: str, rows: list[Row]) -> dict[str, Row]:
    """Every accepted spelling of a key of ``kind``, normalised, to its row."""
    index: dict[str, Row] = {}
    if kind == "country":
        for row in rows:
            for spelling in (row.key, row.country_iso3, row.name, *row.aliases):
                index.setdefault(normalise(spelling), row)
        return index
    bare: dict[str, list[Row]] = {}
    for row in rows:
        index[row.key.casefold()] = row
        if kind == "cloud":
            bare.setdefault(row.key.split(":", 1)[1].casefold(), []).append(row)
    for name, matches in bare.items():
        if len(matches) == 1:  # a bare region name only where one provider uses it
            index.setdefault(name, matches[0])
    return index


_lock = threading.Lock()
_tables: _Tables | None = None


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")  # any script's letters stay: "Россия", "日本"


def normalise(text: str) -> str:
    """Fold case, accents, spaces and punctuation: ``"Côte d'Ivoire"`` -> ``"cotedivoire"``."""
    if not text.isascii():  # most keys are ASCII: skip the slow Unicode decomposition for them
        import unicodedata  # deferred: a few milliseconds of import that ASCII keys never need

        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
        return _NOT_LETTER_OR_DIGIT.sub("", text.casefold())
    return _NOT_ALNUM.sub("", text.casefold())


def read_csv(name: str) -> list[dict[str, str]]:
    """The rows of a bundled table as dicts by column; ValueError for a row of another width."""
    text = read_data(__file__, name)
    # Leading '#' lines carry attribution (the ODbL file); CSV has no comment syntax.
    header, *body = csv_rows("\n".join(line for line in text.split("\n") if not line.startswith("#")))
    for row in body:
        if len(row) != len(header):
            raise ValueError(f"{name}: a row of {len(row)} cells under {len(header)} columns: {row[:3]}")
    return [dict(zip(header, row)) for row in body]


def _get(*kinds: str) -> _Tables:
    """The tables with ``kinds`` parsed (every kind when none is named), parsing on first use."""
    global _tables
    wanted = kinds or KINDS
    tables = _tables
    if tables is not None and all(k in tables.by_kind for k in wanted):
        return tables
    with _lock:
        if _tables is None:
            _tables = _Tables()
        try:
            for kind in wanted:
                if kind not in _tables.by_kind:
                    _tables.load(kind)
        except (OSError, KeyError, ValueError) as exc:  # a broken install, not a user mistake
            raise CarbonDataError(
                f"the bundled carbon-intensity tables could not be read ({exc!r}); reinstall wattprint "
                "or pass carbon_intensity= (gCO2e/kWh)"
            ) from exc
        return _tables


def rows(kind: str | None = None) -> tuple[Row, ...]:
    """Every bundled row of one kind (``"country"``, ``"region"``, ``"cloud"``) or of all kinds."""
    if kind is None:
        tables = _get()
        return tuple(r for k in KINDS for r in tables.by_kind[k])
    _check_kind(kind)
    return _get(kind).by_kind[kind]


def row_for(key: str) -> Row | None:
    """The row behind a canonical key (``Intensity.key``), or ``None`` (``"world"``, ``"custom"``)."""
    return _get().by_key.get(key)


def sources() -> dict[str, Source]:
    """The datasets behind the tables, by id."""
    return dict(_get("country").sources)


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise CarbonDataError(f"kind must be one of {', '.join(KINDS)} or None, got {kind!r}")


def _find(key: str, kind: str) -> Row | None:
    if kind == "country":
        spelling = normalise(key)
        # A country code, the usual key, is found without parsing every country while the table
        # is not loaded, and without normalising every name and alias of every country (which
        # imports unicodedata for the names in other scripts) when it is.
        tables = _tables
        if tables is None or kind not in tables.by_kind:
            row = _code_row(spelling)
            if row is not None:
                return row
        tables = _get(kind)
        return tables.codes.get(spelling) or tables.spellings(kind).get(spelling)
    tables = _get(kind)
    index = tables.spellings(kind)
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
    fixed = f"pass {naming('carbon_intensity')} (gCO2e/kWh)"
    if naming.style == "cli":  # `wattprint intensity` itself has no such option
        fixed += " to `wattprint run`"
    return message + f". See `wattprint intensity{hint}` for every key, or {fixed}"
