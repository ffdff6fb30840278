"""sort_rows: the table's sort on plain scalar keys, against the tuple-key reference."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iwtui.tui.widgets.item_table import _sortable, sort_rows

VALUES = st.one_of(st.none(), st.text(max_size=3), st.floats(allow_nan=False), st.integers())


@given(st.lists(st.one_of(st.lists(st.one_of(st.none(), st.text(max_size=3))),
                          st.lists(st.one_of(st.none(), st.floats(allow_nan=False))),
                          st.lists(VALUES)), max_size=1), st.booleans())  # fmt: skip
def test_sort_rows_matches_the_reference(cols: list[list[Any]], reverse: bool) -> None:
    values = cols[0] if cols else []
    rows = list(enumerate(values))  # (position, value): equal values must keep their order
    present = sorted((r for r in rows if r[1] is not None), key=lambda r: _sortable(r[1]), reverse=reverse)  # fmt: skip
    missing = [r for r in rows if r[1] is None]
    reference = missing + present if reverse else present + missing
    assert sort_rows(rows, lambda r: r[1], reverse) == reference


@given(st.lists(st.tuples(st.integers(0, 4), st.integers())), st.booleans())
def test_stable_sort_in_chunks_is_sorted(items: list[tuple[int, int]], reverse: bool) -> None:
    import iwtui.tui.widgets.item_table as it

    saved = it.SORT_CHUNK
    it.SORT_CHUNK = 3  # many chunks, many ties across them
    try:
        got = it.stable_sort(items, lambda x: x[0], reverse)
    finally:
        it.SORT_CHUNK = saved
    assert got == sorted(items, key=lambda x: x[0], reverse=reverse)


@given(st.lists(st.integers(0, 40), min_size=1, max_size=8), st.integers(20, 300))
def test_columns_fit_a_narrow_terminal_and_keep_their_width_in_a_wide_one(
    wanted: list[int], total: int
) -> None:
    from iwtui.tui.widgets.item_table import column_widths

    widths = column_widths(wanted, total)
    assert len(widths) == len(wanted)
    assert all(w >= (min(x, 4) if x else 8) for w, x in zip(widths, wanted, strict=True))
    n_flex = sum(1 for w in wanted if not w)
    floor = 2 + len(wanted) + sum(min(x, 4) if x else 8 for x in wanted)  # the least it takes
    roomy = total - 2 - sum(wanted) - (len(wanted) - n_flex) >= 9 * n_flex
    if roomy:  # fixed columns keep their width
        assert all(w == x for w, x in zip(widths, wanted, strict=True) if x)
    elif total >= floor:  # narrow: everything still fits
        assert sum(widths) + 2 + len(widths) <= total
