"""Textual's Footer without its leak.

The Footer composes its keys again at every focus change (a new set of ``FooterKey``
widgets), and binds each new key to its ``compact`` reactive (``data_bind``). The
watchers of the removed keys stay in the Footer's list until ``compact`` changes, which
it never does here, so every key ever drawn was kept with its styles: ~23 widgets an area
switch, 212 more after each tour of the nine areas (Textual 8.2.8; measured by counting
live ``FooterKey`` objects). After each recompose this drops the watchers of keys that
are gone.
"""

from __future__ import annotations

from textual.widgets import Footer


class IwtuiFooter(Footer):
    async def recompose(self) -> None:
        await super().recompose()
        watchers = getattr(self, "__watchers", None)
        if not watchers:
            return
        for bound in watchers.values():
            bound[:] = [(node, cb) for node, cb in bound
                        if getattr(node, "is_attached", True) and not node._closing]  # fmt: skip
