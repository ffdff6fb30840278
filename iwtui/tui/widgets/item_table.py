"""A virtual table for lists of 100,000 rows: only the visible rows are drawn.

Rows are any objects with a stable ``key``; columns say how to show and sort them. The
cursor sticks to its row's key when the rows change under it; marked keys survive too.
Rows that appeared in the last few seconds are highlighted; rows on screen that vanished
stay in place, struck through, for a few seconds (never selectable). All cell text is made inert
(``safe_text``) and drawn as ``Text`` pieces, never markup.
"""

from __future__ import annotations

import contextlib
import heapq
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from iwtui.icewarp.logs.lines import safe_text
from iwtui.tui.bindings import bindings

R = TypeVar("R")
NEW_S = 4.0  # how long a new row stays highlighted
GONE_S = 3.0  # how long a vanished row stays on screen, struck through


@dataclass(frozen=True)
class Column(Generic[R]):
    title: str
    width: int  # 0: takes the rest
    text: Callable[[R], str]
    sort: Callable[[R], Any]
    justify: str = "left"
    style: Callable[[R], str] | None = None
    least: int | None = None  # narrowest it may get on a small terminal (default 4)
    # a shorter form for when the text does not fit (a size as 1.2K): a number is never cut
    narrow: Callable[[R], str] | None = None
    # its key puts the largest value first (a negated size): the header's arrow says so
    descending: bool = False


