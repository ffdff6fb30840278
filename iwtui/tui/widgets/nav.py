"""The navigation list of the Status areas, with vim motions from the keymap."""

from __future__ import annotations

from textual.widgets import OptionList

from iwtui.tui.bindings import bindings


class NavList(OptionList):
    BINDINGS = bindings("nav")
