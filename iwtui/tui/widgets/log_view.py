"""A virtual log view: only the visible lines are read, parsed and drawn.

Lines come from a :class:`~iwtui.icewarp.logs.view.DaySource` or ``FilterSource``. Every
line is made inert (``safe_text``) and drawn as a ``rich.text.Text`` with styles: log
text is never markup. The view follows the end while ``following`` is on; moving the
cursor up turns it off and counts new lines instead; ``End``/``G`` turns it back on.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import ceil
from typing import TYPE_CHECKING, Protocol, Self, cast

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from iwtui.icewarp.logs.lines import LogLine, parse_line, safe_text
from iwtui.tui.bindings import bindings

if TYPE_CHECKING:
    from rich.console import Console

MAX_DRAW = 2000  # characters of one line drawn in the list (the detail panel shows more)
WIDTH = 400  # horizontal room; long lines scroll with left/right
DRAWN_PER_ROW = 4  # lines kept drawn, per row of the view
PAINTED_PER_ROW = 2  # rows kept as Textual painted them, per row of the view


class Source(Protocol):
    @property
    def total(self) -> int: ...
    @property
    def prepended(self) -> int: ...
    def line(self, i: int) -> str: ...
    def day_of(self, i: int):  # type: ignore[no-untyped-def]
        ...


CURSOR = Style(bgcolor="grey23", bold=True)
CURSOR_FOCUSED = Style(bgcolor="blue", bold=True)
FOUND = Style(reverse=True)


def draw_segments(plain: str, style: Style, base: Style, highlight: str | None,
                  cursor: Style | None, console: Console) -> list[Segment]:  # fmt: skip
    """A log line's segments: ``plain`` (already made inert) in its ``style`` over the
    widget's ``base``, the found words reversed, the cursor's colours on top. A line with
    nothing found is one segment (Rich's Text would give the same, 20 times slower)."""
    if not highlight:
        if cursor is not None:
            style = style + cursor
        return [Segment(plain, base + style)] if plain else []
    text = Text(plain, no_wrap=True, end="")
    text.stylize(style)  # a span: Text.render ignores a Text's own style
    text.highlight_words([highlight], style=FOUND, case_sensitive=False)
    if cursor is not None:
        text.stylize(cursor)
    return list(Segment.apply_style(text.render(console), style=base))


def line_style(ln: LogLine) -> Style:
    k, f = ln.kind, ln.fields
    if k == "raw":
        return Style(dim=True, italic=True)
    if k in ("reply", "greylist"):
        code = int(f.get("code") or 0)
        if code >= 500:
            return Style(color="red", bold=True)
        if code >= 400:
            return Style(color="yellow")
        return Style(color="green", dim=code < 300 and ln.direction == ">>>" and not ln.client)
    if k == "summary":
        return (
            Style(color="green", bold=True)
            if f.get("result") == "OK"
            else Style(color="red", bold=True)
        )
    if k in ("connect", "disconnect"):
        return Style(dim=True)
    if k == "login":
        return Style(color="green")
    if k in ("login_failed", "failure"):
        return Style(color="red")
    if k == "tarpit":
        return Style(color="magenta", bold=True)
    if k == "antispam":
        return (
            Style(color="red")
            if str(f.get("action", "")).upper() not in ("PASS", "OK")
            else Style()
        )
    if (ln.direction == "<<<" and not ln.client) or (ln.direction == ">>>" and ln.client):
        return Style(color="cyan")
    return Style()


class LogView(ScrollView, can_focus=True):
    BINDINGS = bindings("logview")
    DEFAULT_CSS = "LogView { height: 1fr; scrollbar-size-horizontal: 0; }"

    cursor: reactive[int] = reactive(0)
    following: reactive[bool] = reactive(True)
    new_lines: reactive[int] = reactive(0)

    class CursorMoved(Message):
        def __init__(self, view: LogView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source: Source | None = None
        self._seen_prepended = 0
        self._total = 0
        self.highlight: str = ""
        # Drawn lines by what makes them look the way they do: following a log scrolls
        # every line up one row per append, and each is drawn once, not once per repaint.
        # Sized by the view's height (_fit_caches): a line that scrolled off is seldom
        # drawn again, and 1,024 of them held 3 MB in an hour's demo.
        self._drawn: LRUCache[tuple[object, ...], Strip] = LRUCache(DRAWN_PER_ROW * 48)
        # The widget's own style (its colours under its ancestors'): Textual works it out
        # walking every ancestor, on each call; a repaint asks once per line. Kept until
        # the styles change or the next refresh, as Textual keeps its own style cache.
        self._base: Style | None = None
        self._bar_drawn: tuple[int, ...] = ()  # the scrollbar's thumb as last drawn
        # Rows as Textual painted them (render_lines), by what they show, while what
        # Textual adds around a row stays the same (_painted_context).
        self._painted: LRUCache[tuple[object, ...], Strip] = LRUCache(PAINTED_PER_ROW * 48)
        self._painted_context_was: tuple[object, ...] | None = None
        self._keys_now: dict[int, tuple[object, ...]] = {}

    def notify_style_update(self) -> None:
        self._base = None
        super().notify_style_update()

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        self._base = None
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    # --- the source --------------------------------------------------------------------

    def set_source(self, source: Source | None, *, follow: bool = True) -> None:
        self.source = source
        self._drawn.clear()
        self._painted.clear()
        self._bar_drawn = ()  # Textual redraws the scrollbar for the new size itself
        self._seen_prepended = source.prepended if source else 0
        self._total = source.total if source else 0
        self.following = follow
        self.new_lines = 0
        self.virtual_size = Size(WIDTH, self._total)
        self.cursor = max(0, self._total - 1) if follow else 0
        self.call_after_refresh(self._show_cursor)
        self.refresh()
        self.post_message(self.CursorMoved(self))

    def _show_cursor(self) -> None:
        """Scroll so the cursor is visible (at the bottom when following)."""
        height = max(1, self.scrollable_content_region.height)
        if self.following:
            self.scroll_to(y=max(0, self._total - height), animate=False, immediate=True)
        elif not self.scroll_y <= self.cursor < self.scroll_y + height:
            self.scroll_to(y=max(0, self.cursor - height // 2), animate=False, immediate=True)

    def on_resize(self) -> None:
        self._bar_drawn = ()
        self._fit_caches()
        self._show_cursor()

    def _fit_caches(self) -> None:
        """Bound the line caches by the rows on screen (a few screens of scroll back)."""
        rows = max(1, self.size.height)
        for cache, per_row in ((self._drawn, DRAWN_PER_ROW), (self._painted, PAINTED_PER_ROW)):
            if cache.maxsize != per_row * rows:
                cache.clear()  # (an LRUCache evicts one a set: shrink it at once)
                cache.maxsize = per_row * rows

    def on_hide(self) -> None:
        """Hidden (another area or tab on screen): what is drawn is drawn again when shown."""
        self._drawn.clear()
        self._painted.clear()

    def sync(self, appended: int = 0) -> None:
        """The source grew (lines appended and/or prepended by the background index)."""
        src = self.source
        if src is None:
            return
        shift = src.prepended - self._seen_prepended
        self._seen_prepended = src.prepended
        if shift:
            self._drawn.clear()  # the numbers of the lines moved
            self._painted.clear()
        total = src.total
        self._total = total
        self._grow_to(total)
        if self.following:
            self.cursor = max(0, total - 1)
            self.scroll_to(
                y=max(0, total - self.scrollable_content_region.height),
                animate=False,
                immediate=True,
            )
            self.post_message(self.CursorMoved(self))
        else:
            if shift:
                self.cursor += shift
                self.scroll_to(y=self.scroll_y + shift, animate=False, immediate=True)
            self.new_lines += appended
        if self.show_vertical_scrollbar:
            self._repaint_bar()  # once the size and the position are both new
        self.refresh()

    def _grow_to(self, total: int) -> None:
        """New virtual height without a layout pass: assigning ``virtual_size`` asks the
        whole screen to reflow, which at 10 updates a second costs a core. Only this
        widget's lines change, and its scrollbar when the thumb moves by a glyph."""
        size = Size(WIDTH, total)
        if size == self.virtual_size:
            return
        self.set_reactive(LogView.virtual_size, size)
        self._refresh_scrollbars()
        if self.show_vertical_scrollbar and self.styles.scrollbar_size_vertical:
            bar = self.vertical_scrollbar
            bar.set_reactive(ScrollBar.window_virtual_size, total)
            bar.set_reactive(
                ScrollBar.window_size, self.container_size.height - self.scrollbar_size_horizontal
            )
        self.scroll_y = self.validate_scroll_y(self.scroll_y)
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """As ScrollView's, but the scrollbar is repainted only when its thumb moves:
        following a long log scrolls one line per append, which moves the thumb of a
        15,000-line log by a glyph only every few hundred lines."""
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.set_reactive(ScrollBar.position, new_value)
            self._repaint_bar()
        if round(old_value) != round(new_value):
            self.refresh(self.size.region)

    def _repaint_bar(self) -> None:
        bar = self.vertical_scrollbar
        size, virtual = bar.size.height, ceil(bar.window_virtual_size)
        window = ceil(bar.window_size) if bar.window_size < bar.window_virtual_size else 0
        key: tuple[int, ...] = (size, virtual and 1, window and 1)
        if window and size and virtual and size != virtual:  # as ScrollBarRender draws it
            thumb = max(1.0, window / (virtual / size))
            pos = (size - thumb) * (bar.position / (virtual - window))
            start = int(pos * 8)
            key = (size, start, start + ceil(thumb * 8))
        if key != self._bar_drawn:
            self._bar_drawn = key
            bar.refresh()

    # --- movement ------------------------------------------------------------------------

    def _set_cursor(self, i: int) -> None:
        total = self._total
        if total == 0:
            return
        i = max(0, min(total - 1, i))
        self.cursor = i
        height = self.scrollable_content_region.height
        if i < self.scroll_y:
            self.scroll_to(y=i, animate=False, immediate=True)
        elif i >= self.scroll_y + height:
            self.scroll_to(y=i - height + 1, animate=False, immediate=True)
        at_end = i >= total - 1
        if at_end and not self.following:
            self.following = True
            self.new_lines = 0
        elif not at_end and self.following:
            self.following = False
        self.refresh()
        self.post_message(self.CursorMoved(self))

    def goto(self, i: int) -> None:
        self._set_cursor(i)

    def action_move(self, delta: int) -> None:
        self._set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._set_cursor(
            self.cursor + direction * max(1, self.scrollable_content_region.height - 1)
        )

    def action_top(self) -> None:
        self._set_cursor(0)

    def action_follow(self) -> None:
        self._set_cursor(self._total - 1)
        self.following = True
        self.new_lines = 0

    def on_mouse_scroll_up(self) -> None:
        if self.following and self._total:
            self.following = False

    def current_text(self) -> str | None:
        if self.source is None or not self._total:
            return None
        try:
            return self.source.line(self.cursor)
        except (IndexError, OSError):
            return None

    # --- drawing -------------------------------------------------------------------------

    def _line_key(self, y: int) -> tuple[object, ...]:
        """What row ``y`` shows, as what makes it look the way it does."""
        return self._line_keys((y,))[0]

    def _line_keys(self, rows: Iterable[int]) -> list[tuple[object, ...]]:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self._base
        if base is None:
            base = self._base = self.rich_style
        total = self._total if self.source is not None else 0
        cur, focused, highlight = self.cursor, self.has_focus, self.highlight
        keys: list[tuple[object, ...]] = []
        for y in rows:
            i = scroll_y + y
            if i >= total:
                keys.append((-1, width, base))
            else:
                cursor = i == cur
                keys.append((i, width, scroll_x, cursor, cursor and focused, highlight, base))
        return keys

    def render_line(self, y: int) -> Strip:
        key = self._keys_now.get(y) or self._line_key(y)
        drawn = self._drawn.get(key)
        if drawn is not None:
            return drawn
        i, width, base = cast(int, key[0]), cast(int, key[1]), cast(Style, key[-1])
        src = self.source
        if i < 0 or src is None:
            return Strip.blank(width, base)
        scroll_x, at_cursor, focused = cast(tuple[int, bool, bool], key[2:5])
        try:
            raw = src.line(i)
            day = src.day_of(i)
        except (IndexError, OSError, ValueError):
            return Strip([Segment("(line not readable)", Style(dim=True))]).crop_extend(
                0, width, base
            )
        ln = parse_line(raw, day)
        cursor = (CURSOR_FOCUSED if focused else CURSOR) if at_cursor else None
        plain = safe_text(raw, MAX_DRAW)
        if not self.highlight and plain.isascii():  # made inert: a cell a character
            plain = plain[: scroll_x + width]  # what is never shown is never measured
        segments = draw_segments(plain, line_style(ln), base, self.highlight, cursor,
                                 self.app.console)  # fmt: skip
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
        self._drawn[key] = strip
        return strip

    def _painted_context(self) -> tuple[object, ...] | None:
        """What Textual adds to each line around :meth:`render_line` (its size, colours
        and line filters), when that is the same for every row: no border, padding, tint,
        opacity, hatch or link under the mouse. None: draw the Textual way."""
        styles = self.styles
        if (
            any(styles.gutter)
            or styles.tint.a
            or self.opacity != 1.0
            or styles.text_opacity != 1.0
            or (styles.has_rule("hatch") and styles.hatch != "none")
            or self._border_title is not None
            or self._border_subtitle is not None
            or self.hover_style._link_id
        ):
            return None
        return (self.region.size, self.background_colors, tuple(self.get_line_filters()),
                self.app.ansi_theme, self.app.native_ansi_color)  # fmt: skip

    def render_lines(self, crop: Region) -> list[Strip]:
        """As Textual's, but each row as painted (with Textual's styles and its colour
        filter) is kept by what it shows: following a log scrolls every row up by one,
        and Textual paints each of them again, its filter walking every segment; here only
        the rows new on screen are painted, the others are reused."""
        context = self._painted_context()
        if context is None:
            self._painted.clear()
            return super().render_lines(crop)
        if context != self._painted_context_was:
            self._painted.clear()
            self._painted_context_was = context
        width = self.region.width
        rows = list(crop.line_range)
        keys = self._line_keys(rows)
        out = [self._painted.get(k) for k in keys]
        n = 0
        while n < len(rows):  # the missing rows, a run at a time, the Textual way
            if out[n] is not None:
                n += 1
                continue
            end = n
            while end < len(rows) and out[end] is None:
                end += 1
            self._keys_now = {rows[j]: keys[j] for j in range(n, end)}  # for render_line
            try:
                strips = super().render_lines(Region(0, rows[n], width, end - n))
            finally:
                self._keys_now = {}
            for j, strip in enumerate(strips, n):
                out[j] = self._painted[keys[j]] = strip
            n = end
        painted = cast(list[Strip], out)
        if crop.column_span != (0, width):
            x1, x2 = crop.column_span
            painted = [strip.crop(x1, x2) for strip in painted]
        return painted
