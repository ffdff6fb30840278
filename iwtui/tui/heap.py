"""The collector's long pauses after a large listing.

Python's full (generation 2) collection walks every tracked object. With 50,000 account
rows on screen (about a million objects with Textual's own) one such pass took 160 ms,
and it came at a random key: the Account Statistics re-sort measured 43-60 ms, except
the sorts a full collection landed in (190-206 ms). ``settle`` is called once a large
listing is on screen: one full collection then, and what is alive is frozen
(``gc.freeze``), so later collections skip it. The next ``settle`` unfreezes first, so a
frozen object that became garbage since (a replaced listing's rows in a cycle, a closed
screen) is collected then; rows are freed by their reference counts meanwhile.

``trim`` hands the C heap's free pages back to the system (glibc's ``malloc_trim``). A
console that runs for hours frees what it allocated for a while (a hidden area catching
up on what was appended, a large listing replaced), but glibc keeps the freed pages of its
heap mapped: after five minutes of area switches, 2.6 of the 5.1 MB the console had grown
were such pages, given back by one ``malloc_trim(0)`` of 0.6 ms. The console trims once a
minute. Elsewhere (no glibc) it does nothing.

``release_drawn`` empties the drawn lines a hidden area keeps: Textual keeps every
widget's rendered lines (its styles cache) while the widget is hidden, so eight hidden
areas held about 5 of the 6.6 MB of such lines in the demo, each line's ``Strip`` with its
seven small caches (about 1 KB before its segments). They are drawn again when the area
is shown, as on its first showing (a few milliseconds).
"""

from __future__ import annotations

import gc
from typing import Any

BIG = 10_000  # rows: a smaller listing's pause is not felt


def settle() -> None:
    gc.unfreeze()
    gc.collect()
    gc.freeze()


_libc: Any = None


def release_drawn(root: Any) -> int:
    """Empty the rendered lines of ``root`` (a hidden widget) and of every widget under it;
    the number of lines released."""
    released = 0
    for widget in root.walk_children(with_self=True):
        cache = widget._styles_cache  # Textual 8.2's StylesCache (Textual is pinned)
        released += len(cache._cache)
        cache.clear()
    return released


def trim() -> bool:
    """Give the C heap's free pages back to the system; False where that is not glibc."""
    global _libc
    if _libc is None:
        import ctypes  # (here: the console's start-up does not pay for it)

        try:  # the process's own symbols (no library search: find_library runs ldconfig)
            lib = ctypes.CDLL(None)
            _libc = lib if hasattr(lib, "malloc_trim") else False
        except OSError:
            _libc = False
    if _libc is False:
        return False
    _libc.malloc_trim(0)
    return True
