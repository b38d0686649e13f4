"""GPU board power (W) by model name, and the utilisation model used when a GPU reports no power.

The table (``data/gpu-tdp.csv``) holds each model's headline maximum board power (TDP/TBP/TGP)
in watts; it is loaded on first use. Names from NVML (``"NVIDIA A100-SXM4-40GB"``,
``"NVIDIA H100 80GB HBM3"``, ``"Tesla V100-PCIE-16GB"``) and from amdsmi
(``"AMD Instinct MI250X / MI250"``) are matched on normalised tokens:

* the *model* tokens (``a100``, ``geforce rtx 3090 ti``) must be equal, so a ``3090 Ti`` never
  takes the ``3090`` row and an unknown ``A10G`` never takes the ``A10`` row;
* the *form* tokens then choose among variants: bus (``sxm``, ``pcie``, ``nvl``) and memory size
  (``80gb``). NVML names the PCIe and NVL boards explicitly and the SXM boards often not
  (``"NVIDIA H100 80GB HBM3"`` is the SXM part), so a name without a bus token counts as SXM;
* a tie between rows whose powers differ by more than 10 % is no match rather than a guess.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from wattprint.core.datafiles import csv_rows, read_data

#: Green Algorithms' figure for an unknown GPU ("Any"), in watts.
GENERIC_GPU_TDP_W = 200.0
#: Power of an idle GPU as a fraction of its board power: data-centre GPUs idle at roughly
#: 15-25 % of TDP, so the model never charges less than this while the GPU is visible.
IDLE_FRACTION = 0.2

_STOPWORDS = frozenset(
    {
        "nvidia",
        "tesla",
        "amd",
        "ati",
        "intel",
        "gpu",
        "graphics",
        "data",
        "center",
        "superchip",
        "grace",
        "hopper",
        "hbm2",
        "hbm2e",
        "hbm3",
        "hbm3e",
        "accelerator",
        "oam",
        "hgx",
        "instinct",
    }
)
_BUS_ALIASES = {"pcie": "pcie", "pci": "pcie", "nvl": "nvl", "sxm": "sxm"}
_SXM_RE = re.compile(r"^sxm\d?$")
_MEMORY_RE = re.compile(r"^\d+gb$")
_TIE_TOLERANCE = 0.10


@dataclass(frozen=True)
class _Tokens:
    model: frozenset[str]
    bus: frozenset[str]
    memory: frozenset[str]


@dataclass(frozen=True)
class _Row:
    vendor: str
    model: str
    tdp_w: float
    tokens: _Tokens


def normalise_gpu_name(name: str) -> str:
    """Lower-case model tokens of a GPU name, vendor words and punctuation removed.

    ``"NVIDIA A100-SXM4-40GB"`` -> ``"a100 sxm4 40gb"``.
    """
    text = name.replace("\u00a0", " ")
    text = re.sub(r"\((?:r|tm)\)|[®™©]", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\([^)]*\)", " ", text)  # parentheticals are remarks: "B200 (HGX)"
    text = re.sub(r"[-_/,]+", " ", text.lower())
    text = re.sub(r"\b(\d+)\s+gb\b", r"\1gb", text)  # "40 GB" and "40GB" meet
    return " ".join(t for t in text.split() if t not in _STOPWORDS)


def _tokens(name: str) -> _Tokens:
    model: set[str] = set()
    bus: set[str] = set()
    memory: set[str] = set()
    for token in normalise_gpu_name(name).split():
        if _SXM_RE.match(token):
            bus.add("sxm")
        elif token in _BUS_ALIASES:
            bus.add(_BUS_ALIASES[token])
        elif _MEMORY_RE.match(token):
            memory.add(token)
        else:
            model.add(token)
    return _Tokens(frozenset(model), frozenset(bus), frozenset(memory))


@functools.lru_cache(maxsize=1)
def _rows() -> tuple[_Row, ...]:
    header, *records = csv_rows(read_data(__file__, "gpu-tdp.csv"))
    return tuple(
        _Row(r["vendor"], r["model"], float(r["tdp_watts"]), _tokens(r["model"]))
        for r in (dict(zip(header, rec)) for rec in records)
    )


def _score(row: _Tokens, query: _Tokens) -> int | None:
    """How well a row's form tokens fit the query's; ``None`` when they contradict it."""
    query_bus = query.bus or frozenset({"sxm"})
    if row.bus and not row.bus & query_bus:
        return None
    if row.memory and query.memory and not row.memory & query.memory:
        return None
    return len(row.bus & query_bus) + len(row.memory & query.memory)


@functools.lru_cache(maxsize=64)
def gpu_tdp_w(name: str) -> float | None:
    """Board power in watts of the GPU model called ``name``, or ``None`` when not in the table.

    ``name`` is what the driver reports (``nvmlDeviceGetName``, amdsmi ``market_name``). A name
    listing several models (``"AMD Instinct MI250X / MI250"``) is looked up whole, then by its
    first matching part.
    """
    for candidate in (name, *name.split("/")) if "/" in name else (name,):
        found = _lookup(_tokens(candidate))
        if found is not None:
            return found
    return None


def _lookup(query: _Tokens) -> float | None:
    if not query.model:
        return None
    scored = [
        (score, row)
        for row in _rows()
        if row.tokens.model == query.model and (score := _score(row.tokens, query)) is not None
    ]
    if not scored:
        return None
    best = max(score for score, _ in scored)
    powers = [row.tdp_w for score, row in scored if score == best]
    if max(powers) > min(powers) * (1 + _TIE_TOLERANCE):
        return None
    return max(powers)


def estimated_gpu_power_w(max_power_w: float, utilisation_pct: float | None) -> float:
    """Modelled board power (W) at a utilisation (percent of time a kernel ran, 0-100).

    Linear from ``IDLE_FRACTION x max_power_w`` at 0 % to ``max_power_w`` at 100 %. An
    unknown utilisation (``None``) counts as full load: an upper bound, never an
    under-estimate.
    """
    if utilisation_pct is None:
        return max_power_w
    load = min(max(utilisation_pct, 0.0), 100.0) / 100.0
    return max_power_w * (IDLE_FRACTION + (1.0 - IDLE_FRACTION) * load)
