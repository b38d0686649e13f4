"""The bundled CPU TDP table: name normalisation, matching, and watts per thread.

The table (``data/cpu-tdp.csv``, sources and licences in ``data/README.md``) holds one row per
(vendor, normalised model) with the vendor's TDP in watts per socket and, where known, cores and
threads per socket. It is read on first use and cached; ``import wattprint`` never loads it.

Matching is deliberately strict, because a wrong row is worse than an honest median:

1. **exact**: the match key of the normalised name equals a row's key;
2. **suffix**: the names differ only by one trailing letter or ``+`` on the model number
   (``Xeon Platinum 8480`` vs ``8480+``), accepted only when every candidate row's TDP agrees
   within 10 % (``Xeon Gold 6248`` is 150 W but ``6248R`` is 205 W, so those never meet);
3. otherwise no row: the caller falls back to a vendor median per thread (:func:`median_w_per_thread`).

No fuzzy ratio is used: a bare family string such as ``AMD EPYC`` would "match" every EPYC.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Sequence
from functools import lru_cache

from wattprint.core.datafiles import csv_rows, read_data

EXACT = "exact"
SUFFIX = "suffix"

_DATA_FILE = "cpu-tdp.csv"

#: Model suffix tolerance for a suffix match: max TDP / min TDP among the candidates.
_SUFFIX_TDP_AGREEMENT = 1.10

# Median watts per logical CPU (thread) when no row can be used: TDP / threads over the parts of
# the compilation this table comes from that list thread counts (see data/README.md). x86 server
# overall 3.75 W/thread (IQR 3.0-4.8); Intel Xeon 3.9, AMD EPYC 3.4; Intel Core 3.9, AMD Ryzen 3.5.
# ARM server and Apple cores have no SMT and draw about 3 W per core (Graviton/Altra 2.4-3.9).
_SERVER_MEDIAN_W_PER_THREAD = {"Intel": 3.9, "AMD": 3.4}
_CLIENT_MEDIAN_W_PER_THREAD = {"Intel": 3.9, "AMD": 3.5}
_X86_MEDIAN_W_PER_THREAD = 3.75
_ARM_MEDIAN_W_PER_THREAD = 3.0
_ARM_VENDORS = frozenset({"ARM", "Apple", "AWS", "Ampere", "Qualcomm", "NVIDIA"})

_SERVER_FAMILIES = frozenset({"xeon", "epyc", "opteron", "itanium"})
_CLIENT_FAMILIES = frozenset(
    {"core", "pentium", "celeron", "atom", "ryzen", "athlon", "phenom", "sempron", "turion", "fx"}
)

# Family keyword -> vendor, for strings that do not start with the vendor's name.
_FAMILY_VENDOR = {
    "xeon": "Intel",
    "core": "Intel",
    "pentium": "Intel",
    "celeron": "Intel",
    "atom": "Intel",
    "itanium": "Intel",
    "epyc": "AMD",
    "ryzen": "AMD",
    "athlon": "AMD",
    "opteron": "AMD",
    "threadripper": "AMD",
    "phenom": "AMD",
    "sempron": "AMD",
    "turion": "AMD",
    "graviton": "AWS",
    "altra": "Ampere",
    "snapdragon": "Qualcomm",
}
# Leading vendor words as they appear in brand strings -> canonical vendor.
_VENDOR_WORDS = {
    "intel": "Intel",
    "amd": "AMD",
    "apple": "Apple",
    "qualcomm": "Qualcomm",
    "via": "VIA",
    "ampere": "Ampere",
    "aws": "AWS",
    "amazon": "AWS",
    "nvidia": "NVIDIA",
}

# Patterns as text, each applied only when a cheap substring test says it can match: re
# compiles (and caches) one the first time it is used, so a typical brand string compiles a
# few of them, once, and importing this module compiles none.
_TRADEMARKS = r"\((?:r|tm|c)\)|[®™©]"  # re.IGNORECASE
_PARENS = r"\([^)]*\)"
_ORDINAL_GEN = r"\b\d+(?:st|nd|rd|th)\s+gen(?:eration)?\b"  # re.IGNORECASE
_RADEON = r"\b(?:with\s+|w/\s*)?radeon\b.*$"  # re.IGNORECASE
_GRAPHICS = r"\b(?:with|w/)\s.*\bgraphics\b.*$"  # re.IGNORECASE
_N_CORE = r"\b(?:\d+|dual|triple|quad|six|eight|ten|twelve|sixteen)-cores?\b"  # re.IGNORECASE
_FILLER_WORDS = ("cpu", "processor", "coprocessor", "apu", "soc")
_FILLER = r"\b(?:" + "|".join(_FILLER_WORDS) + r")\b"  # re.IGNORECASE
_CORE2 = r"\bCore2\b"  # re.IGNORECASE
_UPPER_V = r"\bV(\d)\b"
_APPLE_M = r"^M\d+\b"
_SPACED_HYPHEN = r"\s*-\s*"


class CpuRow(namedtuple("CpuRow", ("vendor", "model", "tdp_w", "cores", "threads", "source"))):
    """One row of the TDP table: TDP in watts **per socket**; cores and threads per socket."""

    __slots__ = ()
    vendor: str
    model: str
    tdp_w: float
    cores: int | None
    threads: int | None
    source: str


class TableMatch(namedtuple("TableMatch", ("row", "level"))):
    """A table row and how it was found (``"exact"`` or ``"suffix"``)."""

    __slots__ = ()
    row: CpuRow
    level: str


def normalise(raw: str) -> tuple[str, str]:
    """Split a CPU brand string into ``(vendor, model)`` as the table spells them.

    ``"Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"`` -> ``("Intel", "Xeon Gold 6248")``;
    ``"AMD EPYC 7763 64-Core Processor"`` -> ``("AMD", "EPYC 7763")``. The vendor is ``""``
    when neither a vendor word nor a family keyword says who made it.
    """
    text = raw.replace("\u00a0", " ")
    lower = text.lower()
    if "(" in text or "®" in text or "™" in text or "©" in text:
        text = re.sub(_TRADEMARKS, " ", text, flags=re.IGNORECASE)
    text = text.split("@", 1)[0]
    if "(" in text:
        text = re.sub(_PARENS, " ", text)
    if "gen" in lower:
        text = re.sub(_ORDINAL_GEN, " ", text, flags=re.IGNORECASE)
    if "radeon" in lower:
        text = re.sub(_RADEON, " ", text, flags=re.IGNORECASE)
    if "graphics" in lower:
        text = re.sub(_GRAPHICS, " ", text, flags=re.IGNORECASE)
    if "-core" in lower:
        text = re.sub(_N_CORE, " ", text, flags=re.IGNORECASE)
    if any(word in lower for word in _FILLER_WORDS):
        text = re.sub(_FILLER, " ", text, flags=re.IGNORECASE)
    words = text.split()

    vendor = ""
    kept: list[str] = []
    for word in words:
        canonical = _VENDOR_WORDS.get(word.lower())
        if canonical is not None:
            vendor = vendor or canonical
            continue
        kept.append(word)
    model = " ".join(kept)
    if "core2" in lower:
        model = re.sub(_CORE2, "Core 2", model, flags=re.IGNORECASE)
    if "V" in model:
        model = re.sub(_UPPER_V, lambda m: f"v{m.group(1)}", model)
    if "-" in model:
        model = re.sub(_SPACED_HYPHEN, "-", model)
    # str.split() splits on exactly the characters \s matches, so this is \s+ -> " ".
    model = " ".join(model.split()).strip(" ,-")
    if not vendor and model:
        first = model.split()[0].lower()
        vendor = _FAMILY_VENDOR.get(first, "")
        if not vendor and model.startswith("M") and re.match(_APPLE_M, model):
            vendor = "Apple"
    return vendor, model


def match_key(vendor: str, model: str) -> tuple[str, str]:
    """The key rows are compared on: vendor, and the model lower-cased with ``-``/``_`` as spaces.

    ``("AMD", "FX-6100")`` and ``("AMD", "FX 6100")`` share a key.
    """
    # str methods rather than a regex: this runs for every row when the table is indexed.
    return vendor, " ".join(model.lower().replace("-", " ").replace("_", " ").split())


def _stem(key_model: str) -> str:
    """The key model without one trailing letter or ``+`` after a digit (``8480+`` -> ``8480``)."""
    last = key_model[-1:]
    if len(key_model) > 1 and key_model[-2].isdigit() and (last.isalpha() or last == "+"):
        return key_model[:-1]
    return key_model


_Record = tuple[str, str, str, str, str, str]
_HEADER = ["vendor", "model", "tdp_watts", "cores", "threads", "source"]


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip() else None


def _records(text: str) -> list[_Record]:
    header, *records = csv_rows(text) or [None]
    if header != _HEADER:
        raise ValueError(f"unexpected CPU table header: {header}")
    return [tuple(rec) for rec in records]  # type: ignore[misc]


def _to_row(rec: _Record) -> CpuRow:
    vendor, model, tdp, cores, threads, source = rec
    return CpuRow(vendor, model, float(tdp), _int_or_none(cores), _int_or_none(threads), source)


def parse_table(text: str) -> list[CpuRow]:
    """Parse the CSV text of the TDP table (header ``vendor,model,tdp_watts,cores,threads,source``)."""
    return [_to_row(rec) for rec in _records(text)]


@lru_cache(maxsize=1)
def _bundled_records() -> tuple[_Record, ...]:
    text = read_data(__file__, _DATA_FILE)
    return tuple(_records(text))


@lru_cache(maxsize=1)
def load_table() -> tuple[CpuRow, ...]:
    """Every row of the bundled table, read once per process."""
    return tuple(_to_row(rec) for rec in _bundled_records())


class _Index(namedtuple("_Index", ("rows", "exact", "by_stem"))):
    """Match keys -> positions in ``rows``; rows become :class:`CpuRow` only when matched."""

    __slots__ = ()
    rows: Sequence[CpuRow] | Sequence[_Record]
    exact: dict[tuple[str, str], int]
    by_stem: dict[tuple[str, str], tuple[int, ...]]

    def row(self, i: int) -> CpuRow:
        item = self.rows[i]
        return item if isinstance(item, CpuRow) else _to_row(item)


def _build_index(rows: Sequence[CpuRow] | Sequence[_Record]) -> _Index:
    exact: dict[tuple[str, str], int] = {}
    stems: dict[tuple[str, str], list[int]] = {}
    pairs = ((r.vendor, r.model) if isinstance(r, CpuRow) else (r[0], r[1]) for r in rows)
    for i, (vendor, model) in enumerate(pairs):
        key = match_key(vendor, model)
        exact.setdefault(key, i)
        stems.setdefault((vendor, _stem(key[1])), []).append(i)
    return _Index(rows, exact, {k: tuple(v) for k, v in stems.items()})


@lru_cache(maxsize=1)
def _bundled_index() -> _Index:
    # Indexing the raw records, not CpuRow objects, halves the first match's cost.
    return _build_index(_bundled_records())


def _detail(row: CpuRow) -> tuple[bool, bool, str]:
    """Sort key preferring rows that know threads, then cores, then the shortest name."""
    return (row.threads is None, row.cores is None, row.model)


def match(vendor: str, model: str, rows: Sequence[CpuRow] | None = None) -> TableMatch | None:
    """Find the row for a normalised ``(vendor, model)``; ``None`` when no row is safe to use.

    ``rows`` replaces the bundled table (for tests); the bundled table is read and indexed on
    the first call that needs it, once per process.
    """
    if not vendor or not any(ch.isdigit() for ch in model):
        # Every row names a model number; a bare family ("EPYC") needs no table load.
        return None
    index = _bundled_index() if rows is None else _build_index(rows)
    key = match_key(vendor, model)
    position = index.exact.get(key)
    if position is not None:
        return TableMatch(index.row(position), EXACT)
    candidates = [index.row(i) for i in index.by_stem.get((key[0], _stem(key[1])), ())]
    if not candidates:
        return None
    tdps = [c.tdp_w for c in candidates]
    if min(tdps) <= 0 or max(tdps) / min(tdps) > _SUFFIX_TDP_AGREEMENT:
        return None
    return TableMatch(min(candidates, key=_detail), SUFFIX)


def cpu_class(model: str) -> str:
    """``"server"``, ``"client"`` or ``""`` (unknown) from the family keyword of a normalised model."""
    words = model.lower().split()
    first = words[0] if words else ""
    if first in _SERVER_FAMILIES:
        return "server"
    if first in _CLIENT_FAMILIES or first.startswith(("ryzen", "fx")):
        return "client"
    return ""


def median_w_per_thread(vendor: str, model: str = "") -> tuple[float, str]:
    """Fallback watts per thread for a vendor (and client/server class), with a label saying which.

    An unknown class is treated as server: an unidentifiable CPU is most often a cloud VM.
    """
    if vendor in _ARM_VENDORS:
        return _ARM_MEDIAN_W_PER_THREAD, "ARM median"
    if cpu_class(model) == "client" and vendor in _CLIENT_MEDIAN_W_PER_THREAD:
        return _CLIENT_MEDIAN_W_PER_THREAD[vendor], f"{vendor} client median"
    if vendor in _SERVER_MEDIAN_W_PER_THREAD:
        return _SERVER_MEDIAN_W_PER_THREAD[vendor], f"{vendor} server median"
    return _X86_MEDIAN_W_PER_THREAD, "x86 server median"


def smt_threads_per_core(model: str) -> int:
    """Threads per core assumed for a row that lists cores but not threads.

    Only families where every part has SMT are assumed to have it: Xeon (4-way on Xeon Phi; none
    on Xeon Bronze and the E-core-only Xeon 6 ``...E`` parts), EPYC and Threadripper. Anything
    else is assumed to have no SMT, which errs towards more watts per thread, never fewer.
    """
    key = match_key("", model)[1]
    words = key.split()
    first = words[0] if words else ""
    if first == "xeon":
        if "phi" in words:
            return 4
        if "bronze" in words or re.fullmatch(r"xeon 6\d{3}e", key):
            return 1
        return 2
    if first == "epyc" or "threadripper" in words:
        return 2
    return 1
