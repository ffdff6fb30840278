"""The virtual table: its sort on plain scalar keys (against the tuple-key reference),
marks and the cursor when rows vanish."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from iwtui.tui.widgets import item_table as item_table_mod
from iwtui.tui.widgets.item_table import Column, ItemTable, _sortable, sort_rows

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


# --- marks and the cursor when rows vanish (issue 14.3, 14.5) ---------------------------


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ItemTable([Column("Name", 0, str, str)], key=str)


async def test_fading_rows_are_never_marked_and_a_moved_cursor_asks_again(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(item_table_mod, "GONE_S", 0.3)
    app = _TableApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(ItemTable)
        table.set_rows(["a", "b", "c", "d"], initial=True)
        table.focus()
        await pilot.press("j")  # on b
        assert table.current() == "b"
        table.set_rows(["a", "c", "d"], vanished={"b"})  # b left the queue: it fades
        await pilot.pause()
        assert table.current() == "b" and table.is_gone("b")
        await pilot.press("a")  # mark all: the fading row is not marked
        assert table.marked == {"a", "c", "d"}
        await pilot.press("a")  # and `a` clears again although a fading row is on screen
        assert table.marked == set()
        await pilot.press("space")  # marking the fading row under the cursor does nothing
        assert table.marked == set()
        table.move_to(1)  # back on b (fading)
        table.moved_under_cursor = False
        await pilot.pause(0.5)  # b has faded out: the cursor now rests on another row
        assert "b" not in table.rows and table.current() in ("a", "c")
        assert table.fresh_selection() is None  # the user never looked at it: ask again
        assert table.fresh_selection() == [table.current()]  # the second press acts
        table.set_rows(["a", "c", "d", "e"])
        await pilot.press("j")
        assert table.fresh_selection() == [table.current()]  # moved by the user: acts


async def test_new_data_that_leaves_the_view_as_drawn_repaints_nothing(monkeypatch: Any) -> None:
    monkeypatch.setattr(item_table_mod, "NEW_S", 0.2)
    app = _TableApp()
    async with app.run_test(size=(40, 6)) as pilot:  # a header and five rows in view
        table = app.query_one(ItemTable)
        rows = [f"r{i:03d}" for i in range(50)]
        table.set_rows(rows, initial=True)
        await pilot.pause(0.1)
        repaints: list[int] = []
        real = table.refresh
        monkeypatch.setattr(table, "refresh", lambda *a, **kw: repaints.append(1) or real(*a, **kw))
        table.set_rows(list(rows), initial=True)  # the same rows
        table.set_rows([*rows, "r999"], initial=True)  # a row added far below the view
        assert repaints == []
        table.set_rows(["r000", "r001x", *rows[2:]], initial=True)  # a row in view changed
        assert repaints == [1]
        await pilot.pause(0.1)
        table.set_rows(["r000", "a-new", "r001x", *rows[2:]])  # new in view: highlighted
        assert len(repaints) == 2
        await pilot.pause(0.5)  # the highlight ended on its own: drawn once more
        assert len(repaints) == 3


def test_a_sort_on_the_ui_thread_and_in_a_worker_give_the_same_order() -> None:
    """The UI thread sorts in one C-level pass, a worker in merged chunks (so the UI
    thread runs meanwhile): the same stable order either way, ties and None included."""
    import itertools
    import random
    from concurrent.futures import ThreadPoolExecutor

    from iwtui.tui.widgets.item_table import SORT_CHUNK

    rnd = random.Random(7)
    rows = [(n, rnd.choice(["b", "A", "a", "c", None, "B"]), rnd.randrange(50) or None)
            for n in range(3 * SORT_CHUNK + 17)]  # fmt: skip

    def norm(v: Any) -> Any:
        return v.casefold() if isinstance(v, str) else v

    with ThreadPoolExecutor(1) as pool:
        for col in (1, 2):
            for reverse in (False, True):

                def key(r: tuple[Any, ...], c: int = col) -> Any:
                    return r[c]

                here = sort_rows(rows, key, reverse)
                there = pool.submit(sort_rows, rows, key, reverse).result()
                assert here == there
                vals = [norm(r[col]) for r in here if r[col] is not None]
                assert vals == sorted(vals, reverse=reverse)
                for a, b in itertools.pairwise(here):  # equal values keep the rows' order
                    if a[col] is not None and norm(a[col]) == norm(b[col]):
                        assert a[0] < b[0]


class _SizesApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ItemTable(
            [Column("Name", 0, lambda r: r[0], lambda r: r[0]),
             Column("Size", 6, lambda r: str(r[1]), lambda r: -r[1], "right", descending=True)],
            key=lambda r: r[0],
        )  # fmt: skip


async def test_the_arrow_shows_the_order_of_the_values_not_of_the_key() -> None:
    """Volume sorted its sizes largest first by a negated key, and the header said ▲."""
    app = _SizesApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(ItemTable)
        table.sort_column = 1
        table.set_rows([("a", 1), ("b", 30), ("c", 7)], initial=True)
        await pilot.pause()
        assert [r[0] for r in table.rows] == ["b", "c", "a"]
        assert "Size▼" in table.render_line(0).text
        table.action_sort_reverse()
        assert [r[0] for r in table.rows] == ["a", "c", "b"]
        assert "Size▲" in table.render_line(0).text
        table.action_sort_next()  # the name, still reversed: its key falls with it
        assert [r[0] for r in table.rows] == ["c", "b", "a"]
        assert "Name▼" in table.render_line(0).text


async def test_rows_in_their_own_order_mark_no_column_until_o() -> None:
    """A report's rows come in its ORDER BY: the header said the first column was sorted
    (▲) over rows that were not."""

    class OwnApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ItemTable([Column("Name", 0, str, str)], key=str, own_order=True)

    app = OwnApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(ItemTable)
        table.set_rows(["b", "c", "a"], initial=True)
        await pilot.pause()
        assert table.rows == ["b", "c", "a"] and "▲" not in table.render_line(0).text
        table.action_sort_reverse()  # the order it came in, upside down
        assert table.rows == ["a", "c", "b"] and "▼" not in table.render_line(0).text
        table.sort_reverse = False
        table.action_sort_next()  # now sorted by the first column
        assert table.rows == ["a", "b", "c"] and "Name▲" in table.render_line(0).text


async def test_a_column_on_screen_takes_one_form() -> None:
    """When one size on screen needs its short form, every size on screen takes it: 1,274
    beside 110K read as two scales. A screen whose sizes all fit keeps the full form."""

    class FormsApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ItemTable(
                [Column("Name", 0, lambda r: r[0], lambda r: r[0]),
                 Column("Size", 6, lambda r: f"{r[1]:,}", lambda r: r[1], "right",
                        least=6, narrow=lambda r: f"{r[1] / 1000:.1f}K")],
                key=lambda r: r[0],
            )  # fmt: skip

    app = FormsApp()
    async with app.run_test(size=(30, 6)) as pilot:
        table = app.query_one(ItemTable)
        table.set_rows([("a", 1274), ("b", 110_000), ("c", 20)], initial=True)
        await pilot.pause()
        assert table._widths(table.scrollable_content_region.width)[1] == 6
        lines = [table.render_line(y).text for y in (1, 2, 3)]
        assert [line.split()[-1] for line in lines] == ["1.3K", "110.0K", "0.0K"], lines
        table.set_rows([("a", 1274), ("c", 20)])
        await pilot.pause()
        assert [table.render_line(y).text.split()[-1] for y in (1, 2)] == ["1,274", "20"]
