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
