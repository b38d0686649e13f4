from hypothesis import given
from hypothesis import strategies as st

from wattprint.core import units
from wattprint.core.sensors.base import Unwrapper

finite = st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False)


def test_exact_constants():
    assert units.J_PER_KWH == 3_600_000 and units.G_PER_KG == 1_000
    assert units.uj_to_j(1_000_000) == 1.0
    assert units.mj_to_j(1_000) == 1.0
    assert units.mw_to_w(1_500) == 1.5


@given(finite)
def test_microjoules_scale_exactly(x):
    assert units.uj_to_j(x) == x / 1e6


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=50), st.integers(0, 65_535))
def test_unwrapper_recovers_true_total_when_read_once_per_wrap(increments, first):
    max_range = 65_536
    unwrap = Unwrapper(first, max_range)
    raw, total = first, 0
    for inc in increments:  # each increment < max_range: at most one wrap between reads
        raw = (raw + inc) % max_range
        total += inc
        assert unwrap.update(raw) == total


def test_unwrapper_without_range_treats_a_decrease_as_a_reset():
    unwrap = Unwrapper(1000, None)
    assert unwrap.update(1500) == 500
    assert unwrap.update(200) == 700  # driver reset: counting restarts at zero
    assert unwrap.wraps == 1