class ItemTable(ScrollView, Generic[R], can_focus=True):
    BINDINGS = bindings("table")
    DEFAULT_CSS = "ItemTable { height: 1fr; scrollbar-size-horizontal: 0; }"

    cursor: reactive[int] = reactive(0, repaint=False)

    class CursorMoved(Message):
        def __init__(self, table: ItemTable[Any]) -> None:
            super().__init__()
            self.table = table

    class Chosen(Message):
        def __init__(self, table: ItemTable[Any]) -> None:
            super().__init__()
            self.table = table

    def __init__(
        self,
        columns: Sequence[Column[R]],
        key: Callable[[R], object],
        *,
        id: str | None = None,
        own_order: bool = False,
    ) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self.key = key
        self.rows: list[R] = []
        self.marked: set[object] = set()
        self.sort_column = 0
        self.sort_reverse = False
        # the rows keep the order they came in (a report's ORDER BY): no column is marked
        # as sorted until `o` picks one
        self.own_order = own_order
        self._known: set[object] = set()  # keys of the rows in the data
        self._new: dict[object, float] = {}  # keys that appeared lately -> when
        self._gone: dict[object, float] = {}  # key of a vanished row on screen -> when
        # the row under the cursor was replaced by a change of the data (not by a key the
        # user pressed): the next action must not silently act on it
        self.moved_under_cursor = False
        self._anchor: int | None = None
        # what the last repaint drew (the rows in view, their cells and states): new data
        # that leaves the view as it is draws nothing (a busy queue changes every second,
        # mostly off screen)
        self._drawn_view: tuple[object, ...] | None = None
        # width, base style, widths, which columns take their short form
        self._paint: tuple[int, Style, list[int], list[bool]] | None = None
        self._fade_due = False  # a timer will end the highlight of new rows

    # --- data ----------------------------------------------------------------------------

    def sorter(self) -> tuple[Callable[[R], Any], bool]:
        """The current sort as (key function, reverse), for sorting off the UI thread."""
        col = self.columns[self.sort_column]
        return col.sort, self.sort_reverse

    def set_rows(
        self,
        rows: Sequence[R],
        *,
        initial: bool = False,
        presorted: bool = False,
        vanished: Collection[object] = (),
    ) -> None:
        """New rows (already filtered); sorted here unless ``presorted`` (with
        :meth:`sorter`, in a worker); the cursor follows its row. Rows on screen whose
        key is in ``vanished`` (gone from the data, not merely filtered out) fade."""
        current = self.current_key()
        now = time.monotonic()
        # 100,000 rows: every step below is a C-level loop (map, set algebra, index), so
        # the UI thread spends milliseconds here, not a tenth of a second
        keys = set(map(self.key, rows))
        if initial:
            self._new = {}
        else:
            self._new = {k: t for k, t in self._new.items() if now - t < NEW_S and k in keys}
            self._new.update(dict.fromkeys(keys - self._known, now))
        self._known = keys
        self.marked &= keys
        ghosts = [] if initial else self._ghosts(keys, vanished, now)
        if presorted or self.own_order:
            self.rows = list(rows)
        else:
            key, reverse = self.sorter()
            self.rows = sort_rows(rows, key, reverse)
        for i, row in ghosts:  # where they were, in order: the rows around them stay put
            self.rows.insert(min(i, len(self.rows)), row)
        if ghosts:
            self.set_timer(GONE_S + 0.05, self._drop_ghosts)
        size = Size(self.size.width, len(self.rows) + 1)
        if size != self.virtual_size:  # the scrollbar is drawn again only for a new length
            self.set_reactive(ItemTable.virtual_size, size)
            self._scroll_update(self.virtual_size)
        if current is not None:
            with contextlib.suppress(ValueError):
                self.cursor = list(map(self.key, self.rows)).index(current)
        self.cursor = max(0, min(self.cursor, len(self.rows) - 1))
        self._data_moved(current)
        self._keep_visible()
        if self._view(now) != self._drawn_view:
            self.refresh()
        if self._new and not self._fade_due:
            self._fade_due = True
            self.set_timer(NEW_S + 0.05, self._new_faded)
        self.post_message(self.CursorMoved(self))

    def _new_faded(self) -> None:
        """The highlight of new rows ends: drawn again when one is in view; once more for
        rows that came later."""
        now = time.monotonic()
        self._fade_due = False
        if self._view(now) != self._drawn_view:
            self.refresh()
        left = [t for t in self._new.values() if now - t < NEW_S]
        if left:
            self._fade_due = True
            self.set_timer(NEW_S - (now - min(left)) + 0.05, self._new_faded)

    def _view(self, now: float) -> tuple[object, ...]:
        """What a repaint would draw now: the width, the scroll, the cursor, and each row
        in view with its cells, mark, and new or fading state."""
        h = max(1, self.size.height)
        top = int(self.scroll_offset.y)
        cells = tuple(
            (self.key(r), tuple(c.text(r) for c in self.columns), self.key(r) in self.marked,
             now - self._new.get(self.key(r), 0.0) < NEW_S, self.key(r) in self._gone)
            for r in self.rows[top : top + h]
        )  # fmt: skip
        sort = (self.sort_column, self.sort_reverse, self.own_order)
        return (self.size.width, top, self.cursor, sort, cells)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._drawn_view = self._view(time.monotonic())
        width = self.scrollable_content_region.width
        widths = self._widths(width)
        self._paint = (width, self.rich_style, widths, self._short(widths))  # once per repaint
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def _data_moved(self, before: object | None) -> None:
        if before is not None and self.current_key() != before:
            self.moved_under_cursor = True

    def _ghosts(
        self, keys: set[object], vanished: Collection[object], now: float
    ) -> list[tuple[int, R]]:
        """The rows on screen (and a screenful around) that vanished or are fading: they
        stay a while. Rows far off screen just go."""
        h = max(1, self.size.height)
        lo = max(0, int(self.scroll_offset.y) - h)
        out: list[tuple[int, R]] = []
        gone: dict[object, float] = {}
        for i, row in enumerate(self.rows[lo : lo + 3 * h], start=lo):
            k = self.key(row)
            if k in keys or (k not in vanished and k not in self._gone):
                continue
            since = self._gone.get(k, now)
            if now - since < GONE_S:
                gone[k] = since
                out.append((i, row))
        self._gone = gone
        return out

    def _drop_ghosts(self) -> None:
        now = time.monotonic()
        if not any(now - t >= GONE_S for t in self._gone.values()):
            return
        current = self.current_key()
        self._gone = {k: t for k, t in self._gone.items() if now - t < GONE_S}
        live, fading = self._known, self._gone
        expired = [
            i for i, k in enumerate(map(self.key, self.rows)) if k not in live and k not in fading
        ]
        for i in reversed(expired):
            del self.rows[i]
            if i < self.cursor or (i == self.cursor and self.cursor == len(self.rows)):
                self.cursor = max(0, self.cursor - 1)
        self.set_reactive(ItemTable.virtual_size, Size(self.size.width, len(self.rows) + 1))
        self._scroll_update(self.virtual_size)
        if current is not None and current != self.current_key():
            self._data_moved(current)
            self.post_message(self.CursorMoved(self))
        self.refresh()

    @property
    def live_count(self) -> int:
        """Rows shown that are still in the data (fading rows left out)."""
        return len(self.rows) - len(self._gone)

    def is_gone(self, row: R) -> bool:
        return self.key(row) in self._gone

    def current(self) -> R | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def current_key(self) -> object | None:
        row = self.current()
        return None if row is None else self.key(row)

    def fresh_selection(self) -> list[R] | None:
        """:meth:`selection` for an action key, or None (once) when nothing is marked and
        the row under the cursor was replaced by a change of the data since the user last
        moved: the user has not looked at that row, so the key must be pressed again."""
        if self.moved_under_cursor and not self.marked:
            self.moved_under_cursor = False
            return None
        return self.selection()

    def selection(self) -> list[R]:
        """The marked rows, or the row under the cursor when nothing is marked."""
        if self.marked:
            return [r for r in self.rows if self.key(r) in self.marked]
        row = self.current()
        return [] if row is None or self.is_gone(row) else [row]

    # --- keys ----------------------------------------------------------------------------

    def _keep_visible(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)  # row 0 is the header
        if self.cursor < self.scroll_y:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= self.scroll_y + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def move_to(self, i: int) -> None:
        self.moved_under_cursor = False  # the user moved: what is under the cursor is seen
        if not self.rows:
            return
        self.cursor = max(0, min(len(self.rows) - 1, i))
        self._keep_visible()
        self.refresh()
        self.post_message(self.CursorMoved(self))

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 2))

    def action_top(self) -> None:
        self.move_to(0)

    def action_bottom(self) -> None:
        self.move_to(len(self.rows) - 1)

    def action_mark(self) -> None:
        k = self.current_key()
        if k is None or k in self._gone:  # a fading row is gone: nothing to act on
            return
        self.marked.symmetric_difference_update({k})
        self._anchor = self.cursor
        self.move_to(self.cursor + 1)

    def action_mark_range(self) -> None:
        """Mark from the last marked row to the cursor."""
        if self._anchor is None or not self.rows:
            self.action_mark()
            return
        lo, hi = sorted((self._anchor, self.cursor))
        self.marked.update(self.key(r) for r in self.rows[lo : hi + 1])
        self.marked -= self._gone.keys()
        self.refresh()
        self.post_message(self.CursorMoved(self))

    def action_mark_all(self) -> None:
        """Mark every row shown; again: clear the marks. Fading rows are gone: never
        marked, and they do not keep `a` from clearing."""
        keys = {self.key(r) for r in self.rows} - self._gone.keys()
        self.marked = set() if keys and keys <= self.marked else keys
        self.refresh()
        self.post_message(self.CursorMoved(self))

    def action_sort_next(self) -> None:
        if self.own_order:  # the first press sorts by the first column
            self.own_order = False
        else:
            self.sort_column = (self.sort_column + 1) % len(self.columns)
        self.set_rows(self.rows)

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        if self.own_order:
            self.rows.reverse()
        self.set_rows(self.rows)

    def action_choose(self) -> None:
        if self.current() is not None:
            self.post_message(self.Chosen(self))

    # --- drawing -------------------------------------------------------------------------

    def _widths(self, total: int) -> list[int]:
        # the flexible column (a subject) keeps a useful share of a narrow terminal
        flex_min = max(8, min(30, total // 4))
        least = [c.least if c.least is not None else min(c.width, 4) for c in self.columns]
        return column_widths([c.width for c in self.columns], total, flex_min, least)

    def _short(self, widths: list[int]) -> list[bool]:
        """Per column: does it show its short form? When one value on screen does not fit,
        every value of that column on screen takes the short form (1,274 beside 110K read
        as two scales)."""
        top = int(self.scroll_offset.y)
        shown = self.rows[top : top + max(1, self.size.height)]
        return [c.narrow is not None and any(len(c.text(r)) > w for r in shown)
                for c, w in zip(self.columns, widths, strict=True)]  # fmt: skip

    def render_line(self, y: int) -> Strip:
        if self._paint is not None:
            width, base, widths, short = self._paint
        else:
            width = self.scrollable_content_region.width
            base, widths = self.rich_style, self._widths(width)
            short = self._short(widths)
        if y == 0:
            text = Text("  ")
            for i, (c, w) in enumerate(zip(self.columns, widths, strict=True)):
                falls = c.descending != self.sort_reverse  # the order of the values shown
                sorted_by = i == self.sort_column and not self.own_order
                mark = ("▼" if falls else "▲") if sorted_by else ""
                text.append(
                    (c.title + mark)[:w].ljust(w) + " ",
                    style="bold underline" if sorted_by else "bold",
                )
            return self._strip(text, width, base)
        i = self.scroll_offset.y + y - 1
        if i >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[i]
        k = self.key(row)
        text = Text()
        marked = k in self.marked and k not in self._gone
        text.append("● " if marked else "  ", style="bold yellow")
        for c, w, sh in zip(self.columns, widths, short, strict=True):
            cell = safe_text(c.narrow(row) if sh and c.narrow is not None else c.text(row))
            if len(cell) > w:
                cell = cell[: w - 1] + "…" if c.justify != "right" else "#" * w
            cell = cell.rjust(w) if c.justify == "right" else cell.ljust(w)
            text.append(cell + " ", style=c.style(row) if c.style else "")
        if k in self._gone:
            text.stylize(Style(dim=True, strike=True))
        elif time.monotonic() - self._new.get(k, 0.0) < NEW_S:
            text.stylize(Style(bgcolor="dark_green"))
        if marked:
            text.stylize(Style(bgcolor="grey30"))
        if i == self.cursor:
            text.stylize(Style(bgcolor="blue" if self.has_focus else "grey23", bold=True))
        return self._strip(text, width, base)

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        text.no_wrap = True
        text.end = ""
        segments = Segment.apply_style(text.render(self.app.console), style=base)
        return Strip(list(segments)).crop_extend(0, width, base)


def column_widths(
    wanted: list[int], total: int, flex_min: int = 8, least: int | Sequence[int] = 4
) -> list[int]:
    """Widths for columns that want ``wanted`` cells (0: the rest) in ``total`` cells,
    with a mark column of 2 and a space after each. When the fixed columns do not fit
    (a narrow terminal), they shrink in proportion, to ``least`` at the very least, so
    every column stays on screen."""
    flex = [i for i, w in enumerate(wanted) if not w]
    fixed = sum(wanted)
    rest = total - 2 - fixed - (len(wanted) - len(flex))  # after the fixed columns
    if rest >= (flex_min + 1) * len(flex):
        share = rest // len(flex) if flex else 0
        return [w or share for w in wanted]
    budget = max(0, total - 2 - len(wanted) - flex_min * len(flex))
    lows = [least] * len(wanted) if isinstance(least, int) else list(least)
    floors = [min(w, lo) for w, lo in zip(wanted, lows, strict=True)]
    extra = max(0, budget - sum(floors))  # shared in proportion to what each gives up
    give = sum(w - f for w, f in zip(wanted, floors, strict=True)) or 1
    return [f + (w - f) * extra // give if w else flex_min
            for w, f in zip(wanted, floors, strict=True)]  # fmt: skip


SORT_CHUNK = 8192
T = TypeVar("T")


def stable_sort(items: Sequence[T], key: Callable[[T], Any], reverse: bool = False) -> list[T]:
    """``sorted(items, key=key, reverse=reverse)`` in pieces: a C-level sort holds the GIL
    from start to end (~80 ms for 100,000 rows, the UI thread waiting all along); sorted
    in chunks of 8,192 and merged by ``heapq.merge`` (Python, stable), a worker's sort
    lets the UI thread run every few milliseconds. On the UI thread itself nothing else
    would run meanwhile: one C-level sort, several times faster than the merge."""
    if len(items) <= SORT_CHUNK or threading.current_thread() is threading.main_thread():
        return sorted(items, key=key, reverse=reverse)
    chunks = [sorted(items[i : i + SORT_CHUNK], key=key, reverse=reverse)
              for i in range(0, len(items), SORT_CHUNK)]  # fmt: skip
    return list(heapq.merge(*chunks, key=key, reverse=reverse))


def sort_rows(rows: Sequence[R], key: Callable[[R], Any], reverse: bool = False) -> list[R]:
    """``rows`` sorted by ``key`` (text without case), stable, None last (first when
    reversed). The values are sorted as plain scalars, not tuples: CPython's sort then
    compares floats and strings on its fast paths, and the sort (which holds the GIL
    throughout) of 100,000 rows ends in tens of milliseconds, not hundreds, so the UI
    thread is not kept waiting while a worker sorts."""
    vals = [key(r) for r in rows]
    if all(type(v) is str for v in vals if v is not None):
        vals = [v.casefold() if v is not None else None for v in vals]
    present = [i for i, v in enumerate(vals) if v is not None]
    missing = [i for i, v in enumerate(vals) if v is None]
    try:
        present = stable_sort(present, vals.__getitem__, reverse)
    except TypeError:  # mixed types in one column
        present = stable_sort(present, lambda i: _sortable(vals[i]), reverse)
    order = missing + present if reverse else present + missing
    return [rows[i] for i in order]


def _sortable(value: Any) -> tuple[int, Any]:
    """A total order over mixed types: numbers, then text (without case), then the rest
    by their text. (sort_rows puts None apart before it gets here.)"""
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value.casefold())
    return (2, str(value))
