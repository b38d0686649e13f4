"""CPU model normalisation, table matching and the fallback medians."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wattprint.core.sensors import cpu_table
from wattprint.core.sensors.cpu_table import (
    EXACT,
    SUFFIX,
    CpuRow,
    load_table,
    match,
    match_key,
    median_w_per_thread,
    normalise,
    parse_table,
    smt_threads_per_core,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The examples of the hardware notes.
        ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", ("Intel", "Xeon Gold 6248")),
        ("AMD EPYC 7763 64-Core Processor", ("AMD", "EPYC 7763")),
        ("13th Gen Intel(R) Core(TM) i9-13900K", ("Intel", "Core i9-13900K")),
        ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", ("Intel", "Xeon E5-2686 v4")),
        # Graphics, core-count words, trademarks glued to hyphens, Core2, upper-case V.
        ("AMD Ryzen 7 5800H with Radeon Graphics", ("AMD", "Ryzen 7 5800H")),
        ("AMD Ryzen 9 7950X 16-Core Processor", ("AMD", "Ryzen 9 7950X")),
        ("AMD FX(tm)-8350 Eight-Core Processor", ("AMD", "FX-8350")),
        ("AMD A10-7850K Radeon R7, 12 Compute Cores 4C+8G", ("AMD", "A10-7850K")),
        ("Intel(R) Core(TM)2 Duo CPU     T7700  @ 2.40GHz", ("Intel", "Core 2 Duo T7700")),
        ("Intel(R) Xeon(R) CPU E5-2673 V4 @ 2.30GHz", ("Intel", "Xeon E5-2673 v4")),
        ("AMD Ryzen Threadripper 3990X 64-Core Processor", ("AMD", "Ryzen Threadripper 3990X")),
        ("Intel(R)\u00a0Xeon(R) Platinum 8480+", ("Intel", "Xeon Platinum 8480+")),
        ("Apple M2 Pro", ("Apple", "M2 Pro")),
        # Masked cloud models keep no number; the vendor still comes through.
        ("AMD EPYC", ("AMD", "EPYC")),
        ("AMD EPYC-Rome Processor", ("AMD", "EPYC-Rome")),
        ("Intel Xeon Processor (Cascadelake)", ("Intel", "Xeon")),
        ("Intel(R) Xeon(R) CPU @ 2.20GHz", ("Intel", "Xeon")),
        ("Common KVM processor", ("", "Common KVM")),
        # Family keyword without the vendor word.
        ("EPYC 7R13", ("AMD", "EPYC 7R13")),
    ],
)
def test_normalise(raw: str, expected: tuple[str, str]) -> None:
    assert normalise(raw) == expected


def test_match_key_treats_hyphens_and_spaces_alike() -> None:
    assert match_key("AMD", "FX-6100") == match_key("AMD", "FX 6100") == ("AMD", "fx 6100")
    assert match_key("Intel", "Core  i7_8700K") == ("Intel", "core i7 8700k")


def test_exact_match_in_bundled_table() -> None:
    found = match(*normalise("AMD EPYC 7763 64-Core Processor"))
    assert found is not None and found.level == EXACT
    assert (found.row.tdp_w, found.row.cores, found.row.threads) == (280.0, 64, 128)

    found = match(*normalise("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"))
    assert found is not None and found.level == EXACT
    assert (found.row.model, found.row.tdp_w, found.row.cores) == ("Xeon Gold 6248", 150.0, 20)


def test_suffix_match_when_candidates_agree() -> None:
    # The table lists "Xeon Platinum 8480+" only; the bare number finds it.
    found = match("Intel", "Xeon Platinum 8480")
    assert found is not None and found.level == SUFFIX
    assert found.row.model == "Xeon Platinum 8480+"
    assert found.row.tdp_w == 350.0


def _row(
    model: str, tdp: float, cores: int | None = None, threads: int | None = None, vendor: str = "Intel"
) -> CpuRow:
    return CpuRow(vendor, model, tdp, cores, threads, "test")


def test_suffix_match_refused_when_tdps_disagree() -> None:
    rows = (_row("Xeon Gold 6248", 150, 20), _row("Xeon Gold 6248R", 205, 24))
    assert match("Intel", "Xeon Gold 6248", rows).level == EXACT  # type: ignore[union-attr]
    # 6248X would stem to 6248, whose family spans 150-205 W: no row is safe.
    assert match("Intel", "Xeon Gold 6248X", rows) is None


def test_suffix_match_prefers_the_row_with_thread_count() -> None:
    rows = (_row("EPYC 9654", 360, 96, vendor="AMD"), _row("EPYC 9654P", 360, 96, 192, vendor="AMD"))
    found = match("AMD", "EPYC 9654X", rows)
    assert found is not None and found.level == SUFFIX and found.row.threads == 192


@pytest.mark.parametrize(
    ("vendor", "model"),
    [("AMD", "EPYC"), ("Intel", "Xeon"), ("", "Common KVM"), ("AMD", ""), ("AMD", "EPYC 9999")],
)
def test_masked_or_unknown_models_match_nothing(vendor: str, model: str) -> None:
    assert match(vendor, model) is None


def test_every_bundled_row_is_found_by_its_own_name() -> None:
    rows = load_table()
    assert len(rows) > 5000
    keys = {match_key(r.vendor, r.model) for r in rows}
    assert len(keys) == len(rows), "two rows share a match key"
    lost = []
    for row in rows:
        vendor, model = normalise(f"{row.vendor} {row.model}")
        found = match(vendor, model)
        if found is None or found.row != row or found.level != EXACT:
            lost.append(row.model)
    assert not lost, lost[:10]
    assert all(r.tdp_w > 0 for r in rows)


def test_parse_table_reads_empty_counts_as_none() -> None:
    text = "vendor,model,tdp_watts,cores,threads,source\nAMD,EPYC 7R13,225,,,codecarbon-cpu-power\n"
    assert parse_table(text) == [CpuRow("AMD", "EPYC 7R13", 225.0, None, None, "codecarbon-cpu-power")]


@pytest.mark.parametrize(
    ("vendor", "model", "watts"),
    [
        ("AMD", "EPYC", 3.4),
        ("Intel", "Xeon", 3.9),
        ("AMD", "Ryzen 5", 3.5),
        ("Intel", "Core i7", 3.9),
        ("ARM", "", 3.0),
        ("Apple", "M9", 3.0),
        ("Hygon", "", 3.75),
        ("", "", 3.75),
    ],
)
def test_median_w_per_thread(vendor: str, model: str, watts: float) -> None:
    assert median_w_per_thread(vendor, model)[0] == watts


@pytest.mark.parametrize(
    ("model", "smt"),
    [
        ("Xeon Gold 6248", 2),
        ("Xeon Bronze 3204", 1),
        ("Xeon 6780E", 1),
        ("Xeon 6521P", 2),
        ("Xeon Phi 7250", 4),
        ("EPYC 7R13", 2),
        ("Ryzen Threadripper 3990X", 2),
        ("Core i5-9400", 1),
    ],
)
def test_smt_assumption_by_family(model: str, smt: int) -> None:
    assert smt_threads_per_core(model) == smt


def test_import_wattprint_does_not_load_the_table() -> None:
    code = (
        "import sys, wattprint\n"
        "mod = sys.modules.get('wattprint.core.sensors.cpu_table')\n"
        "print(mod is not None and mod._bundled_records.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in ("False", "0")


def test_table_is_read_once() -> None:
    match("AMD", "EPYC 7763")
    match("Intel", "Xeon Gold 6248")
    assert cpu_table._bundled_records.cache_info().misses == 1
