"""Textual's styles cache without its leak (Textual issue #6665, open; Textual 8.2.8).

``StylesCache.get_inner_outer`` is a method under ``functools.lru_cache(1024)``, so the
cache's keys hold the ``StylesCache`` of every widget that drew a line, and each of those
holds the widget's rendered lines: up to 1,024 removed widgets stay in memory with their
strips. The console creates widgets as it runs (the footer's keys at every focus change,
rows and dialogs), so its memory grew for as long as it ran (a console switching areas
every 3 s: 1,024 dead ``StylesCache`` objects after five minutes, most of the ~7 MB it
grew). The function uses neither ``self`` nor ``cls``: here it is cached on the colours
alone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    return (Style(background=base_background + background), Style(background=base_background))


def _get_inner_outer(self: Any, base_background: Color, background: Color) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


def apply() -> None:
    """Replace the method (once; what the old cache holds is dropped)."""
    current = StylesCache.__dict__.get("get_inner_outer")
    if current is _get_inner_outer:
        return
    clear = getattr(current, "cache_clear", None)
    if clear is not None:
        clear()
    StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign,assignment]
