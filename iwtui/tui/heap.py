"""The collector's long pauses after a large listing.

Python's full (generation 2) collection walks every tracked object. With 50,000 account
rows on screen (about a million objects with Textual's own) one such pass took 160 ms,
and it came at a random key: the Account Statistics re-sort measured 43-60 ms, except
the sorts a full collection landed in (190-206 ms). ``settle`` is called once a large
listing is on screen: one full collection then, and what is alive is frozen
(``gc.freeze``), so later collections skip it. The next ``settle`` unfreezes first, so a
frozen object that became garbage since (a replaced listing's rows in a cycle, a closed
screen) is collected then; rows are freed by their reference counts meanwhile.
"""

from __future__ import annotations

import gc

BIG = 10_000  # rows: a smaller listing's pause is not felt


def settle() -> None:
    gc.unfreeze()
    gc.collect()
    gc.freeze()
